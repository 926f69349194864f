package nn

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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

// Every item is run once, whether the team runs the call, a call from
// inside f, or calls from several goroutines at once, which start
// goroutines of their own.
func TestParallelTeamCoversItems(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 3 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	}
	check := func(n int, inner bool) {
		hits := make([]atomic.Int32, n)
		parallel(n, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				hits[i].Add(1)
				if inner {
					parallel(3, func(_, lo, hi int) {})
				}
			}
		})
		for i := range hits {
			if h := hits[i].Load(); h != 1 {
				t.Errorf("n %d inner %v: item %d ran %d times", n, inner, i, h)
				return
			}
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for n := range 200 {
				check(n+g, n%7 == 0)
			}
		})
	}
	wg.Wait()
}

// A member whose f ends its goroutine (runtime.Goexit) still finishes its
// part of the call, and the team keeps working.
func TestParallelTeamSurvivesGoexit(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	for range 3 {
		var exited atomic.Bool
		parallel(64, func(w, lo, hi int) {
			if w != 0 && exited.CompareAndSwap(false, true) {
				runtime.Goexit()
			}
			time.Sleep(10 * time.Microsecond)
		})
	}
	var sum atomic.Int64
	parallel(100, func(_, lo, hi int) { sum.Add(int64(hi - lo)) })
	if sum.Load() != 100 {
		t.Fatalf("ran %d of 100 items", sum.Load())
	}
}
