package session

import (
	"context"
	"testing"

	"golab/frontend"
)

type recordingHost struct{ shown []map[string]any }

func (h *recordingHost) Context() context.Context { return context.Background() }

func (h *recordingHost) Display(b frontend.Bundle) error {
	h.shown = append(h.shown, b.Data)
	return nil
}

func (h *recordingHost) ClearOutput(bool) error { return nil }

// TestDisplayCallsSeeCellMethods checks that display.Display and the
// global Display render a value of a type declared in a cell through its
// PNG method, which compiled code cannot see by itself.
func TestDisplayCallsSeeCellMethods(t *testing.T) {
	h := &recordingHost{}
	defer frontend.Set(h)()
	ts := newTestSession(t)
	ts.ok("type Chart struct{}\nfunc (Chart) PNG() []byte { return []byte{1} }\nfunc (Chart) String() string { return \"chart\" }", "")
	ts.ok("Display(Chart{})", "")
	ts.ok("display.Display(Chart{})", "")
	ts.ok("c := Chart{}\ndisplay.Display(&c)", "")
	if len(h.shown) != 3 {
		t.Fatalf("%d displays", len(h.shown))
	}
	for i, b := range h.shown {
		if _, ok := b["image/png"]; !ok {
			t.Errorf("display %d has no image/png: %v", i, b)
		}
	}
}
