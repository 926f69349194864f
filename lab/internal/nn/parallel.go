package nn

import (
	"runtime"
	"sync"
)

// parallel splits [0, n) into contiguous chunks, one per worker, and runs
// f(w, lo, hi) for each on its own goroutine; w numbers the worker, for its
// scratch buffers. The caller's goroutine does chunk 0. Nothing here may
// depend on how many workers there are: kernels that reduce across items
// do so over fixed shards (see shards) in a fixed order.
func parallel(n int, f func(w, lo, hi int)) {
	nw := workers(n)
	if nw <= 1 {
		if n > 0 {
			f(0, 0, n)
		}
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var caught any
	wg.Add(nw - 1)
	for w := 1; w < nw; w++ {
		go func() {
			// A panic on a worker goroutine would kill the whole process
			// (a notebook's kernel); hand it to the caller instead, which
			// can recover it.
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					caught = r
					mu.Unlock()
				}
				wg.Done()
			}()
			f(w, w*n/nw, (w+1)*n/nw)
		}()
	}
	f(0, 0, n/nw)
	wg.Wait()
	if caught != nil {
		panic(caught)
	}
}

// workers is how many goroutines parallel uses for n items.
func workers(n int) int { return max(1, min(runtime.GOMAXPROCS(0), n)) }

// parallelElems is parallel for element-wise kernels over n floats: it
// stays on one goroutine below a size where a second one does not pay.
func parallelElems(n int, f func(lo, hi int)) {
	const minChunk = 1 << 15
	chunks := min(workers(n), max(1, n/minChunk))
	if chunks <= 1 {
		f(0, n)
		return
	}
	parallel(chunks, func(_, lo, hi int) { f(lo*n/chunks, hi*n/chunks) })
}

// maxShards bounds the number of partial sums a batch reduction keeps.
const maxShards = 4

// shards splits a batch of n items into the fixed shards that reductions
// over the batch use: shard s holds items [s·n/k, (s+1)·n/k). The split
// depends only on n, so reduced sums are the same bit for bit whatever the
// number of threads.
func shards(n int) int { return max(1, min(n, maxShards)) }

// perWorker returns buf resized to nw buffers of n floats each, keeping
// the old ones where they are large enough. Call it before parallel.
func perWorker(buf [][]float32, nw, n int) [][]float32 {
	for len(buf) < nw {
		buf = append(buf, nil)
	}
	for w := range nw {
		buf[w] = grow(buf[w], n)
	}
	return buf
}

func grow(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}
