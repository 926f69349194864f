package nn

// im2col convolutions on the Winograd engine's micro-kernels, for the
// layers the engine leaves out but whose matrix products are large and
// regular: deep filters (C·R·S a multiple of the kernels' nr) on small
// outputs, DropoutCNN's conv6 (256 channels, 5×5 to 3×3) and its input
// gradient. Conv uses them when OpenBLAS is not loaded: against
// OpenBLAS's SkylakeX sgemm the products alone run even (about 105 GFLOP/s
// on one Sapphire Rapids core) and the whole passes 15 % slower, against
// the pure-Go sgemm twice as fast. The whole batch is unrolled into one matrix (im2col, one
// column per output pixel of every image, padded with zero columns to a
// multiple of nr), and each product runs blocked: steps in chunks that
// keep a panel of B in L1 and a block of A in L2 (kernelProduct). Every entry of a product is summed by one
// kernel call in a fixed order, so results do not depend on the number of
// threads.

// useGemmConv reports whether shape s (not on the Winograd engine) runs on
// the micro-kernels: stride 1, output channels and unrolled rows in whole
// panels, and deep enough products to pay.
func useGemmConv(s ConvShape, kn *w4Kernels) bool {
	crs := s.C * s.R * s.S
	return wino4On && kn != nil && s.Stride == 1 && s.K%kn.nr == 0 && crs%kn.nr == 0 && crs >= 256
}

// gemmConv holds the geometry of one such convolution.
type gemmConv struct {
	s      ConvShape
	kn     *w4Kernels
	p      int // output pixels per image
	np, ld int // output pixels of the batch, and the unrolled matrix's width: np rounded up to nr
	crs    int
}

func newGemmConv(s ConvShape, kn *w4Kernels) *gemmConv {
	g := &gemmConv{s: s, kn: kn, p: s.OutH() * s.OutW(), crs: s.C * s.R * s.S}
	g.np = s.N * g.p
	g.ld = (g.np + kn.nr - 1) / kn.nr * kn.nr
	return g
}

// unroll writes the batch's im2col matrix, crs × ld, zero past column np.
func (g *gemmConv) unroll(col, x []float32) {
	s := &g.s
	in := s.C * s.H * s.W
	parallel(s.N, func(_, lo, hi int) {
		for n := lo; n < hi; n++ {
			im2col(col[n*g.p:], g.ld, x[n*in:(n+1)*in], s)
		}
	})
	if g.np < g.ld {
		for r := range g.crs {
			clear(col[r*g.ld+g.np : (r+1)*g.ld])
		}
	}
}

// gatherDy writes dy as a K × ld matrix, channel by channel, zero past
// column np.
func (g *gemmConv) gatherDy(dyg, dy []float32) {
	s := &g.s
	oh, ow := s.OutH(), s.OutW()
	out := s.K * g.p
	parallel(s.N, func(_, lo, hi int) {
		for n := lo; n < hi; n++ {
			gather(dyg[n*g.p:], g.ld, dy[n*out:(n+1)*out], oh, ow, ow)
		}
	})
	if g.np < g.ld {
		for k := range s.K {
			clear(dyg[k*g.ld+g.np : (k+1)*g.ld])
		}
	}
}

// forward computes y = act(conv(x, w) + b): y' = W·col, K × ld, then each
// image's columns into y with the bias and activation.
func (g *gemmConv) forward(y, x, w, b []float32, act bool, slope float32) {
	s := &g.s
	col := getScratch(g.crs * g.ld)
	yb := getScratch(s.K * g.ld)
	defer putScratch(col, yb)
	g.unroll(col, x)
	kernelProduct(g.kn, yb, g.ld, w, g.crs, false, col, g.ld, s.K, g.crs, g.ld, false)
	oh, ow := s.OutH(), s.OutW()
	out := s.K * g.p
	parallel(s.N, func(_, lo, hi int) {
		for n := lo; n < hi; n++ {
			biasAct(y[n*out:(n+1)*out], yb[n*g.p:], g.ld, b, oh, ow, ow, act, slope)
		}
	})
}

// backwardData computes dx: dcol = Wᵀ·dy', crs × ld, folded back into the
// images (col2im).
func (g *gemmConv) backwardData(dx, dy, w []float32) {
	s := &g.s
	dyg := getScratch(s.K * g.ld)
	dcol := getScratch(g.crs * g.ld)
	defer putScratch(dyg, dcol)
	g.gatherDy(dyg, dy)
	kernelProduct(g.kn, dcol, g.ld, w, g.crs, true, dyg, g.ld, g.crs, s.K, g.ld, false)
	in := s.C * s.H * s.W
	parallel(s.N, func(_, lo, hi int) {
		for n := lo; n < hi; n++ {
			col2im(dx[n*in:(n+1)*in], dcol[n*g.p:], g.ld, s)
		}
	})
}

// backwardFilter computes dw = dy'·colᵀ (K × crs) and db (nil to skip).
func (g *gemmConv) backwardFilter(dw, db, dy, x []float32) {
	s := &g.s
	col := getScratch(g.crs * g.ld)
	colT := getScratch(g.ld * g.crs)
	dyg := getScratch(s.K * g.ld)
	defer putScratch(col, colT, dyg)
	g.unroll(col, x)
	parallel(g.crs, func(_, lo, hi int) {
		transposeBlock(colT[lo:], g.crs, col[lo*g.ld:], g.ld, hi-lo, g.ld)
	})
	g.gatherDy(dyg, dy)
	kernelProduct(g.kn, dw, g.crs, dyg, g.ld, false, colT, g.crs, s.K, g.ld, g.crs, false)
	if db != nil {
		out := s.K * g.p
		parallel(s.K, func(_, lo, hi int) {
			for k := lo; k < hi; k++ {
				var sum float32
				for n := range s.N {
					sum += sum32(dy[n*out+k*g.p : n*out+(k+1)*g.p])
				}
				db[k] = sum
			}
		})
	}
}
