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
	"strings"
	"sync/atomic"

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
// Data as it is; a Renderer, a SimpleRenderer or a value with PNG(),
// JPEG(), SVG(), HTML(), Markdown(), Latex(), JSON(), JavaScript() or PDF()
// methods through those methods; an image.Image as PNG; anything else as
// text. A panic in a rendering method is reported in text/plain.
func Render(v any) (d Data) {
	if r, ok := rich(v); ok {
		return r
	}
	return Data{Data: MIMEMap{MIMETypeText: fmt.Sprint(v)}}
}

// rich renders v through the first rules of Render, reporting whether one
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
	if x, is := v.(Renderer); is {
		d = Merge(d, x.Render())
	}
	if x, is := v.(SimpleRenderer); is {
		d = Merge(d, Data{Data: x.SimpleRender()})
	}
	methods := []struct {
		mime string
		get  func() (any, bool)
	}{
		{MIMETypePNG, func() (any, bool) { x, is := v.(PNGer); return call(is, func() any { return x.PNG() }) }},
		{MIMETypeJPEG, func() (any, bool) { x, is := v.(JPEGer); return call(is, func() any { return x.JPEG() }) }},
		{MIMETypeSVG, func() (any, bool) { x, is := v.(SVGer); return call(is, func() any { return x.SVG() }) }},
		{MIMETypeHTML, func() (any, bool) { x, is := v.(HTMLer); return call(is, func() any { return x.HTML() }) }},
		{MIMETypeMarkdown, func() (any, bool) { x, is := v.(Markdowner); return call(is, func() any { return x.Markdown() }) }},
		{MIMETypeLatex, func() (any, bool) { x, is := v.(Latexer); return call(is, func() any { return x.Latex() }) }},
		{MIMETypeJSON, func() (any, bool) { x, is := v.(JSONer); return call(is, func() any { return x.JSON() }) }},
		{MIMETypeJavaScript, func() (any, bool) { x, is := v.(JavaScripter); return call(is, func() any { return x.JavaScript() }) }},
		{MIMETypePDF, func() (any, bool) { x, is := v.(PDFer); return call(is, func() any { return x.PDF() }) }},
	}
	for _, m := range methods {
		if _, done := d.Data[m.mime]; done {
			continue
		}
		// SVG only where there is no raster image: front ends prefer SVG,
		// so sending both would show the SVG and store every figure twice.
		if m.mime == MIMETypeSVG && (d.Data[MIMETypePNG] != nil || d.Data[MIMETypeJPEG] != nil) {
			continue
		}
		if val, is := m.get(); is && !empty(val) {
			d.Data[m.mime] = val
		}
	}
	if img, is := v.(image.Image); is && img != nil {
		if _, done := d.Data[MIMETypePNG]; !done {
			d = Merge(d, Image(img))
		}
	}
	if len(d.Data) == 0 {
		return Data{}, false
	}
	if _, has := d.Data[MIMETypeText]; !has {
		d.Data[MIMETypeText] = fmt.Sprint(v)
	}
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

func call(ok bool, f func() any) (any, bool) {
	if !ok {
		return nil, false
	}
	return f(), true
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
