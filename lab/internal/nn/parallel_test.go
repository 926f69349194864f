package nn

import (
	"runtime"
	"testing"
)

// A panic on a worker goroutine reaches the caller, where it can be
// recovered, instead of killing the process.
func TestParallelPanicReachesCaller(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want the worker's panic", r)
		}
	}()
	parallel(4, func(w, lo, hi int) {
		if w == 1 {
			panic("boom")
		}
	})
	t.Fatal("parallel returned normally")
}
