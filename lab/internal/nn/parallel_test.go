package nn

import (
	"runtime"
	"sync"
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
	// The caller's goroutine waits for a worker to take an item, which
	// panics; work is handed out as the goroutines ask, so without the wait
	// the caller could take every item itself.
	taken := make(chan struct{}, 1)
	var wait sync.Once
	parallel(4, func(w, lo, hi int) {
		if w != 0 {
			taken <- struct{}{}
			panic("boom")
		}
		wait.Do(func() { <-taken })
	})
	t.Fatal("parallel returned normally")
}
