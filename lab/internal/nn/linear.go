package nn

// Linear computes fully connected layers of a fixed shape: y = x·wᵀ + b with
// x N×In, w Out×In (PyTorch's layout), b of Out and y N×Out.
//
// Each product is split into fixed column blocks that run in parallel. The
// blocks do not depend on the number of threads, so neither do the results.
type Linear struct {
	N, In, Out int
}

// linBlock is the width of the column blocks Linear splits its products into.
const linBlock = 128

// blocks runs f over [0, n) in fixed blocks of linBlock, in parallel.
func blocks(n int, f func(lo, hi int)) {
	nb := (n + linBlock - 1) / linBlock
	parallel(nb, func(_, blo, bhi int) {
		for b := blo; b < bhi; b++ {
			f(b*linBlock, min(n, (b+1)*linBlock))
		}
	})
}

// Forward computes y = x·wᵀ + b; b may be nil.
func (l *Linear) Forward(y, x, w, b []float32) {
	blocks(l.Out, func(lo, hi int) {
		sgemm(false, true, l.N, hi-lo, l.In, 1, x, l.In, w[lo*l.In:], l.In, 0, y[lo:], l.Out)
		if b != nil {
			for n := range l.N {
				add(y[n*l.Out+lo:n*l.Out+hi], b[lo:hi])
			}
		}
	})
}

// Backward computes dx = dy·w, dw = dyᵀ·x and db = Σₙ dy from dy. Any of
// dx, dw, db may be nil to skip it.
func (l *Linear) Backward(dx, dw, db, dy, x, w []float32) {
	if dx != nil {
		blocks(l.In, func(lo, hi int) {
			sgemm(false, false, l.N, hi-lo, l.Out, 1, dy, l.Out, w[lo:], l.In, 0, dx[lo:], l.In)
		})
	}
	if dw != nil || db != nil {
		blocks(l.Out, func(lo, hi int) {
			if dw != nil {
				sgemm(true, false, hi-lo, l.In, l.N, 1, dy[lo:], l.Out, x, l.In, 0, dw[lo*l.In:], l.In)
			}
			if db != nil {
				s := db[lo:hi]
				clear(s)
				for n := range l.N {
					add(s, dy[n*l.Out+lo:n*l.Out+hi])
				}
			}
		})
	}
}
