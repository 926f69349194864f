package viz

import (
	"errors"
	"fmt"
	"image"
	"math"
	"strings"

	"golab/lab"
	"golab/lab/internal/plural"

	"gonum.org/v1/plot/text"
)

// MaxImages is the most images one grid shows.
const MaxImages = 256

// ImageGrid is a grid of images with the class name under each, and the
// predicted class when predictions are given. Build one with ShowImages or
// ShowBatch; the methods that set options return a new grid.
type ImageGrid struct {
	*figure
	pix     [][]byte // lab.ImageBytes each, channel-major
	labels  []int
	classes []string
	pred    []int
	cols    int
	scale   int
	title   string
	cells   []image.Rectangle
	err     error
}

// ShowImages shows the images of d at the given positions, or its first 8
// when none are given, with their class names.
//
//	viz.ShowImages(train, 0, 1, 2, 3)
//	viz.ShowImages(test, picks...).Predicted(pred)
func ShowImages(d *lab.Dataset, positions ...int) *ImageGrid {
	g := &ImageGrid{}
	if d == nil {
		return g.fail(errors.New("viz: ShowImages: the dataset is nil; pass a *lab.Dataset"))
	}
	g.classes = d.Classes
	if len(positions) == 0 {
		for i := range min(8, d.Len()) {
			positions = append(positions, i)
		}
	}
	pix, err := images(d, positions)
	if err != nil {
		return g.fail(fmt.Errorf("viz: ShowImages: %w", err))
	}
	g.pix = pix
	for _, i := range positions {
		g.labels = append(g.labels, d.Label(i))
	}
	return g.layout()
}

// ShowBatch shows the images of a batch, undoing its normalization, with
// the names of their classes taken from classes (nil shows numbers).
//
//	viz.ShowBatch(batch, train.Classes).Cols(8)
func ShowBatch(b *lab.Batch, classes []string) *ImageGrid {
	g := &ImageGrid{classes: classes}
	if b == nil {
		return g.fail(errors.New("viz: ShowBatch: the batch is nil"))
	}
	pix, err := batchImages(b)
	if err != nil {
		return g.fail(fmt.Errorf("viz: ShowBatch: %w", err))
	}
	g.pix = pix
	g.labels = append([]int(nil), b.Labels...)
	return g.layout()
}

// Images returns the pixels of the images of d at the given positions, in
// the layout of lab.Dataset.Image, for ProbBars.
func Images(d *lab.Dataset, positions ...int) ([][]byte, error) {
	pix, err := images(d, positions)
	if err != nil {
		return nil, fmt.Errorf("viz: Images: %w", err)
	}
	return pix, nil
}

func images(d *lab.Dataset, positions []int) ([][]byte, error) {
	if d == nil {
		return nil, errors.New("the dataset is nil")
	}
	if len(positions) > MaxImages {
		return nil, fmt.Errorf("%d images are too many for one figure; pick at most %d", len(positions), MaxImages)
	}
	out := make([][]byte, len(positions))
	for k, i := range positions {
		if i < 0 || i >= d.Len() {
			return nil, fmt.Errorf("position %d is outside the set %q of %d images", i, d.Name, d.Len())
		}
		out[k] = d.Image(i)
	}
	return out, nil
}

// BatchImages returns the images of a batch as 8-bit pixels in the layout
// of lab.Dataset.Image, undoing the batch's normalization.
func BatchImages(b *lab.Batch) ([][]byte, error) {
	pix, err := batchImages(b)
	if err != nil {
		return nil, fmt.Errorf("viz: BatchImages: %w", err)
	}
	return pix, nil
}

func batchImages(b *lab.Batch) ([][]byte, error) {
	if b == nil {
		return nil, errors.New("the batch is nil")
	}
	n := b.Len()
	if len(b.X) != n*lab.ImageBytes {
		return nil, fmt.Errorf("the batch has %d labels but %d values; want %d (%d per image)", n, len(b.X), n*lab.ImageBytes, lab.ImageBytes)
	}
	if n > MaxImages {
		return nil, fmt.Errorf("%d images are too many for one figure; take a smaller batch (at most %d)", n, MaxImages)
	}
	const plane = lab.Height * lab.Width
	out := make([][]byte, n)
	for k := range out {
		pix := make([]byte, lab.ImageBytes)
		x := b.X[k*lab.ImageBytes : (k+1)*lab.ImageBytes]
		for c := range lab.Channels {
			// x = (v/255 - mean) / std, so v = 255 (x std + mean).
			scale, shift := float32(255), float32(0)
			if b.Norm != nil {
				scale, shift = 255*b.Norm.Std[c], 255*b.Norm.Mean[c]
			}
			for p, v := range x[c*plane : (c+1)*plane] {
				pix[c*plane+p] = toByte(v*scale + shift)
			}
		}
		out[k] = pix
	}
	return out, nil
}

func toByte(v float32) byte {
	switch {
	case !(v > 0): // NaN too
		return 0
	case v >= 255:
		return 255
	}
	return byte(math.Round(float64(v)))
}

// Predicted returns the grid with the predicted class of each image under
// its true class; wrong predictions are framed and written in red.
func (g *ImageGrid) Predicted(pred []int) *ImageGrid {
	h := g.clone()
	if h.err == nil && len(pred) != len(h.labels) {
		return h.fail(fmt.Errorf("viz: Predicted: %d predictions for %d images; give one per image", len(pred), len(h.labels)))
	}
	h.pred = append([]int(nil), pred...)
	return h.layout()
}

// Cols returns the grid with n images per row.
func (g *ImageGrid) Cols(n int) *ImageGrid {
	h := g.clone()
	h.cols = n
	return h.layout()
}

// Scale returns the grid with each image pixel drawn as n×n pixels
// (1 to 8); by default the largest that fits MaxWidth, at most 4.
func (g *ImageGrid) Scale(n int) *ImageGrid {
	h := g.clone()
	h.scale = n
	return h.layout()
}

// Title returns the grid with a title above it.
func (g *ImageGrid) Title(s string) *ImageGrid {
	h := g.clone()
	h.title = s
	return h.layout()
}

// Len is the number of images in the grid.
func (g *ImageGrid) Len() int { return len(g.pix) }

// Cell returns where image i lies in the PNG, in pixels, or an empty
// rectangle when there is no image i.
func (g *ImageGrid) Cell(i int) image.Rectangle {
	if i < 0 || i >= len(g.cells) {
		return image.Rectangle{}
	}
	return g.cells[i]
}

// String describes the grid for text/plain.
func (g *ImageGrid) String() string {
	if g.err != nil {
		return g.err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ImageGrid: %s", plural.N(len(g.pix), "image"))
	wrong := 0
	for i, l := range g.labels {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		if i == 12 {
			b.WriteString("…")
			break
		}
		b.WriteString(className(g.classes, l))
		if g.pred != nil && g.pred[i] != l {
			fmt.Fprintf(&b, " (predicted %s)", className(g.classes, g.pred[i]))
		}
	}
	if g.pred != nil {
		for i, l := range g.labels {
			if g.pred[i] != l {
				wrong++
			}
		}
		fmt.Fprintf(&b, "; %d of %d predicted wrong", wrong, len(g.labels))
	}
	return b.String()
}

func (g *ImageGrid) clone() *ImageGrid {
	h := *g
	h.figure = nil
	return &h
}

func (g *ImageGrid) fail(err error) *ImageGrid {
	g.err = err
	g.figure = failed(err)
	return g
}

// className is the name of class l, or its number when there is none.
func className(classes []string, l int) string {
	if l >= 0 && l < len(classes) {
		return classes[l]
	}
	return fmt.Sprintf("class %d", l)
}

// Grid geometry, in pixels.
const (
	margin    = 8
	gapX      = 12
	titleH    = 26
	lineH     = 16
	frameW    = 3 // the frame around a wrong prediction
	maxScale  = 4
	imageSize = lab.Width // images are square
)

// defaultCols picks a number of columns that keeps rows short and images
// large.
func defaultCols(n int) int {
	switch {
	case n <= 6:
		return max(n, 1)
	case n <= 8:
		return 4
	case n <= 18:
		return 6
	}
	return 8
}

// layout places the images and makes the figure.
func (g *ImageGrid) layout() *ImageGrid {
	if g.err != nil {
		return g.fail(g.err)
	}
	n := len(g.pix)
	if n == 0 {
		return g.fail(errors.New("viz: ShowImages: no images to show"))
	}
	cols := g.cols
	if cols <= 0 {
		cols = defaultCols(n)
	}
	cols = min(cols, n)
	width := func(cols, s int) int { return 2*margin + cols*imageSize*s + (cols-1)*gapX }
	s := g.scale
	if s <= 0 {
		s = maxScale
		for s > 1 && width(cols, s) > MaxWidth {
			s--
		}
	}
	s = min(max(s, 1), 8)
	for cols > 1 && width(cols, s) > MaxWidth {
		cols--
	}
	rows := (n + cols - 1) / cols
	lines := 1
	if g.pred != nil {
		lines = 2
	}
	top := margin
	if g.title != "" {
		top += titleH
	}
	if g.pred != nil {
		top += lineH + 4
	}
	cell := imageSize * s
	rowH := cell + frameW + 3 + lines*lineH + 8
	g.cells = make([]image.Rectangle, n)
	for i := range n {
		x := margin + (i%cols)*(cell+gapX)
		y := top + (i/cols)*rowH
		g.cells[i] = image.Rect(x, y, x+cell, y+cell)
	}
	w := width(cols, s)
	h := top + rows*rowH + margin - 8
	scale := s
	g.figure = newFigure(w, h, func(f *frame) error { return g.paint(f, scale) })
	return g
}

func (g *ImageGrid) paint(f *frame, s int) error {
	y0 := float64(margin)
	if g.title != "" {
		f.text(float64(f.w)/2, y0, align(boldStyle(11, black), text.XCenter, text.YTop), g.title)
		y0 += titleH
	}
	if g.pred != nil {
		key := align(style(9, gray), text.XCenter, text.YTop)
		f.text(float64(f.w)/2, y0, key, fitText(key, "under each image: true class, then predicted (red when wrong)", float64(f.w-2*margin)))
	}
	name := align(style(10, black), text.XCenter, text.YTop)
	for i, pix := range g.pix {
		r := g.cells[i]
		wrong := g.pred != nil && g.pred[i] != g.labels[i]
		if wrong {
			f.fill(r.Inset(-frameW), bad)
		}
		f.image(upscale(pix, s), r.Min)
		cx := float64(r.Min.X+r.Max.X) / 2
		y := float64(r.Max.Y + frameW + 3)
		room := float64(r.Dx() + gapX - 2)
		label := className(g.classes, g.labels[i])
		if g.pred == nil {
			f.text(cx, y, name, fitText(name, label, room))
			continue
		}
		f.text(cx, y, name, fitText(name, label, room))
		pc := good
		if wrong {
			pc = bad
		}
		ps := align(style(10, pc), text.XCenter, text.YTop)
		f.text(cx, y+lineH, ps, fitText(ps, className(g.classes, g.pred[i]), room))
	}
	return nil
}

// upscale converts channel-major pixels to an RGBA image, each pixel drawn
// as an s×s block (nearest neighbour).
func upscale(pix []byte, s int) *image.RGBA {
	const plane = imageSize * imageSize
	img := image.NewRGBA(image.Rect(0, 0, imageSize*s, imageSize*s))
	for y := range imageSize {
		for x := range imageSize {
			p := y*imageSize + x
			r, gr, b := pix[p], pix[plane+p], pix[2*plane+p]
			for dy := range s {
				o := img.PixOffset(x*s, y*s+dy)
				for range s {
					img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = r, gr, b, 0xff
					o += 4
				}
			}
		}
	}
	return img
}
