package nn

// Linear computes fully connected layers of a fixed shape: y = x·wᵀ + b with
// x N×In, w Out×In (PyTorch's layout), b of Out and y N×Out.
//
// Where the CPU has the Winograd engine's micro-kernels, the forward
// products run on them (kernelProduct), and with AVX-512 the backward ones
// too (panelProduct, kernelProduct); else on sgemm, split into fixed
// column blocks that run in parallel. Neither split depends on the number
// of threads, so neither do the results.
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

// linearKernelsOn enables the micro-kernels for linear layers; tests
// and benchmarks turn it off to compare with sgemm.
var linearKernelsOn = true

// kernels returns the micro-kernels for l's products whose columns
// number n, a multiple of their nr (the widest that fits), or nil.
func (l *Linear) kernels(n int) *w4Kernels {
	kn := w4Active()
	if !linearKernelsOn || kn == nil {
		return nil
	}
	if wide := w4KernelsAVX512Wide; kn == w4KernelsAVX512 && wide != nil && n%wide.nr == 0 {
		return wide
	}
	if n%kn.nr == 0 {
		return kn
	}
	return nil
}

// Forward computes y = x·wᵀ + b; b may be nil.
func (l *Linear) Forward(y, x, w, b []float32) {
	// Below 64 outputs (the last layer, 10 scores) sgemm is as fast.
	if kn := w4Active(); kn != nil && l.Out >= 64 && l.kernels(kn.nr) != nil {
		// yᵀ = w·xᵀ, the batch as the products' columns, padded to a
		// multiple of nr: worth it when the padding is at most a quarter.
		if np := (l.N + kn.nr - 1) / kn.nr * kn.nr; 4*np <= 5*l.N {
			l.forwardKernels(kn, np, y, x, w, b)
			return
		}
	}
	blocks(l.Out, func(lo, hi int) {
		sgemm(false, true, l.N, hi-lo, l.In, 1, x, l.In, w[lo*l.In:], l.In, 0, y[lo:], l.Out)
		if b != nil {
			for n := range l.N {
				add(y[n*l.Out+lo:n*l.Out+hi], b[lo:hi])
			}
		}
	})
}

// forwardKernels is Forward on kernels kn, with the batch padded to np.
func (l *Linear) forwardKernels(kn *w4Kernels, np int, y, x, w, b []float32) {
	xt := getScratch(l.In * np)
	yt := getScratch(l.Out * np)
	defer putScratch(xt, yt)
	parallel((l.In+linBlock-1)/linBlock, func(_, lo, hi int) {
		i0, i1 := lo*linBlock, min(l.In, hi*linBlock)
		transposeBlock(xt[i0*np:], np, x[i0:], l.In, l.N, i1-i0)
		for i := i0; i < i1; i++ {
			clear(xt[i*np+l.N : (i+1)*np])
		}
	})
	kernelProduct(kn, yt, np, w, l.In, false, xt, np, l.Out, l.In, np, false)
	transposeBlock(y, l.Out, yt, np, l.Out, l.N)
	if b != nil {
		for n := range l.N {
			add(y[n*l.Out:(n+1)*l.Out], b)
		}
	}
}

// Backward computes dx = dy·w, dw = dyᵀ·x and db = Σₙ dy from dy. Any of
// dx, dw, db may be nil to skip it.
func (l *Linear) Backward(dx, dw, db, dy, x, w []float32) {
	// With AVX2's 6×16 kernel the backward products run no faster than
	// OpenBLAS's (BenchmarkLinear with GOLAB_ISA=avx2 and
	// OPENBLAS_CORETYPE=Haswell: ImprovedCNN's first layer's input
	// gradient 3.33 against 2.78 ms with its weights out of the cache).
	if kn := l.kernels(l.In); kn != nil && kn.nr >= 32 {
		l.backwardKernels(kn, dx, dw, db, dy, x, w)
		return
	}
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

// backwardKernels is Backward on kernels kn, whose nr divides In.
func (l *Linear) backwardKernels(kn *w4Kernels, dx, dw, db, dy, x, w []float32) {
	if dx != nil {
		panelProduct(kn, dx, dy, l.Out, w, l.In, l.N, l.Out, l.In)
	}
	if dw != nil {
		kernelProduct(kn, dw, l.In, dy, l.Out, true, x, l.In, l.Out, l.N, l.In, false)
	}
	if db != nil {
		clear(db)
		for n := range l.N {
			add(db, dy[n*l.Out:(n+1)*l.Out])
		}
	}
}
