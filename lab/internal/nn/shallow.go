package nn

// The forward pass of convolutions with few input taps (C·R·S, 27 for the
// first layer of a network on RGB images) on the Winograd engine's
// micro-kernels. Their products are thin: OpenBLAS's sgemm ran CNNModel's
// first layer at 30 GFLOP/s on two threads, a tenth of the Winograd
// layers. Here each chunk of images is unrolled (im2col) into a strip of
// the cache, taps × pixels, and multiplied by the filters panel by panel
// of nr pixels: the filters (K × taps) stay in L1, every output is one
// kernel call's sum in a fixed order, so results do not depend on the
// number of threads. The gradients keep the paths they had: the first
// layer's input gradient is not needed, and its filter gradient is a long
// reduction that sgemm handles well.

// shallowMaxTaps bounds C·R·S for the shallow path.
const shallowMaxTaps = 64

// useShallow reports whether the forward pass of shape s runs on the
// micro-kernels kn as a shallow product: few taps, filters in whole
// panels of the kernels' rows.
func useShallow(s ConvShape, kn *w4Kernels) bool {
	return wino4On && kn != nil && s.C*s.R*s.S <= shallowMaxTaps && s.K%kn.nr == 0
}

// shallowConv holds the geometry of one such convolution.
type shallowConv struct {
	s    ConvShape
	kn   *w4Kernels
	taps int // C·R·S
	p    int // output pixels per image
	imgs int // images per chunk: enough pixels for a few hundred columns
	ld   int // a chunk's columns: imgs·p rounded up to nr
}

func newShallowConv(s ConvShape, kn *w4Kernels) *shallowConv {
	g := &shallowConv{s: s, kn: kn, taps: s.C * s.R * s.S, p: s.OutH() * s.OutW()}
	g.imgs = min(s.N, max(1, 512/g.p))
	g.ld = (g.imgs*g.p + kn.nr - 1) / kn.nr * kn.nr
	return g
}

// forward computes y = act(conv(x, w) + b).
func (g *shallowConv) forward(y, x, w, b []float32, act bool, slope float32) {
	s, kn := &g.s, g.kn
	// The kernel reads the filters in whole groups of mr rows.
	rows := (s.K + kn.mr - 1) / kn.mr * kn.mr
	wp := getScratch(rows * g.taps)
	copy(wp, w[:s.K*g.taps])
	clear(wp[s.K*g.taps:])
	chunks := (s.N + g.imgs - 1) / g.imgs
	nw := workers(chunks)
	cols, outs := getScratches(nw, g.taps*g.ld), getScratches(nw, s.K*g.ld)
	defer func() {
		putScratch(wp)
		putScratch(cols...)
		putScratch(outs...)
	}()
	in, out := s.C*s.H*s.W, s.K*g.p
	oh, ow := s.OutH(), s.OutW()
	nr := kn.nr
	parallel(chunks, func(wk, lo, hi int) {
		col, prod := cols[wk], outs[wk]
		for ch := lo; ch < hi; ch++ {
			n0, n1 := ch*g.imgs, min(s.N, (ch+1)*g.imgs)
			for n := n0; n < n1; n++ {
				im2col(col[(n-n0)*g.p:], g.ld, x[n*in:(n+1)*in], s)
			}
			np := (n1 - n0) * g.p
			width := (np + nr - 1) / nr * nr
			for r := range g.taps { // the last panel's columns past the images
				clear(col[r*g.ld+np : r*g.ld+width])
			}
			for pn := range width / nr {
				kn.gemm(g.taps, wp, g.taps, 1, col[pn*nr:], g.ld, prod[pn*nr:], g.ld, s.K, false)
			}
			for n := n0; n < n1; n++ {
				biasAct(y[n*out:(n+1)*out], prod[(n-n0)*g.p:], g.ld, b, oh, ow, ow, act, slope)
			}
		}
	})
}
