package viz

import (
	"errors"
	"fmt"
	"html"
	"image"
	"image/color"
	"math"
	"path/filepath"
	"strings"

	"golab/lab"
	"golab/lab/internal/plural"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// probData is validated input of the probability figures.
type probData struct {
	probs   [][]float32
	truth   []int // nil when unknown
	classes []string
	pred    []int // argmax of each row
}

// checkProbs validates probabilities (one row per image, one column per
// class), true labels (nil or one per row) and class names (nil: numbers).
func checkProbs(probs [][]float32, truth []int, classes []string) (probData, error) {
	d := probData{probs: probs, truth: truth, classes: classes}
	if len(probs) == 0 {
		return d, errors.New("no probabilities given; pass one row per image")
	}
	if len(probs) > MaxImages {
		return d, fmt.Errorf("%d rows are too many for one figure; pick at most %d images", len(probs), MaxImages)
	}
	n := len(probs[0])
	if classes != nil {
		n = len(classes)
	}
	if n == 0 {
		return d, errors.New("there are no classes: rows of probabilities are empty")
	}
	for i, row := range probs {
		if len(row) != n {
			return d, fmt.Errorf("row %d has %d probabilities; want one per class (%d)", i, len(row), n)
		}
	}
	if truth != nil {
		if len(truth) != len(probs) {
			return d, fmt.Errorf("%d true labels for %d rows of probabilities; give one per row, or nil", len(truth), len(probs))
		}
		for i, l := range truth {
			if l < 0 || l >= n {
				return d, fmt.Errorf("true label %d of row %d is outside the %d classes", l, i, n)
			}
		}
	}
	if classes == nil {
		d.classes = make([]string, n)
		for k := range n {
			d.classes[k] = fmt.Sprintf("class %d", k)
		}
	}
	d.pred = make([]int, len(probs))
	for i, row := range probs {
		d.pred[i] = argmax(row)
	}
	return d, nil
}

func argmax(row []float32) int {
	best := 0
	for k, v := range row {
		if v > row[best] || math.IsNaN(float64(row[best])) {
			best = k
		}
	}
	return best
}

// ProbabilityTable is a table of softmax probabilities, one row per image
// and one column per class, shown as HTML (text/plain beside it) and also
// drawn as a PNG. Make one with ProbTable.
type ProbabilityTable struct {
	*figure
	d      probData
	layout tableLayout
	err    error
}

// ProbTable makes the table of softmax probabilities of some images: probs
// has one row per image and one column per class, truth the true classes
// (or nil), classes their names (or nil).
//
//	viz.ProbTable(probs, truth, train.Classes)
func ProbTable(probs [][]float32, truth []int, classes []string) *ProbabilityTable {
	t := &ProbabilityTable{}
	d, err := checkProbs(probs, truth, classes)
	if err != nil {
		t.err = fmt.Errorf("viz: ProbTable: %w", err)
		t.figure = failed(t.err)
		return t
	}
	t.d = d
	t.layout = layoutTable(d)
	t.figure = newFigure(t.layout.w, t.layout.h, t.paint)
	return t
}

// rowName names row i of a probability figure.
func rowName(i int) string { return fmt.Sprintf("image %d", i+1) }

// HTML returns the table as an HTML fragment: cells shaded by probability,
// the largest of each row in bold, wrong predictions in red.
func (t *ProbabilityTable) HTML() string {
	if t.err != nil {
		return "<pre>" + html.EscapeString(t.err.Error()) + "</pre>"
	}
	var b strings.Builder
	b.WriteString(`<table class="golab-probs" style="border-collapse:collapse;font-size:12px;font-variant-numeric:tabular-nums">`)
	b.WriteString(`<thead><tr><th></th>`)
	if t.d.truth != nil {
		b.WriteString(`<th style="padding:2px 8px">true</th>`)
	}
	b.WriteString(`<th style="padding:2px 8px">predicted</th>`)
	for _, c := range t.d.classes {
		fmt.Fprintf(&b, `<th style="padding:2px 6px">%s</th>`, html.EscapeString(c))
	}
	b.WriteString("</tr></thead><tbody>")
	for i, row := range t.d.probs {
		fmt.Fprintf(&b, `<tr><th style="padding:2px 8px;text-align:left">%s</th>`, rowName(i))
		predColor := ""
		if t.d.truth != nil {
			fmt.Fprintf(&b, `<td style="padding:2px 8px">%s</td>`, html.EscapeString(t.d.classes[t.d.truth[i]]))
			predColor = "color:" + hexColor(good)
			if t.d.pred[i] != t.d.truth[i] {
				predColor = "color:" + hexColor(bad)
			}
		}
		fmt.Fprintf(&b, `<td style="padding:2px 8px;%s">%s</td>`, predColor, html.EscapeString(t.d.classes[t.d.pred[i]]))
		for k, v := range row {
			a := clamp01(float64(v))
			fg := "#222"
			if a > 0.55 {
				fg = "#fff"
			}
			weight := ""
			if k == t.d.pred[i] {
				weight = ";font-weight:bold"
			}
			fmt.Fprintf(&b, `<td style="padding:2px 6px;text-align:right;color:%s;background:rgba(31,119,180,%.2f)%s">%s</td>`,
				fg, a, weight, formatProb(v))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	return b.String()
}

// String returns the table as aligned plain text.
func (t *ProbabilityTable) String() string {
	if t.err != nil {
		return t.err.Error()
	}
	var b strings.Builder
	w := 6
	for _, c := range t.d.classes {
		w = max(w, len([]rune(c)))
	}
	pw := max(w, len("predicted"))
	fmt.Fprintf(&b, "%-9s", "")
	if t.d.truth != nil {
		fmt.Fprintf(&b, " %-*s", w, "true")
	}
	fmt.Fprintf(&b, " %-*s", pw, "predicted")
	for _, c := range t.d.classes {
		fmt.Fprintf(&b, " %*s", w, c)
	}
	b.WriteString("\n")
	for i, row := range t.d.probs {
		fmt.Fprintf(&b, "%-9s", rowName(i))
		if t.d.truth != nil {
			fmt.Fprintf(&b, " %-*s", w, t.d.classes[t.d.truth[i]])
		}
		fmt.Fprintf(&b, " %-*s", pw, t.d.classes[t.d.pred[i]])
		for _, v := range row {
			fmt.Fprintf(&b, " %*s", w, formatProb(v))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Save writes the table as PNG, SVG, HTML or text by the path's extension.
func (t *ProbabilityTable) Save(path string) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".html", ".htm":
		if t.err != nil {
			return t.err
		}
		return writeFile(path, []byte(t.HTML()))
	case ".txt":
		if t.err != nil {
			return t.err
		}
		return writeFile(path, []byte(t.String()))
	}
	return t.figure.Save(path)
}

func formatProb(v float32) string {
	if math.IsNaN(float64(v)) {
		return "NaN"
	}
	return fmt.Sprintf("%.3f", v)
}

func clamp01(v float64) float64 {
	if !(v > 0) {
		return 0
	}
	return math.Min(v, 1)
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// tableLayout is the geometry of the PNG table, in pixels.
type tableLayout struct {
	w, h      int
	cols      []int // x of each column's left edge, then the right edge
	headH     int
	rowH      int
	rotate    bool // class names are written at an angle
	leadCols  int  // row name, true, predicted
	fontSize  float64
	classFrom int // index in cols of the first class column
}

func layoutTable(d probData) tableLayout {
	l := tableLayout{rowH: 22, fontSize: 9}
	sty := style(l.fontSize, black)
	bold := boldStyle(l.fontSize, black)
	width := func(s string, st text.Style) int { return int(math.Ceil(float64(st.Width(s))*dpi/72)) + 12 }
	lead := []int{width("image 888", bold)}
	nameW := 0
	for _, c := range d.classes {
		nameW = max(nameW, width(c, sty))
	}
	if d.truth != nil {
		lead = append(lead, max(width("true", bold), nameW))
	}
	lead = append(lead, max(width("predicted", bold), nameW))
	numW := width("0.000", bold)
	colW := max(numW, nameW)
	total := 2 * margin
	for _, w := range lead {
		total += w
	}
	if total+colW*len(d.classes) > MaxWidth {
		l.rotate = true
		colW = numW
	}
	l.headH = 26
	if l.rotate {
		l.headH = int(float64(nameW)*0.72) + 20
	}
	x := margin
	for _, w := range lead {
		l.cols = append(l.cols, x)
		x += w
	}
	l.classFrom = len(l.cols)
	for range d.classes {
		l.cols = append(l.cols, x)
		x += colW
	}
	l.cols = append(l.cols, x)
	l.leadCols = len(lead)
	l.w = x + margin
	if l.rotate {
		l.w += int(float64(nameW) * 0.72)
	}
	l.h = margin + l.headH + l.rowH*len(d.probs) + margin
	return l
}

func (t *ProbabilityTable) paint(f *frame) error {
	l, d := t.layout, t.d
	sty := style(l.fontSize, black)
	bold := boldStyle(l.fontSize, black)
	head := align(bold, text.XCenter, text.YCenter)
	y := float64(margin + l.headH)
	center := func(c int) float64 { return float64(l.cols[c]+l.cols[c+1]) / 2 }
	heads := []string{""}
	if d.truth != nil {
		heads = append(heads, "true")
	}
	heads = append(heads, "predicted")
	heads = append(heads, d.classes...)
	for c, h := range heads {
		if l.rotate && c >= l.classFrom {
			st := align(bold, text.XLeft, text.YCenter)
			st.Rotation = math.Pi / 4
			f.text(center(c)-4, y-6, st, h)
			continue
		}
		f.text(center(c), y-float64(l.headH)/2, head, h)
	}
	f.fill(image.Rect(l.cols[0], int(y)-1, l.cols[len(l.cols)-1], int(y)), gray)
	for i, row := range d.probs {
		top := int(y) + i*l.rowH
		mid := float64(top) + float64(l.rowH)/2
		if i%2 == 1 {
			f.fill(image.Rect(l.cols[0], top, l.cols[l.classFrom], top+l.rowH), color.RGBA{0xf6, 0xf6, 0xf6, 0xff})
		}
		c := 0
		f.text(float64(l.cols[c]+6), mid, align(bold, text.XLeft, text.YCenter), rowName(i))
		c++
		predColor := black
		if d.truth != nil {
			f.text(float64(l.cols[c]+6), mid, align(sty, text.XLeft, text.YCenter), d.classes[d.truth[i]])
			c++
			predColor = good
			if d.pred[i] != d.truth[i] {
				predColor = bad
			}
		}
		f.text(float64(l.cols[c]+6), mid, align(style(l.fontSize, predColor), text.XLeft, text.YCenter), d.classes[d.pred[i]])
		for k, v := range row {
			c := l.classFrom + k
			a := clamp01(float64(v))
			bg := blend(series[0], a)
			f.fill(image.Rect(l.cols[c], top, l.cols[c+1], top+l.rowH), bg)
			fg := color.Color(black)
			if a > 0.55 {
				fg = color.White
			}
			st := style(l.fontSize, fg)
			if k == d.pred[i] {
				st = boldStyle(l.fontSize, fg)
			}
			f.text(float64(l.cols[c+1]-6), mid, align(st, text.XRight, text.YCenter), formatProb(v))
		}
	}
	return nil
}

// blend mixes c over white with opacity a.
func blend(c color.RGBA, a float64) color.RGBA {
	mix := func(v uint8) uint8 { return uint8(math.Round(255 - (255-float64(v))*a)) }
	return color.RGBA{mix(c.R), mix(c.G), mix(c.B), 0xff}
}

// ProbabilityBars draws, for each image, the image beside a horizontal bar
// chart of its class probabilities, titled with the true and predicted
// class. Make one with ProbBars.
type ProbabilityBars struct {
	*figure
	d      probData
	images [][]byte
	cols   int
	err    error
}

// Geometry of the bar panels, in pixels.
const (
	barPanelGap = 16
	barImgScale = 3
	barRowH     = 16
)

// ProbBars draws a bar chart of the class probabilities of each image beside
// the image: probs has one row per image, truth the true classes (or nil),
// classes their names (or nil), images the pixels of each image in the
// layout of lab.Dataset.Image (or nil for bars alone; see Images).
//
//	imgs, _ := viz.Images(val, picks...)
//	viz.ProbBars(probs, truth, train.Classes, imgs)
func ProbBars(probs [][]float32, truth []int, classes []string, images [][]byte) *ProbabilityBars {
	b := &ProbabilityBars{}
	d, err := checkProbs(probs, truth, classes)
	if err == nil && images != nil {
		if len(images) != len(probs) {
			err = fmt.Errorf("%s for %s of probabilities; give one per row, or nil", plural.N(len(images), "image"), plural.N(len(probs), "row"))
		}
		for i, img := range images {
			if err == nil && len(img) != lab.ImageBytes {
				err = fmt.Errorf("image %d has %d bytes; want %d (3×32×32, channel-major, as lab.Dataset.Image gives)", i, len(img), lab.ImageBytes)
			}
		}
	}
	if err != nil {
		b.err = fmt.Errorf("viz: ProbBars: %w", err)
		b.figure = failed(b.err)
		return b
	}
	b.d, b.images = d, images
	b.cols = 2
	if len(probs) == 1 {
		b.cols = 1
	}
	rows := (len(probs) + b.cols - 1) / b.cols
	w := MaxWidth
	if b.cols == 1 {
		w = MaxWidth / 2
	}
	b.figure = newFigure(w, 2*margin+rows*b.panelH(), b.paint)
	return b
}

func (b *ProbabilityBars) panelH() int {
	return max(len(b.d.classes)*barRowH+70, imageSize*barImgScale+40)
}

// String lists each image's true class and its most likely classes.
func (b *ProbabilityBars) String() string {
	if b.err != nil {
		return b.err.Error()
	}
	var s strings.Builder
	for i, row := range b.d.probs {
		fmt.Fprintf(&s, "%s:", rowName(i))
		if b.d.truth != nil {
			fmt.Fprintf(&s, " true %s,", b.d.classes[b.d.truth[i]])
		}
		fmt.Fprintf(&s, " predicted %s (%s)\n", b.d.classes[b.d.pred[i]], formatProb(row[b.d.pred[i]]))
	}
	return s.String()
}

func (b *ProbabilityBars) paint(f *frame) error {
	ph := b.panelH()
	pw := (f.w - 2*margin - (b.cols-1)*barPanelGap) / b.cols
	for i := range b.d.probs {
		x := margin + (i%b.cols)*(pw+barPanelGap)
		y := margin + (i/b.cols)*ph
		area := image.Rect(x, y, x+pw, y+ph-8)
		if b.images != nil {
			side := imageSize * barImgScale
			at := image.Pt(x, y+(area.Dy()-side)/2)
			if b.d.truth != nil && b.d.pred[i] != b.d.truth[i] {
				f.fill(image.Rectangle{at, at.Add(image.Pt(side, side))}.Inset(-frameW), bad)
			}
			f.image(upscale(b.images[i], barImgScale), at)
			area.Min.X += side + 12
		}
		p, err := b.panel(i)
		if err != nil {
			return err
		}
		p.Draw(f.sub(area))
	}
	return nil
}

// panel is the bar chart of row i: classes top to bottom, the true class
// in green and a wrong prediction in red.
func (b *ProbabilityBars) panel(i int) (*plot.Plot, error) {
	d, row := b.d, b.d.probs[i]
	n := len(d.classes)
	pos := func(k int) float64 { return float64(n - 1 - k) } // class 0 on top
	title := fmt.Sprintf("%s: predicted %s", rowName(i), d.classes[d.pred[i]])
	titleColor := black
	if d.truth != nil {
		title = fmt.Sprintf("true %s · predicted %s", d.classes[d.truth[i]], d.classes[d.pred[i]])
		titleColor = good
		if d.pred[i] != d.truth[i] {
			titleColor = bad
		}
	}
	p := newPlot(title)
	p.Title.TextStyle.Color = titleColor
	p.Title.TextStyle.Font = font.From(boldFont, 10)
	p.X.Min, p.X.Max = 0, 1
	p.X.Label.Text = "probability"
	p.X.Tick.Marker = plot.ConstantTicks{{Value: 0, Label: "0"}, {Value: 0.25}, {Value: 0.5, Label: "0.5"}, {Value: 0.75}, {Value: 1, Label: "1"}}
	ticks := make(plot.ConstantTicks, n)
	for k, c := range d.classes {
		ticks[k] = plot.Tick{Value: pos(k), Label: c}
	}
	p.Y.Tick.Marker = ticks
	p.Y.Tick.Length = 0
	g := plotter.NewGrid()
	g.Horizontal.Color = nil
	g.Vertical.Color = gridColor
	p.Add(g)

	vals := make(plotter.Values, n)
	for k := range n {
		vals[n-1-k] = clamp01(float64(row[k]))
	}
	barW := px(barRowH * 0.7)
	all, err := plotter.NewBarChart(vals, barW)
	if err != nil {
		return nil, err
	}
	all.Horizontal = true
	all.Color = color.RGBA{0x9e, 0xc5, 0xe6, 0xff}
	all.LineStyle.Width = 0
	p.Add(all)
	mark := func(k int, c color.Color) error {
		bar, err := plotter.NewBarChart(plotter.Values{clamp01(float64(row[k]))}, barW)
		if err != nil {
			return err
		}
		bar.Horizontal, bar.Color, bar.XMin = true, c, pos(k)
		bar.LineStyle.Width = 0
		p.Add(bar)
		lbl, err := plotter.NewLabels(plotter.XYLabels{
			XYs:    plotter.XYs{{X: clamp01(float64(row[k])), Y: pos(k)}},
			Labels: []string{formatProb(row[k])},
		})
		if err != nil {
			return err
		}
		lbl.TextStyle[0] = align(style(8, black), text.XLeft, text.YCenter)
		lbl.Offset = vg.Point{X: px(3)}
		p.Add(lbl)
		return nil
	}
	predColor := color.Color(series[0])
	if d.truth != nil {
		if d.pred[i] != d.truth[i] {
			predColor = bad
		} else {
			predColor = good
		}
	}
	if err := mark(d.pred[i], predColor); err != nil {
		return nil, err
	}
	if d.truth != nil && d.pred[i] != d.truth[i] {
		if err := mark(d.truth[i], good); err != nil {
			return nil, err
		}
	}
	p.X.Min, p.X.Max = 0, 1.12 // room for the value labels
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
	return p, nil
}
