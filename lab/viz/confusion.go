package viz

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg/draw"

	"golab/lab/internal/plural"
)

// ConfusionMatrix counts, for each true class (row), how often each class
// was predicted (column). Its figure is a heat map of the rows as fractions,
// the counts written in the cells and each class's accuracy beside its name.
type ConfusionMatrix struct {
	*figure
	Classes []string
	Counts  [][]int // Counts[true][predicted]
	err     error
}

// Size of the confusion matrix figure in pixels.
const (
	confusionW = 720
	confusionH = 600
)

// Confusion builds the confusion matrix of predictions against true labels;
// classes names them (nil: numbers).
//
//	viz.Confusion(truth, pred, test.Classes)
func Confusion(truth, pred []int, classes []string) *ConfusionMatrix {
	m := &ConfusionMatrix{Classes: classes}
	fail := func(err error) *ConfusionMatrix {
		m.err = fmt.Errorf("viz: Confusion: %w", err)
		m.figure = failed(m.err)
		return m
	}
	if len(truth) == 0 {
		return fail(errors.New("no labels given; pass the true and the predicted class of each image"))
	}
	if len(pred) != len(truth) {
		return fail(fmt.Errorf("%d predictions for %d true labels; give one per image", len(pred), len(truth)))
	}
	n := len(classes)
	if classes == nil {
		for _, l := range append(append([]int(nil), truth...), pred...) {
			n = max(n, l+1)
		}
		m.Classes = make([]string, n)
		for k := range n {
			m.Classes[k] = fmt.Sprint(k)
		}
	}
	if n == 0 || n > 100 {
		return fail(fmt.Errorf("%d classes; a confusion matrix needs 1 to 100", n))
	}
	m.Counts = make([][]int, n)
	for k := range m.Counts {
		m.Counts[k] = make([]int, n)
	}
	for i, t := range truth {
		p := pred[i]
		if t < 0 || t >= n || p < 0 || p >= n {
			return fail(fmt.Errorf("image %d has true class %d and predicted class %d; both must be in 0..%d", i, t, p, n-1))
		}
		m.Counts[t][p]++
	}
	m.figure = newFigure(confusionW, confusionH, m.paint)
	return m
}

// Accuracy is the percentage of right predictions.
func (m *ConfusionMatrix) Accuracy() float64 {
	right, all := 0, 0
	for t, row := range m.Counts {
		for p, c := range row {
			all += c
			if p == t {
				right += c
			}
		}
	}
	if all == 0 {
		return math.NaN()
	}
	return 100 * float64(right) / float64(all)
}

// ClassAccuracy is, for each true class, the percentage of its images
// predicted right (NaN for a class with no image).
func (m *ConfusionMatrix) ClassAccuracy() []float64 {
	acc := make([]float64, len(m.Counts))
	for t, row := range m.Counts {
		all := 0
		for _, c := range row {
			all += c
		}
		acc[t] = math.NaN()
		if all > 0 {
			acc[t] = 100 * float64(row[t]) / float64(all)
		}
	}
	return acc
}

// String returns the matrix and per-class accuracy as plain text.
func (m *ConfusionMatrix) String() string {
	if m.err != nil {
		return m.err.Error()
	}
	var b strings.Builder
	w := 5
	for _, c := range m.Classes {
		w = max(w, len([]rune(c)))
	}
	fmt.Fprintf(&b, "Confusion matrix (rows: true class, columns: predicted), accuracy %.1f%%\n", m.Accuracy())
	fmt.Fprintf(&b, "%-*s", w, "")
	for _, c := range m.Classes {
		fmt.Fprintf(&b, " %*s", w, c)
	}
	fmt.Fprintf(&b, " %8s\n", "accuracy")
	acc := m.ClassAccuracy()
	for t, row := range m.Counts {
		fmt.Fprintf(&b, "%-*s", w, m.Classes[t])
		for _, c := range row {
			fmt.Fprintf(&b, " %*d", w, c)
		}
		fmt.Fprintf(&b, " %7.1f%%\n", acc[t])
	}
	return b.String()
}

// fractions is the matrix as a heat map grid: the square root of each row
// divided by its sum, true class 0 on top.
type fractions struct{ m *ConfusionMatrix }

func (f fractions) Dims() (c, r int) { return len(f.m.Counts), len(f.m.Counts) }
func (f fractions) X(c int) float64  { return float64(c) }
func (f fractions) Y(r int) float64  { return float64(r) }
func (f fractions) Z(c, r int) float64 {
	row := f.m.Counts[len(f.m.Counts)-1-r]
	all := 0
	for _, v := range row {
		all += v
	}
	if all == 0 {
		return 0
	}
	// The square root keeps rare confusions visible beside the diagonal.
	return math.Sqrt(float64(row[c]) / float64(all))
}

// blues is a white-to-dark-blue palette of n colours.
type blues int

func (n blues) Colors() []color.Color {
	stops := []struct {
		at float64
		c  color.RGBA
	}{
		{0, color.RGBA{0xf7, 0xfb, 0xff, 0xff}},
		{0.35, color.RGBA{0x9e, 0xca, 0xe1, 0xff}},
		{0.7, color.RGBA{0x42, 0x92, 0xc6, 0xff}},
		{1, color.RGBA{0x08, 0x45, 0x94, 0xff}},
	}
	cs := make([]color.Color, n)
	for i := range cs {
		t := float64(i) / float64(n-1)
		k := 1
		for k < len(stops)-1 && t > stops[k].at {
			k++
		}
		a, b := stops[k-1], stops[k]
		u := (t - a.at) / (b.at - a.at)
		mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + (float64(y)-float64(x))*u)) }
		cs[i] = color.RGBA{mix(a.c.R, b.c.R), mix(a.c.G, b.c.G), mix(a.c.B, b.c.B), 0xff}
	}
	return cs
}

func (m *ConfusionMatrix) paint(f *frame) error {
	n := len(m.Counts)
	grid := fractions{m}
	p := newPlot(fmt.Sprintf("Confusion matrix: accuracy %.1f%% on %s", m.Accuracy(), plural.N(m.total(), "image")))
	p.Title.TextStyle.Font.Size = 12
	hm := plotter.NewHeatMap(grid, blues(64))
	hm.Min, hm.Max = 0, 1
	p.Add(hm)

	size := 9.0
	if n > 12 {
		size = 7
	}
	if n <= 30 {
		var xys plotter.XYs
		var labels []string
		var styles []text.Style
		for t, row := range m.Counts {
			for c, v := range row {
				if v == 0 && t != c {
					continue
				}
				r := n - 1 - t
				xys = append(xys, plotter.XY{X: float64(c), Y: float64(r)})
				labels = append(labels, fmt.Sprint(v))
				fg := color.Color(black)
				if grid.Z(c, r) > 0.7 {
					fg = color.White
				}
				st := style(size, fg)
				if t == c {
					st = boldStyle(size, fg)
				}
				styles = append(styles, align(st, text.XCenter, text.YCenter))
			}
		}
		if len(xys) > 0 {
			l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
			if err != nil {
				return err
			}
			l.TextStyle = styles
			p.Add(l)
		}
	}

	acc := m.ClassAccuracy()
	xt, yt := make(plot.ConstantTicks, n), make(plot.ConstantTicks, n)
	for k, c := range m.Classes {
		xt[k] = plot.Tick{Value: float64(k), Label: c}
		a := "–"
		if !math.IsNaN(acc[k]) {
			a = fmt.Sprintf("%.1f%%", acc[k])
		}
		yt[k] = plot.Tick{Value: float64(n - 1 - k), Label: fmt.Sprintf("%s  %s", c, a)}
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = xt, yt
	p.X.Tick.Length, p.Y.Tick.Length = px(6), 0
	p.X.Tick.Color = color.Transparent
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	p.X.Label.Text = "predicted class"
	p.Y.Label.Text = "true class (its accuracy)"
	p.X.LineStyle.Width, p.Y.LineStyle.Width = 0, 0
	p.X.Padding, p.Y.Padding = px(2), px(2)
	p.Draw(draw.Crop(f.Canvas, px(margin), -px(margin), px(margin), -px(margin)))
	return nil
}

func (m *ConfusionMatrix) total() int {
	all := 0
	for _, row := range m.Counts {
		for _, c := range row {
			all += c
		}
	}
	return all
}
