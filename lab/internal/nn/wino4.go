package nn

import "golab/internal/cpu"

// Winograd F(4×4, 3×3) on channel-minor data. Each 4×4 block of output
// ("tile") comes from a 6×6 block of input through
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
//
// so a convolution becomes 36 matrix products (one per position ξ of the
// 6×6 transformed tile) of tiles×C transformed inputs by C×K transformed
// filters: 36 multiplies per 16 outputs instead of 144, 4 times fewer
// (F(2×2, 3×3) saves 2.25 times). The price is precision: the transforms
// multiply by up to 5 and 8 where F(2×2, 3×3) adds, so rounding errors
// grow; TestWino4Error measures them against float64 and bounds them.
//
// The data are laid out with channels last (NHWC) so that every transform
// is vertical SIMD over channels, 16 (AVX-512) or 8 (AVX2) at a time, and
// the products run on golab's own micro-kernels, whose operands the
// transforms write directly in the layout the kernels stream. Each image
// of the convolution's NCHW input is transposed (and zero-padded) into a
// channels-last strip in the cache, and its output transposed back from
// another (see wino4).
//
// The matrices are Lavin and Gray's ("Fast Algorithms for Convolutional
// Neural Networks", 2016), interpolation points 0, ±1, ±2 and ∞:
//
//	Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
//	G  = [1/4 0 0; −1/6 −1/6 −1/6; −1/6 1/6 −1/6; 1/24 1/12 1/6; 1/24 −1/12 1/6; 0 0 1]
//	Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]

// w4Kernels is one implementation of the engine's inner kernels: AVX-512,
// AVX2 or Go (the reference, and what tests compare the others with).
type w4Kernels struct {
	isa   cpu.ISA
	lanes int // channels per vector: C and K must be multiples
	mr    int // rows of a gemm's register block
	nr    int // columns of a gemm call: K must be a multiple

	// input writes Bᵀ d B of one tile for all c channels: entry ξ of
	// channel ch goes to v[ξ·vs + ch]. The tile's 6×6 input starts at x[0];
	// its rows are rs floats apart, its pixels c.
	input func(v []float32, vs int, x []float32, rs, c int)
	// output writes act(Aᵀ M A + bias) of one tile for k channels: entry
	// ξ of channel ch is m[ξ·ms + ch]; output pixel (i, j) of channel ch
	// goes to y[i·rs + j·ys + ch]. act: 0 none, 1 ReLU, 2 LeakyReLU with
	// 0 < slope ≤ 1.
	output func(y []float32, rs, ys int, m []float32, ms, k int, bias []float32, act int, slope float32)
	// grad writes A g Aᵀ of one tile of output gradient g (4×4, rows rs
	// floats apart, pixels k) for all k channels into m[ξ·ms + ch].
	grad func(m []float32, ms int, g []float32, rs, k int)
	// gemm computes a rows×nr block of C = A·B over steps, mr rows at a
	// time: row i, column j of the block is Σₚ a[i·aRow + p·aStep] ·
	// b[p·bStep + j], added to c[i·ldc + j] when acc, else stored there.
	// The last group of mr rows is read whole (a must hold rows rounded up
	// to a multiple of mr), the rows past rows not stored.
	gemm func(steps int, a []float32, aRow, aStep int, b []float32, bStep int, c []float32, ldc, rows int, acc bool)
	// filter writes U = G g Gᵀ of n filters of a group of lanes filters:
	// tap t of filter i of lane l is g[g0 + i·gstep + t·gs + l] (gs may be
	// negative), entry ξ goes to u[i·ustep + ξ·us + l].
	filter func(u []float32, us, ustep int, g []float32, g0, gs, gstep, n int)
	// inputAdj adds B M Bᵀ of one tile for k channels into x: entry ξ of
	// channel ch is m[ξ·ms + ch]; pixel (i, j) of channel ch of the 6×6
	// window is x[i·rs + j·ys + ch]. It is the input transform's adjoint,
	// for the input gradient over the forward pass's tiles; nil where the
	// engine computes that gradient as a convolution instead.
	inputAdj func(x []float32, rs, ys int, m []float32, ms, k int)
	// filterGrad writes dw = Gᵀ dU G of n filters of a group of lanes:
	// entry ξ of filter i of lane l is du[i·ustep + ξ·us + l], tap t goes to
	// dw[i·gstep + t·gs + l].
	filterGrad func(dw []float32, gs, gstep int, du []float32, us, ustep, n int)
}

// w4KernelsGo is the engine in Go: the reference of the assembly kernels.
var w4KernelsGo = &w4Kernels{isa: cpu.Generic, lanes: 1, mr: 4, nr: 8,
	input: w4InputGo, output: w4OutputGo, grad: w4GradGo, gemm: w4GemmGo, filter: w4FilterGo, filterGrad: w4FilterGradGo,
	inputAdj: w4InputAdjGo}

// w4Active returns the kernels the engine runs on at the level in use,
// nil when there are none (the Go kernels are for tests: slower than the
// other paths).
func w4Active() *w4Kernels {
	switch {
	case hasAVX512:
		return w4KernelsAVX512
	case hasAVX2:
		return w4KernelsAVX2
	}
	return nil
}

// w4For returns the kernels the engine runs a convolution of shape s on:
// w4Active's, with AVX-512 the 6×64 micro-kernel where the filters come in
// multiples of 64 (it feeds the FMA units better than the 12×32 one:
// BenchmarkW4Gemm), nil when there are none. Both kernels sum each product
// over the channels in the same order, so the choice does not change the
// results.
func w4For(s ConvShape) *w4Kernels {
	kn := w4Active()
	if kn == w4KernelsAVX512 && w4KernelsAVX512Wide != nil && s.K%w4KernelsAVX512Wide.nr == 0 {
		return w4KernelsAVX512Wide
	}
	return kn
}

// wino4On enables the engine where useWino4 says; tests and benchmarks
// turn it off to compare.
var wino4On = true

// useWino4 reports whether a convolution of shape s runs on the engine
// with kernels kn: 3×3 at stride 1, with channels in whole vectors, and
// outputs of at least 8×8 pixels, where the 4×4 tiles waste little. On
// smaller outputs (DropoutCNN's conv6: 3×3, and its input gradient: 5×5)
// most of the tiles' work is thrown away and the transformed filters,
// 4 times the size of the filters, are read for few tiles: im2col with
// sgemm is faster there (BenchmarkWinograd). A batch must also have
// enough tiles to amortize the filter transforms.
func useWino4(s ConvShape, kn *w4Kernels) bool {
	return wino4On && kn != nil && s.R == 3 && s.S == 3 && s.Stride == 1 &&
		s.C%kn.lanes == 0 && s.K%kn.nr == 0 && s.K%kn.lanes == 0 &&
		s.OutH() >= 8 && s.OutW() >= 8 && s.N*((s.OutH()+3)/4)*((s.OutW()+3)/4) >= 16
}

// wino4 holds the state of one convolution shape on the engine. Blocks
// of whole images go through the transforms and products together, each
// worker on its own blocks. An image's input is transposed to
// channels-last (and zero-padded) into a strip, where the input transform
// reads it, and its outputs are written channels-last into another strip
// and transposed from there into the NCHW output, eight channels at a
// time: the layout changes stay in the cache, and the NCHW planes are
// read and written as a few sequential streams.
type wino4 struct {
	s      ConvShape
	kn     *w4Kernels
	kd     *w4Kernels // for the input gradient over these tiles (backwardData), or nil
	th, tw int        // tiles per column and row: ceil(OutH/4), ceil(OutW/4)
	hp, wp int        // the input strip: 4·th+2 × 4·tw+2 pixels
	imgs   int        // images per block
	u      []float32  // the transformed filters, from transformFilters to the end of forward
	zero   []float32  // a zero bias
}

// w4Bufs are one pass's per-worker scratch (from the pool): 36 blocks of
// transformed inputs (v) and of products or gradients (m), an input image
// channels last, zero-padded to hp×wp (strip), and an output or gradient
// image channels last, 4·th × 4·tw (ostrip).
type w4Bufs struct{ v, m, strip, ostrip [][]float32 }

// buffers takes nw workers' scratch from the pool. The rows of v past a
// block's last, which the products read but do not store, are cleared,
// and so is the padding of strip.
func (wg *wino4) buffers(nw int) w4Bufs {
	vs, ms := wg.strides()
	b := w4Bufs{getScratches(nw, 36*vs), getScratches(nw, 36*ms),
		getScratches(nw, wg.hp*wg.wp*wg.s.C), getScratches(nw, 16*wg.th*wg.tw*wg.s.K)}
	rows := wg.imgs * wg.th * wg.tw * wg.s.C
	for w := range nw {
		for xi := range 36 {
			clear(b.v[w][xi*vs+rows : (xi+1)*vs])
		}
		wg.clearPadding(b.strip[w])
	}
	return b
}

func (b w4Bufs) release() {
	putScratch(b.v...)
	putScratch(b.m...)
	putScratch(b.strip...)
	putScratch(b.ostrip...)
}

// clearPadding zeroes the parts of an input strip that fillInput does not
// write.
func (wg *wino4) clearPadding(strip []float32) {
	s := &wg.s
	c, rs := s.C, wg.wp*s.C
	clear(strip[:s.Pad*rs])
	clear(strip[(s.Pad+s.H)*rs : wg.hp*rs])
	for y := s.Pad; y < s.Pad+s.H; y++ {
		clear(strip[y*rs : y*rs+s.Pad*c])
		clear(strip[y*rs+(s.Pad+s.W)*c : (y+1)*rs])
	}
}

// Block sizes. When the transformed filters (36·C·K floats) fit in
// wino4UCache, blocks hold as many images as keep a block's transforms
// and products (36·tiles·(C+K) floats) within wino4L2, and the filters
// stay in the core's cache from block to block. Larger filters are read
// from memory once per block, so then blocks are large instead: the batch
// in wino4Blocks blocks, whose transforms and products stream through the
// shared cache; their backward pass goes by ξ (backwardByXi).
var wino4L2, wino4UCache, wino4Blocks = 256 * 1024, 320 * 1024, 4

func newWino4(s ConvShape, kn *w4Kernels) *wino4 {
	oh, ow := s.OutH(), s.OutW()
	wg := &wino4{s: s, kn: kn, th: (oh + 3) / 4, tw: (ow + 3) / 4}
	wg.hp, wg.wp = 4*wg.th+2, 4*wg.tw+2
	per := 36 * wg.th * wg.tw * (s.C + s.K) // one image's transforms and products
	if 36*s.C*s.K <= wino4UCache {
		wg.imgs = max(1, wino4L2/per)
	} else {
		wg.imgs = (s.N + wino4Blocks - 1) / wino4Blocks
	}
	wg.imgs = min(wg.imgs, s.N)
	wg.zero = make([]float32, s.K)
	wg.kd = w4DataKernels(kn, s.C)
	return wg
}

// w4DataKernels returns the kernels of kn's instruction set whose products
// fit c input channels, for the input gradient over the forward pass's
// tiles, or nil when kn has no adjoint input transform.
func w4DataKernels(kn *w4Kernels, c int) *w4Kernels {
	if kn.inputAdj == nil {
		return nil
	}
	for _, k := range []*w4Kernels{kn, w4KernelsAVX512Wide, w4KernelsAVX512} {
		if k != nil && k.isa == kn.isa && k.inputAdj != nil && c%k.nr == 0 && c%k.lanes == 0 {
			return k
		}
	}
	return nil
}

// w4Stride is the distance between the 36 matrices of rows×ld floats in a
// block: padded to 16 floats past a multiple of 1024 so that a tile's 36
// entries do not all fall in one L1 cache set, plus room for the rows a
// gemm reads past the last.
func w4Stride(rows, ld, mr int) int {
	n := (rows+mr)*ld + mr
	return (n+1023)/1024*1024 + 16
}

// transformFilters computes U = G g Gᵀ of every filter w (K×C×3×3) in
// the layout the products read: for each ξ, K/nr panels of C rows of nr
// filters. With flipped, w holds the C×K×3×3 filters of the convolution
// whose input gradient this one computes, and its filter k, c is that
// one's filter c, k turned by 180°.
func (wg *wino4) transformFilters(w []float32, flipped bool) {
	k, c := wg.s.K, wg.s.C
	// wt[c][tap][k]: the taps of lanes consecutive filters side by side.
	wt := getScratch(9 * c * k)
	defer putScratch(wt)
	g0, gs := 0, k
	if !flipped {
		parallel(c, func(_, lo, hi int) {
			transposeBlock(wt[lo*9*k:], k, w[lo*9:], c*9, k, (hi-lo)*9)
		})
	} else {
		// w[c][k][tap]; read the taps backwards.
		tapsBetween(wt, w, c, k)
		g0, gs = 8*k, -k
	}
	if len(wg.u) != 36*k*c {
		putScratch(wg.u)
		wg.u = getScratch(36 * k * c)
	}
	transformTaps(wg.kn, wg.u, wt, k, c, g0, gs)
}

// tapsBetween writes each of the a blocks of b×9 values of w (a×b×9) as
// 9×b into wt: each filter's taps with its b channels side by side.
func tapsBetween(wt, w []float32, a, b int) {
	parallel(a, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			transposeBlock(wt[i*9*b:], b, w[i*b*9:], 9, b, 9)
		}
	})
}

// transformTaps writes U = G g Gᵀ of out×in filters into u in the layout
// the products read (for each ξ, out/nr panels of in rows of nr): tap t
// of filter (o, i) is wt[g0 + i·9·out + t·gs + o].
func transformTaps(kn *w4Kernels, u, wt []float32, out, in, g0, gs int) {
	nr, lanes := kn.nr, kn.lanes
	parallel(out/lanes, func(_, lo, hi int) {
		for gr := lo; gr < hi; gr++ {
			o0 := gr * lanes
			kn.filter(u[(o0/nr)*in*nr+o0%nr:], out*in, nr, wt, g0+o0, gs, 9*out, in)
		}
	})
}

// releaseFilters hands the transformed filters back to the pool.
func (wg *wino4) releaseFilters() {
	putScratch(wg.u)
	wg.u = nil
}

// forward computes y = act(conv(x, w) + b), b nil for none; with flipped,
// w are the filters of the convolution whose input gradient this one
// computes (see transformFilters).
func (wg *wino4) forward(y, x, w, b []float32, flipped, act bool, slope float32) {
	wg.transformFilters(w, flipped)
	defer wg.releaseFilters()
	mode, after := 0, false
	switch {
	case act && slope == 0:
		mode = 1
	case act && slope > 0 && slope <= 1:
		mode = 2
	case act:
		after = true // applied below, on the NCHW output
	}
	if b == nil {
		b = wg.zero
	}
	if wg.bigFilters() {
		wg.forwardByXi(y, x, b, mode, slope)
	} else {
		wg.forwardByBlocks(y, x, b, mode, slope)
	}
	if after {
		LeakyReLU(y, y, slope)
	}
}

// forwardByBlocks runs forward's transforms and products a block of
// images at a time.
func (wg *wino4) forwardByBlocks(y, x, b []float32, mode int, slope float32) {
	s := &wg.s
	c, nr := s.C, wg.kn.nr
	bufs := wg.buffers(workers(wg.blocks()))
	defer bufs.release()
	per := wg.th * wg.tw
	parallel(wg.blocks(), func(wk, blo, bhi int) {
		v, m, strip, ostrip := bufs.v[wk], bufs.m[wk], bufs.strip[wk], bufs.ostrip[wk]
		vs, ms := wg.strides()
		for bl := blo; bl < bhi; bl++ {
			n0, n1 := wg.blockImages(bl)
			for n := n0; n < n1; n++ {
				wg.fillInput(strip, x, n)
				wg.inputImage(v[(n-n0)*per*c:], vs, strip)
			}
			wg.products(m, ms, v, vs, (n1-n0)*per)
			for n := n0; n < n1; n++ {
				wg.outputImage(ostrip, m[(n-n0)*per*nr:], ms, wg.panelStride(), b, mode, slope)
				wg.flushOutput(y, ostrip, n)
			}
		}
	})
}

// imageStrips takes from the pool, for the workers of a pass over the
// batch's images, an input strip each (its padding cleared) and an output
// or gradient strip each; hand them back with putScratch.
func (wg *wino4) imageStrips() (strips, ostrips [][]float32) {
	nw := workers(wg.s.N)
	strips = getScratches(nw, wg.hp*wg.wp*wg.s.C)
	ostrips = getScratches(nw, 16*wg.th*wg.tw*wg.s.K)
	for _, st := range strips {
		wg.clearPadding(st)
	}
	return strips, ostrips
}

// forwardByXi is forward for big filters, which forwardByBlocks reads
// from memory once per block: the input transforms of the whole batch go
// into memory first, then the workers split the 36 products by ξ and
// panel, each reading its part of the filters once, and then the output
// transforms take the images in parallel.
func (wg *wino4) forwardByXi(y, x, b []float32, mode int, slope float32) {
	s := &wg.s
	c, k, kn := s.C, s.K, wg.kn
	nr := kn.nr
	per := wg.th * wg.tw
	tiles := s.N * per
	vs, ms := w4Stride(tiles, c, kn.mr), w4Stride(tiles, k, kn.mr)
	v, m := getScratch(36*vs), getScratch(36*ms)
	defer putScratch(v, m)
	for xi := range 36 { // the rows the products read past the last tile
		clear(v[xi*vs+tiles*c : (xi+1)*vs])
	}
	strips, ostrips := wg.imageStrips()
	defer putScratch(strips...)
	defer putScratch(ostrips...)
	parallel(s.N, func(wk, lo, hi int) {
		for n := lo; n < hi; n++ {
			wg.fillInput(strips[wk], x, n)
			wg.inputImage(v[n*per*c:], vs, strips[wk])
		}
	})
	ps := tiles * nr
	parallel(36*(k/nr), func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			xi, kp := j/(k/nr), j%(k/nr)
			wg.productPanel(m[xi*ms:], v[xi*vs:], xi, kp, tiles, ps)
		}
	})
	parallel(s.N, func(wk, lo, hi int) {
		for n := lo; n < hi; n++ {
			wg.outputImage(ostrips[wk], m[n*per*nr:], ms, ps, b, mode, slope)
			wg.flushOutput(y, ostrips[wk], n)
		}
	})
}

func (wg *wino4) blocks() int { return (wg.s.N + wg.imgs - 1) / wg.imgs }

// blockImages returns the images [n0, n1) of block bl.
func (wg *wino4) blockImages(bl int) (n0, n1 int) {
	return bl * wg.imgs, min(wg.s.N, (bl+1)*wg.imgs)
}

func (wg *wino4) strides() (vs, ms int) {
	t := wg.imgs * wg.th * wg.tw
	mr := wg.kn.mr
	if wg.kd != nil {
		mr = max(mr, wg.kd.mr) // the input gradient's products read M's rows
	}
	return w4Stride(t, wg.s.C, mr), w4Stride(t, wg.s.K, mr)
}

// fillInput writes image n of x into strip, channels last, shifted by the
// padding; the rest of strip is zero (buffers).
func (wg *wino4) fillInput(strip, x []float32, n int) {
	s := &wg.s
	plane := s.H * s.W
	xn := x[n*s.C*plane : (n+1)*s.C*plane]
	dst := strip[(s.Pad*wg.wp+s.Pad)*s.C:]
	if s.W < 8 {
		for y := range s.H {
			transposeBlock(dst[y*wg.wp*s.C:], s.C, xn[y*s.W:], plane, s.C, s.W)
		}
		return
	}
	fill, _, g := channelBlocks(s.C)
	for c0 := 0; c0 < s.C; c0 += g {
		fill(dst[c0:], s.C, s.C, wg.wp*s.C, xn[c0*plane:], plane, 1, s.W, s.H, s.W)
	}
}

// transposer is the signature of the transposes between NCHW planes and
// channels-last strips (see transposeRowsGo).
type transposer func(dst []float32, ldd, dstUnit, dstStep int, src []float32, lds, srcUnit, srcStep, nrows, cols int)

// channelBlocks returns the transposes that fill a strip of c channels
// from NCHW planes and that empty one into them, and how many channels
// each takes: 16 with AVX-512 (a whole cache line of the strip a store or
// load: filling twice as fast, emptying about as fast, BenchmarkTranspose),
// else 8.
func channelBlocks(c int) (fill, flush transposer, g int) {
	if hasAVX512 && c%16 == 0 {
		return transposeRows16, transposeCols16, 16
	}
	return transposeRows, transposeRows, 8
}

// inputImage transforms the tiles of the image in strip into v, from row
// 0 of each of the 36 matrices.
func (wg *wino4) inputImage(v []float32, vs int, strip []float32) {
	c := wg.s.C
	rs := wg.wp * c
	for ti := range wg.th {
		for tj := range wg.tw {
			wg.kn.input(v[(ti*wg.tw+tj)*c:], vs, strip[(4*ti*wg.wp+4*tj)*c:], rs, c)
		}
	}
}

// flushOutput transposes image n's output from ostrip into y.
func (wg *wino4) flushOutput(y, ostrip []float32, n int) {
	s := &wg.s
	oh, ow := s.OutH(), s.OutW()
	toPlanes(y[n*s.K*oh*ow:(n+1)*s.K*oh*ow], ostrip, 4*wg.tw*s.K, s.K, oh, ow)
}

// toPlanes writes the h×w pixels of c channels at the start of strip
// (channels last, rows rs floats apart) into the NCHW planes of one image.
func toPlanes(dst, strip []float32, rs, c, h, w int) {
	plane := h * w
	if w < 8 {
		for i := range h {
			transposeBlock(dst[i*w:], plane, strip[i*rs:], c, w, c)
		}
		return
	}
	_, flush, g := channelBlocks(c)
	for c0 := 0; c0 < c; c0 += g {
		flush(dst[c0*plane:], plane, 1, w, strip[c0:], c, c, rs, h, w)
	}
}

// fillGrad writes image n of the output gradient into strip, channels
// last, zero past the output's edges (the forward pass writes there).
func (wg *wino4) fillGrad(strip, dy []float32, n int) {
	s := &wg.s
	oh, ow := s.OutH(), s.OutW()
	plane := oh * ow
	dn := dy[n*s.K*plane : (n+1)*s.K*plane]
	rs := 4 * wg.tw * s.K
	if ow < 8 {
		for i := range oh {
			transposeBlock(strip[i*rs:], s.K, dn[i*ow:], plane, s.K, ow)
		}
	} else {
		fill, _, g := channelBlocks(s.K)
		for k0 := 0; k0 < s.K; k0 += g {
			fill(strip[k0:], s.K, s.K, rs, dn[k0*plane:], plane, 1, ow, oh, ow)
		}
	}
	for i := range oh {
		clear(strip[i*rs+ow*s.K : (i+1)*rs])
	}
	clear(strip[oh*rs : 4*wg.th*rs])
}

// gradImage transforms image n's output gradient, tile by tile, into m
// from row 0 of each of the 36 matrices (A dy Aᵀ), through gstrip.
func (wg *wino4) gradImage(m []float32, ms int, gstrip, dy []float32, n int) {
	k := wg.s.K
	wg.fillGrad(gstrip, dy, n)
	for ti := range wg.th {
		for tj := range wg.tw {
			wg.kn.grad(m[(ti*wg.tw+tj)*k:], ms, gstrip[(4*ti*4*wg.tw+4*tj)*k:], 4*wg.tw*k, k)
		}
	}
}

// products computes, for each ξ, the rows×K block of products from the
// rows×C block of v and the filters, into m by panels of nr filters: entry
// ξ of tile t, filter k at m[ξ·ms + (k/nr)·ps + t·nr + k%nr], where ps is
// panelStride. Each call of the micro-kernel writes one contiguous run.
func (wg *wino4) products(m []float32, ms int, v []float32, vs, rows int) {
	for xi := range 36 {
		for kp := range wg.s.K / wg.kn.nr {
			wg.productPanel(m[xi*ms:], v[xi*vs:], xi, kp, rows, wg.panelStride())
		}
	}
}

// productPanel is products for one ξ and panel kp of filters, into mx
// whose panels are ps apart.
func (wg *wino4) productPanel(mx, vx []float32, xi, kp, rows, ps int) {
	c, k, nr := wg.s.C, wg.s.K, wg.kn.nr
	up := wg.u[(xi*(k/nr)+kp)*c*nr : (xi*(k/nr)+kp+1)*c*nr]
	wg.kn.gemm(c, vx, c, 1, up, nr, mx[kp*ps:], nr, rows, false)
}

// panelStride is the distance between the panels of nr filters of one ξ
// in the products (see products).
func (wg *wino4) panelStride() int { return wg.imgs * wg.th * wg.tw * wg.kn.nr }

// outputImage transforms the products of one image's tiles (m from its
// first tile, panel by panel, the panels ps apart) into ostrip, channels
// last.
func (wg *wino4) outputImage(ostrip, m []float32, ms, ps int, b []float32, mode int, slope float32) {
	k, nr := wg.s.K, wg.kn.nr
	rs := 4 * wg.tw * k
	for ti := range wg.th {
		for tj := range wg.tw {
			t := ti*wg.tw + tj
			for kp := range k / nr {
				wg.kn.output(ostrip[(4*ti*4*wg.tw+4*tj)*k+kp*nr:], rs, k, m[kp*ps+t*nr:], ms, nr, b[kp*nr:], mode, slope)
			}
		}
	}
}

// backwardFilter computes dw (K×C×3×3) and db (nil to skip) from dy and
// x: the gradient of the products of each tile is A dy Aᵀ, the transformed
// filters' gradient is dU[ξ] = Σ_tiles (A dy Aᵀ)[ξ] ⊙ V[ξ], 36 matrix
// products summed over the tiles, and dw = Gᵀ dU G. The blocks are summed
// over fixed shards in a fixed order (big filters: by ξ, backwardByXi), so
// the result does not depend on the number of threads.
func (wg *wino4) backwardFilter(dw, db, dy, x []float32) {
	wg.backward(nil, dw, db, dy, x, nil)
}

// bigFilters reports whether the transformed filters, or their gradient,
// are too large for a core's cache (36·C·K floats over wino4UCache), and
// the backward pass goes by ξ (backwardByXi).
func (wg *wino4) bigFilters() bool { return wino4ByXi && 36*wg.s.C*wg.s.K > wino4UCache }

// wino4ByXi enables the passes by ξ for big filters (forwardByXi,
// backwardByXi); BenchmarkWino4ByXi turns it off to compare.
var wino4ByXi = true

// backwardByXi is backward, with dw, for big filters: each shard of
// blocks would write and read back a whole dU (4.7 MB for ImprovedCNN's
// last convolution) and transform it. Instead the transforms of the whole
// batch's inputs and output gradients go into memory first, then the
// workers split the 36 products by ξ, each summing its dU[ξ] over all the
// batch's tiles in one call per panel (in the cache), and dU is
// transformed once: the filter gradient alone 7.71 → 7.03 ms there
// (medians of 60 alternated runs). No partial sums: the result does not
// depend on the number of threads. With dx, the products for the input
// gradient of each ξ follow its dU's, into V[ξ], which they no longer
// need, and the adjoint transforms take the images in parallel.
func (wg *wino4) backwardByXi(dx, dw, db, dy, x, w []float32) {
	s := &wg.s
	c, k, kn := s.C, s.K, wg.kn
	per := wg.th * wg.tw
	tiles := s.N * per
	mr := kn.mr
	if dx != nil {
		mr = max(mr, wg.kd.mr)
	}
	vs, ms := w4Stride(tiles, c, mr), w4Stride(tiles, k, mr)
	v, m, du := getScratch(36*vs), getScratch(36*ms), getScratch(36*c*k)
	defer putScratch(v, m, du)
	var ut []float32
	if dx != nil {
		ut = wg.transposedFilters(w)
		defer putScratch(ut)
	}
	for xi := range 36 { // the rows the input gradient's products read past the last tile
		clear(m[xi*ms+tiles*k : (xi+1)*ms])
	}
	strips, gstrips := wg.imageStrips()
	defer putScratch(strips...)
	defer putScratch(gstrips...)
	parallel(s.N, func(wk, lo, hi int) {
		for n := lo; n < hi; n++ {
			wg.fillInput(strips[wk], x, n)
			wg.inputImage(v[n*per*c:], vs, strips[wk])
			wg.gradImage(m[n*per*k:], ms, gstrips[wk], dy, n)
		}
	})
	panels := k / kn.nr
	if dx == nil {
		parallel(36*panels, func(_, lo, hi int) {
			for j := lo; j < hi; j++ {
				xi, kp := j/panels, j%panels
				wg.filterPanel(du, v[xi*vs:], m[xi*ms:], xi, kp, tiles, false)
			}
		})
	} else {
		ps := tiles * wg.kd.nr
		parallel(36, func(_, lo, hi int) { // V[ξ] is done with before the data products overwrite it
			for xi := lo; xi < hi; xi++ {
				for kp := range panels {
					wg.filterPanel(du, v[xi*vs:], m[xi*ms:], xi, kp, tiles, false)
				}
				wg.dataProductsXi(v[xi*vs:], m[xi*ms:], ut, xi, tiles, ps)
			}
		})
		parallel(s.N, func(wk, lo, hi int) {
			for n := lo; n < hi; n++ {
				wg.adjointImage(dx, strips[wk], v, vs, ps, n, n)
			}
		})
	}
	nr := kn.nr
	dwt := getScratch(9 * c * k)
	defer putScratch(dwt)
	parallel(k/kn.lanes, func(_, lo, hi int) {
		for g := lo; g < hi; g++ {
			k0 := g * kn.lanes
			kn.filterGrad(dwt[k0:], k, 9*k, du[(k0/nr)*c*nr+k0%nr:], c*k, nr, c)
		}
	})
	wg.finishFilter(dw, db, dwt, dy)
}

// backwardData computes dx, the input gradient, from dy over the forward
// pass's tiles, where Conv's other way is the convolution of the padded
// dy with the flipped filters, which needs tiles over the whole input
// (DropoutCNN's conv5, 8×8 outputs from 10×10 inputs: 4 tiles an image
// against 9). Each tile's output gradient goes through A·Aᵀ (as for the
// filter gradient) into M, the products with the transformed filters'
// transposes give the gradient of its transformed input, and the adjoint
// input transform B·Bᵀ adds that into the tile's 6×6 window of a strip,
// whose windows overlap; the strip's inside is the image's dx. Needs kd.
func (wg *wino4) backwardData(dx, dy, w []float32) {
	wg.backward(dx, nil, nil, dy, nil, w)
}

// backward computes the input gradient dx (nil to skip; else it needs kd
// and the filters w) as backwardData does, and the filter gradients dw and
// db (dw nil to skip; else it needs x) as backwardFilter does, in one pass
// over the blocks: the output gradient's transform M serves both.
func (wg *wino4) backward(dx, dw, db, dy, x, w []float32) {
	if dw != nil && wg.bigFilters() {
		wg.backwardByXi(dx, dw, db, dy, x, w)
		return
	}
	s := &wg.s
	c, k := s.C, s.K
	kn := wg.kn
	nb := wg.blocks()
	ns := shards(nb)
	nw := workers(ns)
	bufs := wg.buffers(nw)
	defer bufs.release()
	var ut []float32 // the transposed transformed filters, for dx
	var ps [][]float32
	if dx != nil {
		ut = wg.transposedFilters(w)
		defer putScratch(ut)
		if dw != nil { // V is taken: the products' gradients P need their own
			ps = getScratches(nw, len(bufs.v[0]))
			defer putScratch(ps...)
		}
	}
	// Each worker sums its shards' blocks into dU (laid out as U), one
	// shard at a time, and transforms each shard's sum to a filter
	// gradient dw_s = Gᵀ dU_s G (channels and taps before filters); the
	// shards' dw_s are then added in shard order.
	var dus, dws [][]float32
	if dw != nil {
		dus = getScratches(nw, 36*c*k)
		defer putScratch(dus...)
		dws = getScratches(ns, 9*c*k)
		defer putScratch(dws...)
	}
	per := wg.th * wg.tw
	parallel(ns, func(wk, slo, shi int) {
		v, m, strip, gstrip := bufs.v[wk], bufs.m[wk], bufs.strip[wk], bufs.ostrip[wk]
		p := v
		if ps != nil {
			p = ps[wk]
		}
		vs, ms := wg.strides()
		for sh := slo; sh < shi; sh++ {
			for bl := sh * nb / ns; bl < (sh+1)*nb/ns; bl++ {
				n0, n1 := wg.blockImages(bl)
				for n := n0; n < n1; n++ {
					if dw != nil {
						wg.fillInput(strip, x, n)
						wg.inputImage(v[(n-n0)*per*c:], vs, strip)
					}
					wg.gradImage(m[(n-n0)*per*k:], ms, gstrip, dy, n)
				}
				rows := (n1 - n0) * per
				if dw != nil {
					wg.filterProducts(dus[wk], v, vs, m, ms, rows, bl != sh*nb/ns)
				}
				if dx != nil {
					wg.dataProducts(p, vs, m, ms, ut, rows)
					for n := n0; n < n1; n++ {
						wg.adjointImage(dx, strip, p, vs, wg.imgs*per*wg.kd.nr, n, n-n0)
					}
					if dw != nil { // the windows reach into the padding fillInput keeps zero
						wg.clearPadding(strip)
					}
				}
			}
			if dw != nil {
				du := dus[wk]
				for k0 := 0; k0 < k; k0 += kn.lanes {
					kn.filterGrad(dws[sh][k0:], k, 9*k, du[(k0/kn.nr)*c*kn.nr+k0%kn.nr:], c*k, kn.nr, c)
				}
			}
		}
	})
	if dw == nil {
		return
	}
	dwt := dws[0]
	parallelElems(len(dwt), func(lo, hi int) {
		for sh := 1; sh < ns; sh++ { // in shard order, for any split of [lo, hi)
			add(dwt[lo:hi], dws[sh][lo:hi])
		}
	})
	wg.finishFilter(dw, db, dwt, dy)
}

// finishFilter writes the filter gradient dwt (channels and taps before
// filters) into dw (K×C×3×3), and the bias gradient Σ dy into db (nil to
// skip).
func (wg *wino4) finishFilter(dw, db, dwt, dy []float32) {
	s := &wg.s
	c, k := s.C, s.K
	parallel(k, func(_, lo, hi int) {
		transposeBlock(dw[lo*c*9:], c*9, dwt[lo:], k, c*9, hi-lo)
	})
	if db != nil {
		oh, ow := s.OutH(), s.OutW()
		p := oh * ow
		parallel(k, func(_, lo, hi int) {
			for kk := lo; kk < hi; kk++ {
				var sum float32
				for n := range s.N {
					sum += sum32(dy[(n*k+kk)*p : (n*k+kk+1)*p])
				}
				db[kk] = sum
			}
		})
	}
}

// filterProducts adds, for each ξ, Vᵀ·M over the block's rows tiles into
// du (laid out as U, by panels of nr filters); without acc it overwrites.
func (wg *wino4) filterProducts(du, v []float32, vs int, m []float32, ms, rows int, acc bool) {
	for xi := range 36 {
		for kp := range wg.s.K / wg.kn.nr { // dU by panels, as the filters
			wg.filterPanel(du, v[xi*vs:], m[xi*ms:], xi, kp, rows, acc)
		}
	}
}

// filterPanel is filterProducts for one ξ and panel kp of filters.
func (wg *wino4) filterPanel(du, vx, mx []float32, xi, kp, rows int, acc bool) {
	c, k, nr := wg.s.C, wg.s.K, wg.kn.nr
	wg.kn.gemm(rows, vx, 1, c, mx[kp*nr:], k, du[xi*c*k+kp*c*nr:], nr, c, acc)
}

// dataProducts writes, for each ξ, the gradients of the block's rows
// transformed inputs, M·Uᵀ, into p by panels of kd's nr channels (a
// panel of a ξ is the block's tiles × nr, the panels imgs·per·nr apart).
func (wg *wino4) dataProducts(p []float32, vs int, m []float32, ms int, ut []float32, rows int) {
	for xi := range 36 {
		wg.dataProductsXi(p[xi*vs:], m[xi*ms:], ut, xi, rows, wg.imgs*wg.th*wg.tw*wg.kd.nr)
	}
}

// dataProductsXi is dataProducts for one ξ, into px by panels ps apart.
func (wg *wino4) dataProductsXi(px, mx, ut []float32, xi, rows, ps int) {
	c, k, kd := wg.s.C, wg.s.K, wg.kd
	nr := kd.nr
	for cp := range c / nr {
		kd.gemm(k, mx, k, 1, ut[(xi*(c/nr)+cp)*k*nr:(xi*(c/nr)+cp+1)*k*nr], nr, px[cp*ps:], nr, rows, false)
	}
}

// adjointImage adds the gradients of image n's transformed inputs (those
// of the i-th image in p, by panels ps apart, see dataProducts) through
// B·Bᵀ into their overlapping windows of strip, and writes the strip's
// inside, past the padding, into dx.
func (wg *wino4) adjointImage(dx, strip, p []float32, vs, ps, n, i int) {
	s := &wg.s
	c, kd := s.C, wg.kd
	nr := kd.nr
	per := wg.th * wg.tw
	rs := wg.wp * c
	plane := s.H * s.W
	clear(strip)
	pn := i * per * nr
	for ti := range wg.th {
		for tj := range wg.tw {
			t := ti*wg.tw + tj
			for cp := range c / nr {
				kd.inputAdj(strip[(4*ti*wg.wp+4*tj)*c+cp*nr:], rs, c, p[pn+cp*ps+t*nr:], vs, nr)
			}
		}
	}
	toPlanes(dx[n*c*plane:(n+1)*c*plane], strip[(s.Pad*wg.wp+s.Pad)*c:], rs, c, s.H, s.W)
}

// transposedFilters returns the transformed filters with the roles of
// input and output channels swapped, for the input gradient's products
// (from the pool: hand it back with putScratch): for each ξ, C/nr panels
// of K rows of nr input channels, nr of kd.
func (wg *wino4) transposedFilters(w []float32) []float32 {
	k, c := wg.s.K, wg.s.C
	// wt[k][tap][c]: each filter's taps, its channels side by side.
	wt := getScratch(9 * c * k)
	defer putScratch(wt)
	tapsBetween(wt, w, k, c)
	ut := getScratch(36 * k * c)
	transformTaps(wg.kd, ut, wt, c, k, 0, c)
	return ut
}

// transposeBlock writes dst[j·ldd + i] = src[i·lds + j] for i < rows,
// j < cols.
func transposeBlock(dst []float32, ldd int, src []float32, lds, rows, cols int) {
	if rows < 8 || cols < 8 {
		for i := range rows {
			s := src[i*lds : i*lds+cols]
			for j, v := range s {
				dst[j*ldd+i] = v
			}
		}
		return
	}
	transposeRows(dst, ldd, ldd, 8, src, lds, 1, 8*lds, rows/8, cols)
	if rows%8 != 0 { // a last block of rows, overlapping the one before
		transposeRows(dst[rows-8:], ldd, ldd, 0, src[(rows-8)*lds:], lds, 1, 0, 1, cols)
	}
}

// transposeRowsGo transposes 8×8 blocks: for each of nrows rows i and
// each position p = 0, 8, … along cols (the last at cols−8, overlapping
// the one before), dst[i·dstStep + p·dstUnit + j·ldd + r] =
// src[i·srcStep + p·srcUnit + r·lds + j] for r, j < 8. The strips of the
// engine move whole images between layouts with one call per 8 channels.
func transposeRowsGo(dst []float32, ldd, dstUnit, dstStep int, src []float32, lds, srcUnit, srcStep, nrows, cols int) {
	transposeBlocksGo(8, 8, dst, ldd, dstUnit, dstStep, src, lds, srcUnit, srcStep, nrows, cols)
}

// transposeRows16Go is transposeRowsGo on blocks of 16 source rows by 8
// columns (r < 16, j < 8): NCHW planes into a strip.
func transposeRows16Go(dst []float32, ldd, dstUnit, dstStep int, src []float32, lds, srcUnit, srcStep, nrows, cols int) {
	transposeBlocksGo(16, 8, dst, ldd, dstUnit, dstStep, src, lds, srcUnit, srcStep, nrows, cols)
}

// transposeCols16Go is transposeRowsGo on blocks of 8 source rows by 16
// columns (r < 8, j < 16): a strip into NCHW planes.
func transposeCols16Go(dst []float32, ldd, dstUnit, dstStep int, src []float32, lds, srcUnit, srcStep, nrows, cols int) {
	transposeBlocksGo(8, 16, dst, ldd, dstUnit, dstStep, src, lds, srcUnit, srcStep, nrows, cols)
}

func transposeBlocksGo(rows, width int, dst []float32, ldd, dstUnit, dstStep int, src []float32, lds, srcUnit, srcStep, nrows, cols int) {
	for i := range nrows {
		for p := 0; p < cols; p += 8 {
			p := min(p, cols-8)
			s0, d0 := i*srcStep+p*srcUnit, i*dstStep+p*dstUnit
			for r := range rows {
				for j := range width {
					dst[d0+j*ldd+r] = src[s0+r*lds+j]
				}
			}
		}
	}
}

// ---- the Go kernels ----

func w4InputGo(v []float32, vs int, x []float32, rs, c int) {
	for ch := range c {
		var d, t [6][6]float32
		for i := range 6 {
			for j := range 6 {
				d[i][j] = x[i*rs+j*c+ch]
			}
		}
		for j := range 6 { // Bᵀ d, column by column
			t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j] = w4B(d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j])
		}
		for i := range 6 { // (Bᵀ d) B, row by row
			a, b, cc, dd, e, f := w4B(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5])
			o := i*6*vs + ch
			v[o], v[o+vs], v[o+2*vs], v[o+3*vs], v[o+4*vs], v[o+5*vs] = a, b, cc, dd, e, f
		}
	}
}

// w4B applies Bᵀ to a column of 6, as the assembly kernels do.
func w4B(d0, d1, d2, d3, d4, d5 float32) (r0, r1, r2, r3, r4, r5 float32) {
	a, b := d4-4*d2, d3-4*d1
	c, e := d4-d2, 2*(d3-d1)
	return 4*(d0-d2) + c, a + b, a - b, c + e, c - e, 4*(d1-d3) + (d5 - d3)
}

// w4BT applies B to a column of 6 (the adjoint of w4B), in the order of
// the assembly kernels: the products by 2 and 4 are exact, 5·r is 4·r + r.
func w4BT(r0, r1, r2, r3, r4, r5 float32) (d0, d1, d2, d3, d4, d5 float32) {
	a, b := r1+r2, r1-r2
	c, e := r3+r4, r3-r4
	d2 = -(((c + 4*a) + 4*r0) + r0)
	d3 = ((b + 2*e) - 4*r5) - r5
	return 4 * r0, 4*(r5-b) - 2*e, d2, d3, (r0 + a) + c, r5
}

func w4InputAdjGo(x []float32, rs, ys int, m []float32, ms, k int) {
	for ch := range k {
		var t [6][6]float32
		for j := range 6 { // B M, column by column
			t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j] = w4BT(m[j*ms+ch], m[(6+j)*ms+ch], m[(12+j)*ms+ch], m[(18+j)*ms+ch], m[(24+j)*ms+ch], m[(30+j)*ms+ch])
		}
		for i := range 6 { // (B M) Bᵀ, row by row, added in
			var d [6]float32
			d[0], d[1], d[2], d[3], d[4], d[5] = w4BT(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5])
			for j, v := range d {
				x[i*rs+j*ys+ch] += v
			}
		}
	}
}

// w4A applies Aᵀ to a column of 6, as the assembly kernels do.
func w4A(m0, m1, m2, m3, m4, m5 float32) (y0, y1, y2, y3 float32) {
	p, q, r, s := m1+m2, m1-m2, m3+m4, m3-m4
	return m0 + p + r, q + 2*s, p + 4*r, q + 8*s + m5
}

func w4OutputGo(y []float32, rs, ys int, m []float32, ms, k int, bias []float32, act int, slope float32) {
	for ch := range k {
		var t [4][6]float32
		for j := range 6 { // Aᵀ M, column by column
			t[0][j], t[1][j], t[2][j], t[3][j] = w4A(m[j*ms+ch], m[(6+j)*ms+ch], m[(12+j)*ms+ch], m[(18+j)*ms+ch], m[(24+j)*ms+ch], m[(30+j)*ms+ch])
		}
		for i := range 4 {
			var o [4]float32
			o[0], o[1], o[2], o[3] = w4A(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5])
			for j, v := range o {
				v += bias[ch]
				switch act {
				case 1:
					v = max(v, 0)
				case 2:
					v = max(v*slope, v)
				}
				y[i*rs+j*ys+ch] = v
			}
		}
	}
}

// w4AT applies A to a column of 4 (the gradient of w4A).
func w4AT(g0, g1, g2, g3 float32) (m0, m1, m2, m3, m4, m5 float32) {
	e, o := g0+g2, g1+g3
	e2, o2 := g0+4*g2, 2*g1+8*g3
	return g0, e + o, e - o, e2 + o2, e2 - o2, g3
}

func w4GradGo(m []float32, ms int, g []float32, rs, k int) {
	for ch := range k {
		var t [6][4]float32
		for j := range 4 { // A g, column by column
			t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j] = w4AT(g[j*k+ch], g[rs+j*k+ch], g[2*rs+j*k+ch], g[3*rs+j*k+ch])
		}
		for i := range 6 {
			a, b, c, d, e, f := w4AT(t[i][0], t[i][1], t[i][2], t[i][3])
			o := i*6*ms + ch
			m[o], m[o+ms], m[o+2*ms], m[o+3*ms], m[o+4*ms], m[o+5*ms] = a, b, c, d, e, f
		}
	}
}

func w4GemmGo(steps int, a []float32, aRow, aStep int, b []float32, bStep int, c []float32, ldc, rows int, acc bool) {
	// One row at a time: the Go kernel reads no rows past the last.
	const nr = 8
	for i := range rows {
		var s [nr]float32
		for p := range steps {
			av := a[i*aRow+p*aStep]
			bp := b[p*bStep : p*bStep+nr]
			for j := range s {
				s[j] += av * bp[j]
			}
		}
		cr := c[i*ldc : i*ldc+nr]
		for j, v := range s {
			if acc {
				v += cr[j]
			}
			cr[j] = v
		}
	}
}

// w4G32 applies G to a column of 3 in float32, as the assembly kernels do.
func w4G32(a0, a1, a2 float32) (u0, u1, u2, u3, u4, u5 float32) {
	s := a0 + a2
	a := a0*0.25 + a2
	b := a1 * 0.5
	return a0 * 0.25, (s + a1) * (-1.0 / 6), (s - a1) * (-1.0 / 6), (a + b) * (1.0 / 6), (a - b) * (1.0 / 6), a2
}

func w4FilterGo(u []float32, us, ustep int, g []float32, g0, gs, gstep, n int) {
	for i := range n {
		tap := func(t int) float32 { return g[g0+i*gstep+t*gs] }
		var t [6][3]float32
		for q := range 3 { // G g, column by column
			t[0][q], t[1][q], t[2][q], t[3][q], t[4][q], t[5][q] = w4G32(tap(q), tap(3+q), tap(6+q))
		}
		for r := range 6 { // (G g) Gᵀ, row by row
			a, b, c, d, e, f := w4G32(t[r][0], t[r][1], t[r][2])
			o := i*ustep + 6*r*us
			u[o], u[o+us], u[o+2*us], u[o+3*us], u[o+4*us], u[o+5*us] = a, b, c, d, e, f
		}
	}
}

// w4GT32 applies Gᵀ to a column of 6 in float32, as the assembly kernels
// do. The conversion keeps the compiler from fusing the last product and
// sum, which the kernels round apart.
func w4GT32(u0, u1, u2, u3, u4, u5 float32) (g0, g1, g2 float32) {
	p, q, r, s := u1+u2, u2-u1, u3+u4, u3-u4
	return u0*0.25 + (r*0.25-p)*(1.0/6), (q + s*0.5) * (1.0 / 6), float32((r-p)*(1.0/6)) + u5
}

func w4FilterGradGo(dw []float32, gs, gstep int, du []float32, us, ustep, n int) {
	for i := range n {
		var t [3][6]float32
		for j := range 6 { // Gᵀ dU, column by column
			e := func(r int) float32 { return du[i*ustep+(6*r+j)*us] }
			t[0][j], t[1][j], t[2][j] = w4GT32(e(0), e(1), e(2), e(3), e(4), e(5))
		}
		for r := range 3 {
			a, b, c := w4GT32(t[r][0], t[r][1], t[r][2], t[r][3], t[r][4], t[r][5])
			o := i*gstep + 3*r*gs
			dw[o], dw[o+gs], dw[o+2*gs] = a, b, c
		}
	}
}
