package nn

import "sync"

// A pool of float32 buffers for the kernels' temporary data (the
// Winograd engine's transformed filters, blocks and strips). Kept per
// convolution, these would add up over the layers and over the graphs a
// model keeps (training, evaluation, the tail batch of an epoch) to
// hundreds of MB; shared, the pool holds about what the largest single
// pass needs. Buffers come back with arbitrary contents.
var scratch scratchPool

type scratchPool struct {
	mu   sync.Mutex
	free [][]float32
}

// remove takes free buffer i out of the pool; the caller holds mu.
func (p *scratchPool) remove(i int) {
	last := len(p.free) - 1
	p.free[i] = p.free[last]
	p.free[last] = nil
	p.free = p.free[:last]
}

// scratchKeep bounds the buffers the pool keeps: a pass takes up to about
// a dozen.
const scratchKeep = 24

// getScratch returns a buffer of n floats, contents undefined: the
// smallest free one that is large enough, else a new one.
func getScratch(n int) []float32 {
	scratch.mu.Lock()
	best := -1
	for i, b := range scratch.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(scratch.free[best])) {
			best = i
		}
	}
	if best < 0 {
		// None is large enough: drop the largest of the smaller ones, which
		// the new buffer replaces, so that the pool does not keep both.
		for i, b := range scratch.free {
			if best < 0 || cap(b) > cap(scratch.free[best]) {
				best = i
			}
		}
		if best >= 0 {
			scratch.remove(best)
		}
		scratch.mu.Unlock()
		return make([]float32, n)
	}
	b := scratch.free[best]
	scratch.remove(best)
	scratch.mu.Unlock()
	return b[:n]
}

// putScratch returns buffers to the pool, dropping the smallest ones past
// scratchKeep.
func putScratch(bufs ...[]float32) {
	scratch.mu.Lock()
	defer scratch.mu.Unlock()
	for _, b := range bufs {
		if cap(b) == 0 {
			continue
		}
		scratch.free = append(scratch.free, b)
		if len(scratch.free) > scratchKeep {
			small := 0
			for i, f := range scratch.free {
				if cap(f) < cap(scratch.free[small]) {
					small = i
				}
			}
			scratch.remove(small)
		}
	}
}

// getScratches returns nw buffers of n floats each.
func getScratches(nw, n int) [][]float32 {
	bufs := make([][]float32, nw)
	for i := range bufs {
		bufs[i] = getScratch(n)
	}
	return bufs
}

// Borrow lends a buffer of n floats, contents undefined, from the pool the
// kernels take their temporary data from; Return gives it back. A layer's
// own temporaries (a fused layer's activations before its pooling, and
// their gradient) come from here too: they then share memory with every
// other pass, where buffers kept per layer add up over a model's graphs.
func Borrow(n int) []float32 { return getScratch(n) }

// Return gives buffers from Borrow back to the pool; the caller must not
// use them any more.
func Return(bufs ...[]float32) { putScratch(bufs...) }
