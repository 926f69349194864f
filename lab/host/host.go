// Package host is the seam between the lab and an interactive front end such
// as the golab Jupyter kernel. The lab never imports the kernel: the kernel
// registers itself here, and lab code asks for the running cell's context and
// for inline display through this package. Outside a kernel nothing is
// registered and the lab falls back to plain text.
package host

import (
	"context"
	"sync"
)

// Host is what a front end offers the lab while a cell runs.
type Host interface {
	// Context is the running cell's context. It is cancelled when the user
	// interrupts the cell.
	Context() context.Context
	// Display shows a MIME bundle inline in the running cell's output. Values
	// are strings (text/plain, text/html, image/svg+xml, ...) or []byte, which
	// the host base64-encodes (image/png). A non-empty displayID names the
	// display so that a later call with update set replaces it in place.
	Display(bundle map[string]any, displayID string, update bool) error
}

var (
	mu      sync.RWMutex
	current Host
)

// Set registers h as the current host; nil unregisters it.
func Set(h Host) {
	mu.Lock()
	current = h
	mu.Unlock()
}

// Current returns the registered host, or nil outside a front end.
func Current() Host {
	mu.RLock()
	defer mu.RUnlock()
	return current
}

// Context returns the running cell's context, or context.Background() when
// no host is registered.
func Context() context.Context {
	if h := Current(); h != nil {
		if ctx := h.Context(); ctx != nil {
			return ctx
		}
	}
	return context.Background()
}

// CanDisplay reports whether inline display is available.
func CanDisplay() bool { return Current() != nil }
