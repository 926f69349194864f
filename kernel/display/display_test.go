package display

import "testing"

type figure struct{ png []byte }

func (f figure) PNG() []byte    { return f.png }
func (f figure) SVG() string    { return "<svg/>" }
func (f figure) String() string { return "a figure" }

func TestRenderPrefersRasterOverSVG(t *testing.T) {
	d := Render(figure{png: []byte{0x89, 'P', 'N', 'G'}})
	if _, ok := d.Data[MIMETypePNG]; !ok {
		t.Fatalf("no image/png in %v", d.Data)
	}
	if _, ok := d.Data[MIMETypeSVG]; ok {
		t.Errorf("image/svg+xml sent beside image/png: front ends would show the SVG")
	}
	if d.Data[MIMETypeText] != "a figure" {
		t.Errorf("text/plain = %v", d.Data[MIMETypeText])
	}
}

func TestRenderSkipsEmptyOutput(t *testing.T) {
	// A figure that failed to draw returns a nil PNG: no broken image, and
	// its SVG stands in.
	d := Render(figure{})
	if _, ok := d.Data[MIMETypePNG]; ok {
		t.Errorf("empty image/png kept: %v", d.Data)
	}
	if d.Data[MIMETypeSVG] != "<svg/>" {
		t.Errorf("SVG fallback missing: %v", d.Data)
	}
}
