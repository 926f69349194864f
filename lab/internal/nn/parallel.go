package nn

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallel runs f(w, lo, hi) over [0, n) on up to GOMAXPROCS goroutines,
// the caller's among them; w numbers the goroutine, for its scratch
// buffers. The items are handed out in chunks as the goroutines come for
// them, rather than split evenly up front: on a shared machine one core
// is often slower for a while, and a fixed split left the other waiting
// for it at every layer. A goroutine may so get several ranges, in any
// order. Nothing here may depend on which goroutine runs which items or
// how many there are: kernels that reduce across items do so over fixed
// shards (see shards) in a fixed order.
func parallel(n int, f func(w, lo, hi int)) {
	nw := workers(n)
	if nw <= 1 {
		if n > 0 {
			f(0, 0, n)
		}
		return
	}
	// Chunks of about an eighth of a goroutine's share: small enough to
	// even out, large enough that taking one costs nothing.
	grain := max(1, n/(8*nw))
	var next atomic.Int64
	run := func(w int) {
		for {
			hi := int(next.Add(int64(grain)))
			lo := hi - grain
			if lo >= n {
				return
			}
			f(w, lo, min(hi, n))
		}
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
			run(w)
		}()
	}
	run(0)
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
