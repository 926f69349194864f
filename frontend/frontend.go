// Package frontend is the seam between compiled Go code and an interactive
// front end such as the golab Jupyter kernel: the running cell's context
// (cancelled when the user interrupts the cell), inline display of MIME
// bundles, with a display id that later updates replace in place, and
// clearing the cell's output.
//
// It imports nothing of golab, so the lab, its figures and the kernel's
// display package all talk to the front end through it without importing
// one another. The kernel registers itself with Set when it starts;
// outside a front end nothing is registered, Context is
// context.Background, and Display returns ErrNoFrontend.
package frontend

import (
	"context"
	"errors"
	"sync"
)

// Bundle is one output: a value in several representations.
type Bundle struct {
	// Data maps a MIME type to the value's representation: a string
	// (text/plain, text/html, image/svg+xml, ...), a []byte, which the
	// front end base64-encodes (image/png), or a JSON value.
	Data map[string]any
	// Metadata, such as an image's width and height, per MIME type.
	Metadata map[string]any
	// Transient data that is not saved with the notebook; the front end
	// sets display_id from ID.
	Transient map[string]any
	// ID names the output, so that a later bundle with the same ID and
	// Update set replaces it in place. Empty for an output never updated.
	ID string
	// Update replaces every output shown under ID instead of adding one.
	Update bool
}

// Frontend is what a front end offers while a cell runs.
type Frontend interface {
	// Context is the running cell's context, cancelled when the user
	// interrupts the cell; nil outside a cell.
	Context() context.Context
	// Display shows a bundle in the running cell's output, or updates the
	// outputs shown under its ID.
	Display(b Bundle) error
	// ClearOutput clears the running cell's output; with wait, when the
	// next output arrives, which avoids flicker.
	ClearOutput(wait bool) error
}

// ErrNoFrontend is returned when nothing can show output: the code does not
// run inside a front end such as the golab kernel.
var ErrNoFrontend = errors.New("no notebook front end (run this inside the golab Jupyter kernel)")

var (
	mu      sync.RWMutex
	current Frontend
)

// Set registers f as the front end of this process (nil for none) and
// returns a function that restores the one before. The golab kernel calls
// it once at start; tests use it to stand in for a front end.
func Set(f Frontend) (restore func()) {
	mu.Lock()
	prev := current
	current = f
	mu.Unlock()
	return func() {
		mu.Lock()
		current = prev
		mu.Unlock()
	}
}

// Current returns the registered front end, or nil.
func Current() Frontend {
	mu.RLock()
	defer mu.RUnlock()
	return current
}

// Context returns the running cell's context, or context.Background()
// outside a front end or a cell.
func Context() context.Context {
	if f := Current(); f != nil {
		if ctx := f.Context(); ctx != nil {
			return ctx
		}
	}
	return context.Background()
}

// Display shows b through the registered front end.
func Display(b Bundle) error {
	f := Current()
	if f == nil {
		return ErrNoFrontend
	}
	if b.Update && b.ID == "" {
		return errors.New("frontend: an update needs the display id of the output it replaces")
	}
	return f.Display(b)
}

// ClearOutput clears the running cell's output through the registered
// front end.
func ClearOutput(wait bool) error {
	f := Current()
	if f == nil {
		return ErrNoFrontend
	}
	return f.ClearOutput(wait)
}
