//go:build cgo && !purego

package blas

import (
	"strings"
	"testing"
)

func TestMissingOpenBLASFallsBack(t *testing.T) {
	defer func(c func() []string) { candidates = c }(candidates)
	candidates = func() []string { return []string{"/nonexistent/libopenblas.so.0"} }
	_, err := loadOpenBLAS()
	if err == nil || !strings.Contains(err.Error(), "GOLAB_OPENBLAS") {
		t.Fatalf("loadOpenBLAS with no library: err = %v, want one that says how to point at it", err)
	}
	// Sgemm still works, on pure Go.
	c := make([]float32, 1)
	run(goBackend{}, false, false, 1, 1, 2, 1, []float32{1, 2}, 2, []float32{3, 4}, 1, 0, c, 1)
	if c[0] != 11 {
		t.Fatalf("pure Go fallback: 1·3+2·4 = %v", c[0])
	}
}
