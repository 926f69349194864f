package frontend

import (
	"context"
	"errors"
	"testing"
)

type fake struct {
	ctx     context.Context
	shown   []Bundle
	cleared int
}

func (f *fake) Context() context.Context { return f.ctx }
func (f *fake) Display(b Bundle) error   { f.shown = append(f.shown, b); return nil }
func (f *fake) ClearOutput(bool) error   { f.cleared++; return nil }

func TestNoFrontend(t *testing.T) {
	if Current() != nil {
		t.Fatal("a front end is registered in a plain test")
	}
	if Context() != context.Background() {
		t.Error("Context outside a front end is not context.Background()")
	}
	if err := Display(Bundle{Data: map[string]any{"text/plain": "x"}}); !errors.Is(err, ErrNoFrontend) {
		t.Errorf("Display: %v", err)
	}
	if err := ClearOutput(false); !errors.Is(err, ErrNoFrontend) {
		t.Errorf("ClearOutput: %v", err)
	}
}

func TestSetRestores(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fake{ctx: ctx}
	restore := Set(f)
	if Current() != f || Context() != ctx {
		t.Fatal("Set did not register the front end")
	}
	if err := Display(Bundle{ID: "a", Update: true, Data: map[string]any{"text/plain": "x"}}); err != nil || len(f.shown) != 1 {
		t.Errorf("Display: %v, %d shown", err, len(f.shown))
	}
	if err := Display(Bundle{Update: true}); err == nil {
		t.Error("an update without an id was accepted")
	}
	if err := ClearOutput(true); err != nil || f.cleared != 1 {
		t.Errorf("ClearOutput: %v", err)
	}
	inner := Set(&fake{})
	inner()
	if Current() != f {
		t.Error("the inner restore did not bring back the outer front end")
	}
	restore()
	if Current() != nil {
		t.Error("restore left a front end registered")
	}
}
