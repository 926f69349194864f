// Package display shows rich output (images, HTML, Markdown, LaTeX, JSON)
// in a Jupyter notebook run by the golab kernel. Its names follow
// gophernotes' display package, so notebooks written for gophernotes keep
// working: a cell whose last value is a Data, or any value with a PNG(),
// SVG(), HTML(), Markdown(), ... method, renders inline; Display shows a
// value at once; DisplayID and Update replace an output in place.
//
// The kernel pre-imports this package in every session, so cells can call
// display.HTML("<b>hi</b>") without an import.
package display

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync/atomic"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"golab/frontend"
)

// MIME types the notebook front end understands.
const (
	MIMETypeHTML       = "text/html"
	MIMETypeJavaScript = "application/javascript"
	MIMETypeJPEG       = "image/jpeg"
	MIMETypeJSON       = "application/json"
	MIMETypeLatex      = "text/latex"
	MIMETypeMarkdown   = "text/markdown"
	MIMETypePNG        = "image/png"
	MIMETypePDF        = "application/pdf"
	MIMETypeSVG        = "image/svg+xml"
	MIMETypeText       = "text/plain"
)

// MIMEMap maps a MIME type to its representation: a string, a []byte (sent
// base64-encoded) or, for JSON types, any JSON-encodable value.
type MIMEMap = map[string]any

// Data is a MIME bundle: one value in several representations, with
// optional metadata (such as image width and height) and transient data
// (such as the display_id). It is what the functions of this package return.
type Data struct {
	Data      MIMEMap
	Metadata  MIMEMap
	Transient MIMEMap
}

// Interfaces a value may implement to control how it renders. A type
// implements them by having the method; it need not import display.
type (
	// Renderer renders a value as a full bundle.
	Renderer interface{ Render() Data }
	// SimpleRenderer renders a value as a MIME map.
	SimpleRenderer interface{ SimpleRender() MIMEMap }
	// HTMLer renders a value as HTML.
	HTMLer interface{ HTML() string }
	// JavaScripter renders a value as JavaScript.
	JavaScripter interface{ JavaScript() string }
	// JPEGer renders a value as JPEG bytes.
	JPEGer interface{ JPEG() []byte }
	// JSONer renders a value as a JSON object.
	JSONer interface{ JSON() map[string]any }
	// Latexer renders a value as LaTeX.
	Latexer interface{ Latex() string }
	// Markdowner renders a value as Markdown.
	Markdowner interface{ Markdown() string }
	// PNGer renders a value as PNG bytes.
	PNGer interface{ PNG() []byte }
	// PDFer renders a value as PDF bytes.
	PDFer interface{ PDF() []byte }
	// SVGer renders a value as SVG.
	SVGer interface{ SVG() string }
)

// MakeData returns a bundle holding data under mimeType, with a text/plain
// fallback.
func MakeData(mimeType string, data any) Data {
	d := Data{Data: MIMEMap{mimeType: data}}
	if mimeType != MIMETypeText {
		d.Data[MIMETypeText] = plainFallback(mimeType, data)
	}
	return d
}

// MakeData3 returns a bundle holding data under mimeType and plaintext as its
// text/plain form.
func MakeData3(mimeType string, plaintext string, data any) Data {
	return Data{Data: MIMEMap{MIMETypeText: plaintext, mimeType: data}}
}

// MIME returns a bundle made of data and metadata as they are.
func MIME(data, metadata MIMEMap) Data {
	return Data{Data: data, Metadata: metadata}
}

// HTML returns an HTML bundle.
func HTML(html string) Data { return MakeData(MIMETypeHTML, html) }

// JavaScript returns a JavaScript bundle.
func JavaScript(js string) Data { return MakeData(MIMETypeJavaScript, js) }

// JPEG returns a bundle for JPEG-encoded bytes.
func JPEG(jpeg []byte) Data { return MakeData(MIMETypeJPEG, jpeg) }

// JSON returns a JSON bundle, shown by the front end as a tree.
func JSON(v map[string]any) Data { return MakeData(MIMETypeJSON, v) }

// Latex returns a LaTeX bundle, rendered as inline math.
func Latex(latex string) Data {
	return MakeData3(MIMETypeLatex, latex, "$"+strings.Trim(latex, "$")+"$")
}

// Math returns a LaTeX bundle rendered as display math.
func Math(latex string) Data {
	return MakeData3(MIMETypeLatex, latex, "$$"+strings.Trim(latex, "$")+"$$")
}

// Markdown returns a Markdown bundle.
func Markdown(md string) Data { return MakeData(MIMETypeMarkdown, md) }

// PDF returns a bundle for PDF bytes.
func PDF(pdf []byte) Data { return MakeData(MIMETypePDF, pdf) }

// PNG returns a bundle for PNG-encoded bytes.
func PNG(png []byte) Data { return MakeData(MIMETypePNG, png) }

// SVG returns an SVG bundle.
func SVG(svg string) Data { return MakeData(MIMETypeSVG, svg) }

// Image returns a PNG bundle of img, with its size as metadata. A nil image
// gives a text bundle saying so.
func Image(img image.Image) Data {
	if img == nil {
		return MakeData(MIMETypeText, "<nil image>")
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return MakeData(MIMETypeText, "display.Image: cannot encode PNG: "+err.Error())
	}
	b := img.Bounds()
	d := MakeData(MIMETypePNG, buf.Bytes())
	d.Data[MIMETypeText] = fmt.Sprintf("<image %dx%d>", b.Dx(), b.Dy())
	d.Metadata = MIMEMap{MIMETypePNG: MIMEMap{"width": b.Dx(), "height": b.Dy()}}
	return d
}

// Any returns a bundle of data under mimeType. Data may be a string, a
// []byte, an io.Reader or an io.WriterTo; an empty mimeType is detected
// from the bytes. Values that render themselves (see Auto) are rendered.
func Any(mimeType string, data any) Data {
	if d, ok := rich(data); ok {
		return d
	}
	switch x := data.(type) {
	case string:
		if mimeType == "" {
			mimeType = MIMETypeText
		}
		return MakeData(mimeType, x)
	case []byte:
		return bytesData(mimeType, x)
	case io.WriterTo:
		var buf bytes.Buffer
		if _, err := x.WriteTo(&buf); err != nil {
			return MakeData(MIMETypeText, "display.Any: "+err.Error())
		}
		return bytesData(mimeType, buf.Bytes())
	case io.Reader:
		b, err := io.ReadAll(x)
		if err != nil {
			return MakeData(MIMETypeText, "display.Any: "+err.Error())
		}
		return bytesData(mimeType, b)
	}
	return Render(data)
}

// Auto is Any with the MIME type detected from the data.
func Auto(data any) Data { return Any("", data) }

// File returns a bundle of the file at path, its MIME type detected when
// mimeType is empty.
func File(mimeType, path string) (Data, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Data{}, fmt.Errorf("display.File: %w", err)
	}
	return bytesData(mimeType, b), nil
}

func bytesData(mimeType string, b []byte) Data {
	if mimeType == "" {
		mimeType = http.DetectContentType(b)
		if i := strings.IndexByte(mimeType, ';'); i >= 0 {
			mimeType = mimeType[:i]
		}
	}
	if strings.HasPrefix(mimeType, "text/") || mimeType == MIMETypeSVG {
		return MakeData(mimeType, string(b))
	}
	return MakeData(mimeType, b)
}

// Render returns the richest bundle for v, with text/plain beside it: a
// Data as it is; otherwise through every rule of Renderers that applies,
// in order (Render, SimpleRender, PNG, JPEG, SVG, HTML, Markdown, Latex,
// JSON, JavaScript and PDF methods, an image.Image, a gonum *plot.Plot);
// anything else as text. A panic in a rendering method is reported in
// text/plain.
func Render(v any) (d Data) {
	if r, ok := rich(v); ok {
		return r
	}
	return Data{Data: MIMEMap{MIMETypeText: fmt.Sprint(v)}}
}

// RenderRule is one way a value renders.
type RenderRule struct {
	// Interface is the interface a value implements to render this way;
	// nil for a rule about a concrete type.
	Interface reflect.Type
	// MIME is the type the rule gives; "" for a whole bundle.
	MIME string
	// Render renders v, reporting whether the rule applies to it.
	Render func(v any) (Data, bool)
}

// method builds the rule of an interface with one method returning the
// representation of MIME type mime.
func method[I any](mime string, get func(I) any) RenderRule {
	return RenderRule{
		Interface: reflect.TypeOf((*I)(nil)).Elem(),
		MIME:      mime,
		Render: func(v any) (Data, bool) {
			x, ok := v.(I)
			if !ok {
				return Data{}, false
			}
			return Data{Data: MIMEMap{mime: get(x)}}, true
		},
	}
}

// Renderers are the rules Render applies, in order; the first to give a
// MIME type wins it. The golab kernel uses the same table: a value of a
// type declared in a notebook cell is handed to compiled code wrapped in
// the first of these interfaces its type implements, so that its methods
// are seen.
var Renderers = []RenderRule{
	{Interface: reflect.TypeOf((*Renderer)(nil)).Elem(), Render: func(v any) (Data, bool) {
		x, ok := v.(Renderer)
		if !ok {
			return Data{}, false
		}
		return x.Render(), true
	}},
	{Interface: reflect.TypeOf((*SimpleRenderer)(nil)).Elem(), Render: func(v any) (Data, bool) {
		x, ok := v.(SimpleRenderer)
		if !ok {
			return Data{}, false
		}
		return Data{Data: x.SimpleRender()}, true
	}},
	method(MIMETypePNG, func(x PNGer) any { return x.PNG() }),
	method(MIMETypeJPEG, func(x JPEGer) any { return x.JPEG() }),
	method(MIMETypeSVG, func(x SVGer) any { return x.SVG() }),
	method(MIMETypeHTML, func(x HTMLer) any { return x.HTML() }),
	method(MIMETypeMarkdown, func(x Markdowner) any { return x.Markdown() }),
	method(MIMETypeLatex, func(x Latexer) any { return x.Latex() }),
	method(MIMETypeJSON, func(x JSONer) any { return x.JSON() }),
	method(MIMETypeJavaScript, func(x JavaScripter) any { return x.JavaScript() }),
	method(MIMETypePDF, func(x PDFer) any { return x.PDF() }),
	{Interface: reflect.TypeOf((*image.Image)(nil)).Elem(), MIME: MIMETypePNG, Render: func(v any) (Data, bool) {
		img, ok := v.(image.Image)
		if !ok || img == nil {
			return Data{}, false
		}
		return Image(img), true
	}},
	{MIME: MIMETypePNG, Render: plotPNG},
}

// rich renders v through the rules of Renderers, reporting whether one
// applied.
func rich(v any) (d Data, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			d, ok = Data{Data: MIMEMap{MIMETypeText: fmt.Sprintf("<render of %T panicked: %v>", v, r)}}, true
		}
	}()
	if x, isData := v.(Data); isData {
		return x, true
	}
	d = Data{Data: MIMEMap{}}
	for _, r := range Renderers {
		if r.MIME != "" {
			if _, done := d.Data[r.MIME]; done {
				continue
			}
			// SVG only where there is no raster image: front ends prefer
			// SVG, so sending both would show the SVG and store every
			// figure twice.
			if r.MIME == MIMETypeSVG && (d.Data[MIMETypePNG] != nil || d.Data[MIMETypeJPEG] != nil) {
				continue
			}
		}
		got, applies := r.Render(v)
		if !applies {
			continue
		}
		if r.MIME != "" && empty(got.Data[r.MIME]) {
			continue // a rendering that produced nothing; text/plain says why
		}
		d = Merge(d, got)
	}
	if len(d.Data) == 0 {
		return Data{}, false
	}
	if _, has := d.Data[MIMETypeText]; !has {
		d.Data[MIMETypeText] = fmt.Sprint(v)
	}
	return d, true
}

// plotPNG renders a gonum plot as a 6×4 inch PNG at 96 dpi.
func plotPNG(v any) (Data, bool) {
	p, ok := v.(*plot.Plot)
	if !ok || p == nil {
		return Data{}, false
	}
	w, err := p.WriterTo(6*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return Data{Data: MIMEMap{MIMETypeText: "display: cannot draw the plot: " + err.Error()}}, true
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return Data{Data: MIMEMap{MIMETypeText: "display: cannot draw the plot: " + err.Error()}}, true
	}
	d := MakeData(MIMETypePNG, buf.Bytes())
	d.Data[MIMETypeText] = fmt.Sprintf("<plot %q>", p.Title.Text)
	return d, true
}

// empty reports a rendering that produced nothing, such as a figure whose
// PNG() returns nil after a drawing error; its text/plain says why.
func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []byte:
		return len(x) == 0
	case string:
		return x == ""
	}
	return false
}

// Merge returns a with the entries of b added; entries already in a win.
func Merge(a, b Data) Data {
	a.Data = mergeMap(a.Data, b.Data)
	a.Metadata = mergeMap(a.Metadata, b.Metadata)
	a.Transient = mergeMap(a.Transient, b.Transient)
	return a
}

func mergeMap(a, b MIMEMap) MIMEMap {
	if len(b) == 0 {
		return a
	}
	if a == nil {
		a = MIMEMap{}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			a[k] = v
		}
	}
	return a
}

func plainFallback(mimeType string, data any) string {
	switch x := data.(type) {
	case string:
		if mimeType == MIMETypeHTML || mimeType == MIMETypeSVG || mimeType == MIMETypeJavaScript {
			return fmt.Sprintf("<%s, %d bytes>", mimeType, len(x))
		}
		return x
	case []byte:
		return fmt.Sprintf("<%s, %d bytes>", mimeType, len(x))
	case map[string]any:
		if b, err := json.Marshal(x); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(data)
}

// ErrNoFrontend is returned when nothing can show output: the code does not
// run inside the golab kernel.
var ErrNoFrontend = frontend.ErrNoFrontend

// Display shows v in the running cell's output now. v is rendered as by
// Render.
func Display(v any) error { return publish(Render(v), "", false) }

// DisplayID shows v under the display id, so that Update(id, ...) can
// replace it in place later.
func DisplayID(id string, v any) error {
	if id == "" {
		return errors.New("display.DisplayID: empty display id (use NewID)")
	}
	return publish(Render(v), id, false)
}

// Update replaces every output shown under the display id with v.
func Update(id string, v any) error {
	if id == "" {
		return errors.New("display.Update: empty display id")
	}
	return publish(Render(v), id, true)
}

var idSeq atomic.Uint64

// NewID returns a fresh display id.
func NewID() string {
	return fmt.Sprintf("golab-display-%d-%d", os.Getpid(), idSeq.Add(1))
}

// Handle names one output that can be updated in place.
type Handle struct{ id string }

// Show displays v under a fresh display id and returns its handle.
func Show(v any) (*Handle, error) {
	h := &Handle{id: NewID()}
	return h, DisplayID(h.id, v)
}

// ID returns the handle's display id.
func (h *Handle) ID() string { return h.id }

// Update replaces the handle's output with v.
func (h *Handle) Update(v any) error { return Update(h.id, v) }

// ClearOutput clears the running cell's output. With wait set, the front end
// clears it only when the next output arrives, which avoids flicker in
// animations.
func ClearOutput(wait bool) error { return frontend.ClearOutput(wait) }

func publish(d Data, id string, update bool) error {
	return frontend.Display(frontend.Bundle{Data: d.Data, Metadata: d.Metadata, Transient: d.Transient, ID: id, Update: update})
}
