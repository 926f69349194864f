package viz

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	stddraw "image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figures are laid out in pixels at 96 dots per inch, the resolution at
// which browsers show PNG and SVG alike.
const dpi = 96

// MaxWidth is the width of the widest figure, in pixels: about a notebook
// column, so that no figure is scaled down when shown inline.
const MaxWidth = 800

// px converts pixels to the points gonum/plot measures in.
func px(n float64) vg.Length { return vg.Length(n * 72 / dpi) }

// figure is what every figure type shares: a size in pixels and a paint
// function, drawn lazily on the first PNG or SVG call and kept.
type figure struct {
	w, h  int
	paint func(f *frame) error
	err   error // set at construction: the figure cannot be drawn

	mu       sync.Mutex
	rendered bool
	png      []byte
	level    png.CompressionLevel
}

// newFigure returns a figure of w×h pixels drawn by paint.
func newFigure(w, h int, paint func(f *frame) error) *figure {
	return &figure{w: w, h: h, paint: paint}
}

// failed returns a figure that only reports err.
func failed(err error) *figure { return &figure{err: err} }

// frame is the canvas a paint function draws on, addressed in pixels from
// the top-left corner. Raster images are copied pixel for pixel into the
// PNG after the vector drawing (so nearest-neighbour upscaling stays exact)
// and embedded as images in SVG.
type frame struct {
	draw.Canvas
	w, h   int
	vector bool
	blits  []blit
}

type blit struct {
	img *image.RGBA
	at  image.Point
}

// pt converts pixel coordinates from the top-left corner to a canvas point.
func (f *frame) pt(x, y float64) vg.Point {
	return vg.Point{X: px(x), Y: px(float64(f.h) - y)}
}

// sub returns the canvas covering the pixel rectangle r.
func (f *frame) sub(r image.Rectangle) draw.Canvas {
	return draw.Canvas{Canvas: f.Canvas.Canvas, Rectangle: vg.Rectangle{
		Min: f.pt(float64(r.Min.X), float64(r.Max.Y)),
		Max: f.pt(float64(r.Max.X), float64(r.Min.Y)),
	}}
}

// image places img with its top-left corner at pixel p.
func (f *frame) image(img *image.RGBA, p image.Point) {
	if f.vector {
		b := img.Bounds()
		f.DrawImage(f.sub(b.Sub(b.Min).Add(p)).Rectangle, img)
		return
	}
	f.blits = append(f.blits, blit{img, p})
}

// text draws s with its anchor at pixel (x, y); sty's alignment says where
// the anchor is on the text.
func (f *frame) text(x, y float64, sty text.Style, s string) {
	f.FillText(sty, f.pt(x, y), s)
}

// fill paints the pixel rectangle r.
func (f *frame) fill(r image.Rectangle, c color.Color) {
	sub := f.sub(r)
	f.SetColor(c)
	f.Fill(sub.Rectangle.Path())
}

// paintSafely runs paint, turning a panic inside gonum/plot into an error.
func (fig *figure) paintSafely(f *frame) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("viz: drawing failed: %v", r)
		}
	}()
	return fig.paint(f)
}

// raster draws the figure to an RGBA image.
func (fig *figure) raster() (*image.RGBA, error) {
	if fig.err != nil {
		return nil, fig.err
	}
	if fig.w <= 0 || fig.h <= 0 {
		return nil, fmt.Errorf("viz: figure has no area (%d×%d pixels)", fig.w, fig.h)
	}
	c := vgimg.NewWith(vgimg.UseWH(px(float64(fig.w)), px(float64(fig.h))), vgimg.UseDPI(dpi))
	f := &frame{Canvas: draw.New(c), w: fig.w, h: fig.h}
	if err := fig.paintSafely(f); err != nil {
		return nil, err
	}
	img, ok := c.Image().(*image.RGBA)
	if !ok {
		return nil, errors.New("viz: the raster canvas is not RGBA")
	}
	for _, b := range f.blits {
		r := b.img.Bounds()
		stddraw.Draw(img, r.Sub(r.Min).Add(b.at), b.img, r.Min, stddraw.Src)
	}
	return img, nil
}

// errNoFigure is the error of a figure type's zero value.
var errNoFigure = errors.New("viz: empty figure; make figures with ShowImages, PlotCurves, ProbTable, ProbBars or Confusion")

// render draws and encodes the PNG once.
func (fig *figure) render() ([]byte, error) {
	if fig == nil {
		return nil, errNoFigure
	}
	fig.mu.Lock()
	defer fig.mu.Unlock()
	if fig.rendered {
		return fig.png, fig.err
	}
	fig.rendered = true
	img, err := fig.raster()
	if err != nil {
		fig.err = err
		return nil, err
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: fig.level}
	if err := enc.Encode(&buf, img); err != nil {
		fig.err = fmt.Errorf("viz: encoding PNG: %w", err)
		return nil, fig.err
	}
	fig.png = buf.Bytes()
	return fig.png, nil
}

// PNG returns the figure as a PNG image at most MaxWidth pixels wide, or nil
// when it cannot be drawn (Err says why).
func (fig *figure) PNG() []byte {
	b, _ := fig.render()
	return b
}

// SVG returns the figure as an SVG document, or "" when it cannot be drawn
// (Err says why).
func (fig *figure) SVG() string {
	s, _ := fig.svg()
	return s
}

func (fig *figure) svg() (string, error) {
	if fig == nil {
		return "", errNoFigure
	}
	if fig.err != nil {
		return "", fig.err
	}
	if fig.w <= 0 || fig.h <= 0 {
		return "", fmt.Errorf("viz: figure has no area (%d×%d pixels)", fig.w, fig.h)
	}
	c := vgsvg.New(px(float64(fig.w)), px(float64(fig.h)))
	f := &frame{Canvas: draw.New(c), w: fig.w, h: fig.h, vector: true}
	if err := fig.paintSafely(f); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("viz: encoding SVG: %w", err)
	}
	return buf.String(), nil
}

// Err draws the figure if it has not been drawn yet and returns the reason
// it cannot be, or nil.
func (fig *figure) Err() error {
	_, err := fig.render()
	return err
}

// Size returns the size of the PNG in pixels.
func (fig *figure) Size() (width, height int) {
	if fig == nil {
		return 0, 0
	}
	return fig.w, fig.h
}

// Save writes the figure to path, as PNG or SVG by the path's extension.
func (fig *figure) Save(path string) error {
	var data []byte
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png":
		b, err := fig.render()
		if err != nil {
			return err
		}
		data = b
	case ".svg":
		s, err := fig.svg()
		if err != nil {
			return err
		}
		data = []byte(s)
	default:
		return fmt.Errorf("viz: Save %q: unknown extension %q; use .png or .svg", path, ext)
	}
	return writeFile(path, data)
}

func writeFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("viz: Save: %w", err)
	}
	return nil
}

// Fonts and colours shared by the figures.
var (
	sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	boldFont = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}

	black     = color.RGBA{0x22, 0x22, 0x22, 0xff}
	gray      = color.RGBA{0x80, 0x80, 0x80, 0xff}
	lightGray = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	gridColor = color.RGBA{0xe8, 0xe8, 0xe8, 0xff}
	good      = color.RGBA{0x1a, 0x7f, 0x37, 0xff} // right prediction
	bad       = color.RGBA{0xcf, 0x22, 0x2e, 0xff} // wrong prediction

	// series holds the colours of runs and series, in order.
	series = []color.RGBA{
		{0x1f, 0x77, 0xb4, 0xff}, // blue
		{0xff, 0x7f, 0x0e, 0xff}, // orange
		{0x2c, 0xa0, 0x2c, 0xff}, // green
		{0xd6, 0x27, 0x28, 0xff}, // red
		{0x94, 0x67, 0xbd, 0xff}, // purple
		{0x8c, 0x56, 0x4b, 0xff}, // brown
		{0xe3, 0x77, 0xc2, 0xff}, // pink
		{0x7f, 0x7f, 0x7f, 0xff}, // gray
		{0xbc, 0xbd, 0x22, 0xff}, // olive
		{0x17, 0xbe, 0xcf, 0xff}, // cyan
	}
)

func seriesColor(i int) color.RGBA { return series[i%len(series)] }

// style returns a text style in the sans font of the given size in points.
func style(size float64, c color.Color) text.Style {
	return text.Style{Color: c, Font: font.From(sansFont, vg.Length(size)), Handler: plot.DefaultTextHandler}
}

func boldStyle(size float64, c color.Color) text.Style {
	s := style(size, c)
	s.Font = font.From(boldFont, vg.Length(size))
	return s
}

// align returns sty anchored at the given alignment.
func align(sty text.Style, x text.XAlignment, y text.YAlignment) text.Style {
	sty.XAlign, sty.YAlign = x, y
	return sty
}

// newPlot returns a plot in the figures' sans font and sizes.
func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(boldFont, 11)
	p.Title.Padding = px(6)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sansFont, 10)
		a.Tick.Label.Font = font.From(sansFont, 9)
		a.Tick.Length = px(5)
		a.Padding = px(4)
	}
	p.Legend.TextStyle.Font = font.From(sansFont, 9)
	p.Legend.ThumbnailWidth = px(24)
	return p
}

// fitText shortens s with an ellipsis until it is at most w pixels wide.
func fitText(sty text.Style, s string, w float64) string {
	if float64(sty.Width(s)) <= float64(px(w)) {
		return s
	}
	r := []rune(s)
	for len(r) > 1 {
		r = r[:len(r)-1]
		t := string(r) + "…"
		if float64(sty.Width(t)) <= float64(px(w)) {
			return t
		}
	}
	return string(r)
}
