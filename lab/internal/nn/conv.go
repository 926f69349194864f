package nn

import (
	"fmt"

	"golab/lab/internal/blas"
)

// ConvShape is the geometry of a 2-D convolution: a batch of N images of C
// channels, H×W pixels, convolved with K filters of C×R×S, with the same
// stride and zero padding in both directions.
type ConvShape struct {
	N, C, H, W int
	K, R, S    int
	Stride     int
	Pad        int
}

// OutH is the output height.
func (s ConvShape) OutH() int { return (s.H+2*s.Pad-s.R)/s.Stride + 1 }

// OutW is the output width.
func (s ConvShape) OutW() int { return (s.W+2*s.Pad-s.S)/s.Stride + 1 }

// Validate reports whether the geometry describes a convolution with a
// non-empty output.
func (s ConvShape) Validate() error {
	switch {
	case s.N < 1 || s.C < 1 || s.H < 1 || s.W < 1 || s.K < 1 || s.R < 1 || s.S < 1:
		return fmt.Errorf("conv: sizes must be positive: %+v", s)
	case s.Stride < 1:
		return fmt.Errorf("conv: stride %d must be at least 1", s.Stride)
	case s.Pad < 0:
		return fmt.Errorf("conv: padding %d must not be negative", s.Pad)
	case s.OutH() < 1 || s.OutW() < 1:
		return fmt.Errorf("conv: a %d×%d kernel does not fit a %d×%d input with padding %d", s.R, s.S, s.H, s.W, s.Pad)
	}
	return nil
}

// Conv computes a convolution of a fixed shape. It owns scratch buffers that
// it reuses from call to call, so one Conv must not run concurrently with
// itself.
//
// Images are unrolled (im2col) into a matrix that is multiplied by the
// filters with one sgemm, several images to a matrix when their outputs are
// small, so the sgemm is not too thin. The groups of images are split over
// GOMAXPROCS goroutines. At stride 1 the unrolled matrix can be "full
// width": it computes OutH rows of the padded width Wp instead of OutW, so
// each of its rows is one contiguous copy of the (padded) input, and the
// extra columns are dropped in the pass that adds the bias. The input
// gradient at stride 1 is itself such a convolution, of the padded output
// gradient with the flipped filters, which replaces the scatter-add of
// col2im by copies.
type Conv struct {
	ConvShape
	wide   bool // full-width unrolling
	hp, wp int  // padded input height and width (wide)
	ws     int  // width of an output row in the unrolled matrix: wp or OutW
	cols   int  // columns per image in the unrolled matrix: OutH·ws
	group  int  // images per sgemm

	col   [][]float32  // per worker: C·R·S × group·cols
	ybuf  [][]float32  // per worker: K × group·cols, the sgemm's output or the gathered dy
	xpad  [][]float32  // per worker, wide with padding: C × hp×wp
	parts [][]float32  // per shard but the first: partial dw and db
	wt    []float32    // flipped, transposed filters for BackwardData
	back  *Conv        // the convolution BackwardData runs, for stride 1; made on first use
	wino  *winograd    // F(2×2, 3×3), for 3×3 stride-1 shapes where it pays
	w4    *wino4       // F(4×4, 3×3) on the assembly kernels, where they run
	gc    *gemmConv    // im2col on the assembly kernels, for deep filters on small outputs
	sh    *shallowConv // the forward pass on the assembly kernels, for few input taps
}

// Tuning of the unrolled matrices, measured on CNNModel, DropoutCNN and
// ImprovedCNN layers (see BenchmarkConvLayers). Variables, so benchmarks
// can sweep them.
var (
	// maxWideWaste is how much wider than OutW a full-width row may be.
	maxWideWaste = 1.25
	// groupCols is the number of sgemm columns worth grouping images for.
	groupCols = 512
	// backConvMaxRatio bounds input over output pixels for computing the
	// input gradient as a convolution: that convolution does this many
	// times the work of the forward one, in exchange for no col2im. It
	// only pays for few filters (backConvMaxK): with more, the col2im
	// path's sgemm is deep enough to run fast, while the convolution's has
	// only C rows.
	backConvMaxRatio = 1.3
	backConvMaxK     = 32
	// w4AdjointOn computes the input gradient of the F(4×4, 3×3) engine's
	// layers over their own tiles (wino4.backwardData) where its kernels
	// can and those are fewer than the flipped convolution's (measured on
	// the models' layers, 2026-11-30: DropoutCNN's conv5 5.75 → 3.72 ms,
	// ImprovedCNN's third convolution 5.19 → 3.39; even where the tiles
	// are as many); benchmarks turn it off to compare.
	w4AdjointOn = true
	// winogradOn enables Winograd F(2×2, 3×3) where useWinograd says.
	winogradOn   = true
	winogradMinW = 8 // rows of 4 tiles: the narrowest AVX2 transforms
)

// useWinograd reports whether a convolution of shape s runs Winograd
// F(2×2, 3×3) forward and for the filter gradient. It needs a 3×3 kernel
// at stride 1, and pays (BenchmarkWinograd, on the models' layers) when
// there are enough channels for the matrix products to outweigh the
// transforms, and rows of at least 4 tiles for the AVX2 transforms or
// else many input channels. It loses on 3-channel inputs and 3×3 outputs.
func useWinograd(s ConvShape) bool {
	return winogradOn && s.R == 3 && s.S == 3 && s.Stride == 1 && s.C >= 16 && s.K >= 16 &&
		s.OutH() >= 6 && s.OutW() >= 6 && (s.OutW() >= winogradMinW || s.C >= 64)
}

// winogradData reports whether the input gradient should run as the
// Winograd convolution bs (the flipped filters over the padded output
// gradient): it has more tiles than the forward pass and loses to col2im
// when it also has many channels on small images.
func winogradData(bs ConvShape) bool {
	return useWinograd(bs) && (bs.OutW() >= 16 || bs.C*bs.K <= 64*64)
}

// NewConv returns a convolution of shape s.
func NewConv(s ConvShape) (*Conv, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := &Conv{ConvShape: s}
	oh, ow := s.OutH(), s.OutW()
	c.hp, c.wp = s.H+2*s.Pad, s.W+2*s.Pad
	c.wide = s.Stride == 1 && !c.direct() && float64(c.wp) <= maxWideWaste*float64(ow)
	c.ws = ow
	if c.wide {
		c.ws = c.wp
	}
	c.cols = oh * c.ws
	kn := w4Active()
	switch {
	case useWino4(s, w4For(s)):
		c.w4 = newWino4(s, w4For(s))
	case useWinograd(s):
		c.wino = newWinograd(s)
	case useGemmConv(s, kn) && !blas.IsOpenBLAS():
		// With OpenBLAS, im2col and its sgemm are faster on these layers
		// (DropoutCNN's conv6, its three passes alternating, 2026-11-29: 41
		// against 49 ms of CPU); without it, the micro-kernels are about
		// twice the pure-Go sgemm.
		c.gc = newGemmConv(s, kn)
	case useShallow(s, kn):
		c.sh = newShallowConv(s, kn)
	}
	c.group = 1
	if !c.direct() {
		c.group = max(1, min((groupCols+c.cols-1)/c.cols, s.N/2))
	}
	return c, nil
}

func (c *Conv) inSize() int  { return c.C * c.H * c.W }
func (c *Conv) outSize() int { return c.K * c.OutH() * c.OutW() }

// direct reports whether the input is its own im2col matrix (1×1, stride 1,
// no padding).
func (c *Conv) direct() bool { return c.R == 1 && c.S == 1 && c.Stride == 1 && c.Pad == 0 }

// groups is the number of image groups; group g holds images
// [g·group, min(N, (g+1)·group)).
func (c *Conv) groups() int { return (c.N + c.group - 1) / c.group }

func (c *Conv) groupRange(g int) (lo, hi int) { return g * c.group, min(c.N, (g+1)*c.group) }

// prepare sizes the per-worker scratch for nw workers.
func (c *Conv) prepare(nw int) {
	crs := c.C * c.R * c.S
	if c.direct() {
		return
	}
	c.col = perWorker(c.col, nw, crs*c.group*c.cols)
	c.ybuf = perWorker(c.ybuf, nw, c.K*c.group*c.cols)
	if c.wide && c.Pad > 0 {
		fresh := len(c.xpad) < nw
		c.xpad = perWorker(c.xpad, nw, c.C*c.hp*c.wp)
		if fresh {
			for _, b := range c.xpad {
				clear(b) // the borders stay zero from call to call
			}
		}
	}
}

// unroll writes the unrolled matrices of images [lo, hi) side by side into
// col, whose rows are (hi−lo)·cols long.
func (c *Conv) unroll(col, x []float32, lo, hi, wk int) {
	ld := (hi - lo) * c.cols
	for n := lo; n < hi; n++ {
		xn := x[n*c.inSize() : (n+1)*c.inSize()]
		dst := col[(n-lo)*c.cols:]
		if !c.wide {
			im2col(dst, ld, xn, &c.ConvShape)
			continue
		}
		if c.Pad > 0 {
			buf := c.xpad[wk]
			for ch := range c.C {
				for i := range c.H {
					o := (ch*c.hp+i+c.Pad)*c.wp + c.Pad
					copy(buf[o:o+c.W], xn[(ch*c.H+i)*c.W:(ch*c.H+i+1)*c.W])
				}
			}
			xn = buf
		}
		im2colWide(dst, ld, c.cols, xn, c.C, c.hp, c.wp, c.R, c.S)
	}
}

// Forward computes y = conv(x, w) + b, with x N×C×H×W, w K×C×R×S, b of K
// (nil for no bias) and y N×K×OutH×OutW.
func (c *Conv) Forward(y, x, w, b []float32) {
	c.forward(y, x, w, b, false, 0)
}

// ForwardLeakyReLU computes y = LeakyReLU(conv(x, w) + b, slope) in one pass
// (slope 0 is ReLU). Its gradient is LeakyReLUBackward of y followed by
// BackwardData and BackwardFilter.
func (c *Conv) ForwardLeakyReLU(y, x, w, b []float32, slope float32) {
	c.forward(y, x, w, b, true, slope)
}

func (c *Conv) forward(y, x, w, b []float32, act bool, slope float32) {
	if c.w4 != nil {
		c.w4.forward(y, x, w, b, false, act, slope)
		return
	}
	if c.wino != nil {
		c.wino.transformFilters(w)
		c.wino.forward(y, x, b, act, slope)
		return
	}
	if c.gc != nil {
		c.gc.forward(y, x, w, b, act, slope)
		return
	}
	if c.sh != nil {
		c.sh.forward(y, x, w, b, act, slope)
		return
	}
	oh, ow := c.OutH(), c.OutW()
	crs := c.C * c.R * c.S
	ng := c.groups()
	c.prepare(workers(ng))
	parallel(ng, func(wk, glo, ghi int) {
		for g := glo; g < ghi; g++ {
			lo, hi := c.groupRange(g)
			ld := (hi - lo) * c.cols
			if c.direct() {
				xn, yn := x[lo*c.inSize():hi*c.inSize()], y[lo*c.outSize():hi*c.outSize()]
				sgemm(false, false, c.K, ld, crs, 1, w, crs, xn, ld, 0, yn, ld)
				biasAct(yn, yn, ld, b, oh, ow, ow, act, slope)
				continue
			}
			col := c.col[wk]
			c.unroll(col, x, lo, hi, wk)
			if hi-lo == 1 && !c.wide { // the sgemm can write the output itself
				yn := y[lo*c.outSize() : hi*c.outSize()]
				sgemm(false, false, c.K, ld, crs, 1, w, crs, col, ld, 0, yn, ld)
				biasAct(yn, yn, ld, b, oh, ow, ow, act, slope)
				continue
			}
			yb := c.ybuf[wk]
			sgemm(false, false, c.K, ld, crs, 1, w, crs, col, ld, 0, yb, ld)
			for n := lo; n < hi; n++ {
				biasAct(y[n*c.outSize():(n+1)*c.outSize()], yb[(n-lo)*c.cols:], ld, b, oh, ow, c.ws, act, slope)
			}
		}
	})
}

// biasAct writes y = act(src + b) for one image's K×oh×ow output y. Channel
// k of src starts at k·ld and its rows are ws ≥ ow apart; src may be y when
// ld = oh·ow and ws = ow.
func biasAct(y, src []float32, ld int, b []float32, oh, ow, ws int, act bool, slope float32) {
	k := len(y) / (oh * ow)
	if b == nil && !act && ws == ow && ld == oh*ow && &y[0] == &src[0] {
		return
	}
	rows, width := oh, ow
	if ws == ow { // contiguous rows: one run per channel
		rows, width = 1, oh*ow
	}
	for kk := range k {
		var bk float32
		if b != nil {
			bk = b[kk]
		}
		for i := range rows {
			in := src[kk*ld+i*ws : kk*ld+i*ws+width]
			out := y[(kk*rows+i)*width : (kk*rows+i+1)*width]
			if act {
				addLeaky(out, in, bk, slope)
			} else {
				addBias(out, in, bk)
			}
		}
	}
}

// im2colWide unrolls a C×H×W image for a stride-1, unpadded R×S
// convolution in full width into col, whose rows are ld apart: row
// (c, r, q) holds the l = OutH·W pixels starting at (c, r, q), so column
// i·W+j is the patch under output pixel (i, j), and columns with
// j ≥ W−S+1 hold values that are discarded.
func im2colWide(col []float32, ld, l int, x []float32, c, h, w, r, s int) {
	row := 0
	for ch := range c {
		for rr := range r {
			for q := range s {
				dst := col[row*ld : row*ld+l]
				row++
				off := (ch*h+rr)*w + q
				n := copy(dst, x[off:])
				clear(dst[n:]) // past the end of the last plane
			}
		}
	}
}

// Backward computes dx (nil to skip) as BackwardData does, and dw and db
// as BackwardFilter does. On the F(4×4, 3×3) engine, where the input
// gradient goes over the forward pass's tiles, both come from one pass,
// which transforms the output gradient once for the two.
func (c *Conv) Backward(dx, dw, db, dy, x, w []float32) {
	if dx != nil && c.w4Adjoint(true) {
		c.w4.backward(dx, dw, db, dy, x, w)
		return
	}
	if dx != nil {
		c.BackwardData(dx, dy, w)
	}
	c.BackwardFilter(dw, db, dy, x)
}

// w4Adjoint reports whether the input gradient runs on the engine over
// the forward pass's tiles: where its kernels can, and those tiles are
// fewer than the flipped convolution's. With both (the filter gradient
// in the same pass), also where they are as many, for big filters: the
// one pass by ξ shares the output gradient's transform with the filter
// gradient (ImprovedCNN's last convolution, both gradients 11.29 →
// 10.91 ms, medians of 60 alternated runs).
func (c *Conv) w4Adjoint(both bool) bool {
	if c.w4 == nil || c.w4.kd == nil || !w4AdjointOn {
		return false
	}
	tiles, flipped := c.w4.th*c.w4.tw, ((c.H+3)/4)*((c.W+3)/4)
	return tiles < flipped || both && tiles == flipped && c.w4.bigFilters()
}

// BackwardData computes dx, the gradient of a loss with respect to the
// input x, from dy, the gradient with respect to the output.
func (c *Conv) BackwardData(dx, dy, w []float32) {
	if c.w4Adjoint(false) {
		c.w4.backwardData(dx, dy, w)
		return
	}
	if c.back == nil && c.Stride == 1 && c.Pad <= c.R-1 && c.R == c.S {
		bs := ConvShape{N: c.N, C: c.K, H: c.OutH(), W: c.OutW(), K: c.C, R: c.R, S: c.S, Stride: 1, Pad: c.R - 1 - c.Pad}
		if useWino4(bs, w4For(bs)) || winogradData(bs) || c.K <= backConvMaxK && float64(c.H*c.W) <= backConvMaxRatio*float64(c.OutH()*c.OutW()) {
			c.back, _ = NewConv(bs)
		}
	}
	if c.back != nil && c.back.w4 != nil {
		// The engine flips and swaps the filters as it transforms them.
		c.back.w4.forward(dx, dy, w, nil, true, false, 0)
		return
	}
	if c.back != nil {
		// dx = conv(dy padded by R−1−Pad, w flipped in space, K and C swapped).
		c.wt = grow(c.wt, len(w))
		rs := c.R * c.S
		parallel(c.K, func(_, lo, hi int) {
			for k := lo; k < hi; k++ {
				for ch := range c.C {
					src := w[(k*c.C+ch)*rs : (k*c.C+ch+1)*rs]
					dst := c.wt[(ch*c.K+k)*rs : (ch*c.K+k+1)*rs]
					for i, v := range src {
						dst[rs-1-i] = v
					}
				}
			}
		})
		c.back.Forward(dx, dy, c.wt, nil)
		return
	}
	if c.gc != nil {
		c.gc.backwardData(dx, dy, w)
		return
	}
	oh, ow := c.OutH(), c.OutW()
	p := oh * ow
	crs := c.C * c.R * c.S
	ng := c.groups()
	nw := workers(ng)
	c.col = perWorker(c.col, nw, crs*c.group*p)
	c.ybuf = perWorker(c.ybuf, nw, c.K*c.group*p)
	parallel(ng, func(wk, glo, ghi int) {
		for g := glo; g < ghi; g++ {
			lo, hi := c.groupRange(g)
			ld := (hi - lo) * p
			dyg := dy[lo*c.outSize() : hi*c.outSize()]
			if hi-lo > 1 {
				dyg = c.ybuf[wk]
				for n := lo; n < hi; n++ {
					gather(dyg[(n-lo)*p:], ld, dy[n*c.outSize():(n+1)*c.outSize()], oh, ow, ow)
				}
			}
			col := c.col[wk]
			if c.direct() && hi-lo == 1 {
				col = dx[lo*c.inSize() : hi*c.inSize()]
			}
			// col = wᵀ · dy_g, then scatter back into the images.
			sgemm(true, false, crs, ld, c.K, 1, w, crs, dyg, ld, 0, col, ld)
			if c.direct() && hi-lo == 1 {
				continue
			}
			for n := lo; n < hi; n++ {
				col2im(dx[n*c.inSize():(n+1)*c.inSize()], col[(n-lo)*p:], ld, &c.ConvShape)
			}
		}
	})
}

// BackwardFilter computes dw and db, the gradients with respect to the
// weights and the bias, from dy and the input x. db may be nil.
//
// The image groups are split into fixed shards (see shards); each sums its
// groups in order into its own buffer, and the shards are added in order,
// so the result does not depend on the number of threads.
func (c *Conv) BackwardFilter(dw, db, dy, x []float32) {
	if c.w4 != nil {
		c.w4.backwardFilter(dw, db, dy, x)
		return
	}
	if c.wino != nil {
		c.wino.backwardFilter(dw, db, dy, x)
		return
	}
	if c.gc != nil {
		c.gc.backwardFilter(dw, db, dy, x)
		return
	}
	oh, ow := c.OutH(), c.OutW()
	p := oh * ow
	crs := c.C * c.R * c.S
	ng := c.groups()
	ns := shards(ng)
	c.prepare(workers(ns))
	c.parts = perWorker(c.parts, ns-1, len(dw)+c.K)
	parallel(ns, func(wk, slo, shi int) {
		for s := slo; s < shi; s++ {
			pdw, pdb := dw, db
			if s > 0 {
				part := c.parts[s-1]
				pdw = part[:len(dw)]
				if db != nil {
					pdb = part[len(dw):]
				}
			}
			if pdb != nil {
				clear(pdb)
			}
			for g := s * ng / ns; g < (s+1)*ng/ns; g++ {
				lo, hi := c.groupRange(g)
				ld := (hi - lo) * c.cols
				beta := float32(1)
				if g == s*ng/ns {
					beta = 0
				}
				var col, dyg []float32
				switch {
				case c.direct():
					col, dyg = x[lo*c.inSize():hi*c.inSize()], dy[lo*c.outSize():hi*c.outSize()]
				case hi-lo == 1 && !c.wide:
					col, dyg = c.col[wk], dy[lo*c.outSize():hi*c.outSize()]
					c.unroll(col, x, lo, hi, wk)
				default:
					col, dyg = c.col[wk], c.ybuf[wk]
					c.unroll(col, x, lo, hi, wk)
					for n := lo; n < hi; n++ {
						gather(dyg[(n-lo)*c.cols:], ld, dy[n*c.outSize():(n+1)*c.outSize()], oh, ow, c.ws)
					}
				}
				// dw (+)= dy_g · col_gᵀ
				sgemm(false, true, c.K, crs, ld, 1, dyg, ld, col, ld, beta, pdw, crs)
				if pdb != nil {
					for n := lo; n < hi; n++ {
						rowSums(pdb, dy[n*c.outSize():(n+1)*c.outSize()], p)
					}
				}
			}
		}
	})
	parallelElems(len(dw), func(lo, hi int) {
		for s := 1; s < ns; s++ { // in shard order, for any split of [lo, hi)
			add(dw[lo:hi], c.parts[s-1][lo:hi])
		}
	})
	if db != nil {
		for s := 1; s < ns; s++ {
			add(db, c.parts[s-1][len(dw):])
		}
	}
}

// gather copies one image's K×oh×ow gradient src into dst, where channel k
// starts at k·ld and rows are ws ≥ ow apart, zeroing the extra columns.
func gather(dst []float32, ld int, src []float32, oh, ow, ws int) {
	k := len(src) / (oh * ow)
	for kk := range k {
		for i := range oh {
			d := dst[kk*ld+i*ws : kk*ld+(i+1)*ws]
			copy(d, src[(kk*oh+i)*ow:(kk*oh+i+1)*ow])
			clear(d[ow:])
		}
	}
}

// rowSums adds the sum of each row of the len(db)×p matrix m to db.
func rowSums(db, m []float32, p int) {
	for k := range db {
		db[k] += sum32(m[k*p : (k+1)*p])
	}
}

// add sets dst += src.
func add(dst, src []float32) {
	src = src[:len(dst)]
	if n := len(dst) &^ 7; hasAVX2 && n > 0 {
		addAVX2(&dst[0], &src[0], n)
		dst, src = dst[n:], src[n:]
	}
	for i, v := range src {
		dst[i] += v
	}
}

// im2col unrolls one image into col, a (C·R·S)×(OutH·OutW) matrix with rows
// ld apart, whose column j holds the input patch under output pixel j.
func im2col(col []float32, ld int, x []float32, s *ConvShape) {
	oh, ow := s.OutH(), s.OutW()
	if s.Stride == 1 && s.Pad == 0 {
		im2colValid(col, ld, x, s, oh, ow)
		return
	}
	row := 0
	for c := range s.C {
		plane := x[c*s.H*s.W : (c+1)*s.H*s.W]
		for r := range s.R {
			for q := range s.S {
				dst := col[row*ld : row*ld+oh*ow]
				row++
				for i := range oh {
					yy := i*s.Stride + r - s.Pad
					out := dst[i*ow : (i+1)*ow]
					if yy < 0 || yy >= s.H {
						clear(out)
						continue
					}
					src := plane[yy*s.W : (yy+1)*s.W]
					if s.Stride == 1 {
						// Output columns j in [j0, j1) read inside the image.
						j0, j1 := max(0, s.Pad-q), min(ow, s.W+s.Pad-q)
						if j1 <= j0 {
							clear(out)
							continue
						}
						clear(out[:j0])
						in := src[j0+q-s.Pad : j1+q-s.Pad]
						if len(in) < 16 { // a loop beats a call to memmove
							o := out[j0:j1]
							for k, v := range in {
								o[k] = v
							}
						} else {
							copy(out[j0:j1], in)
						}
						clear(out[j1:])
						continue
					}
					for j := range ow {
						xx := j*s.Stride + q - s.Pad
						if xx < 0 || xx >= s.W {
							out[j] = 0
						} else {
							out[j] = src[xx]
						}
					}
				}
			}
		}
	}
}

// col2im is the adjoint of im2col: it sums the columns of col, whose rows
// are ld apart, back into the image dx, which it overwrites.
func col2im(dx, col []float32, ld int, s *ConvShape) {
	clear(dx)
	oh, ow := s.OutH(), s.OutW()
	if s.Stride == 1 && s.Pad == 0 && ow < 16 {
		col2imValid(dx, col, ld, s, oh, ow)
		return
	}
	row := 0
	for c := range s.C {
		plane := dx[c*s.H*s.W : (c+1)*s.H*s.W]
		for r := range s.R {
			for q := range s.S {
				src := col[row*ld : row*ld+oh*ow]
				row++
				for i := range oh {
					yy := i*s.Stride + r - s.Pad
					if yy < 0 || yy >= s.H {
						continue
					}
					dst := plane[yy*s.W : (yy+1)*s.W]
					in := src[i*ow : (i+1)*ow]
					if s.Stride == 1 {
						j0, j1 := max(0, s.Pad-q), min(ow, s.W+s.Pad-q)
						if j0 < j1 {
							add(dst[j0+q-s.Pad:j1+q-s.Pad], in[j0:j1])
						}
						continue
					}
					for j := range ow {
						xx := j*s.Stride + q - s.Pad
						if xx >= 0 && xx < s.W {
							dst[xx] += in[j]
						}
					}
				}
			}
		}
	}
}

// im2colValid is im2col at stride 1 without padding, where every patch is
// inside the image: each row of col is oh runs of ow pixels, copied without
// the bounds arithmetic of the general path, which dominates on small
// outputs (DropoutCNN's conv6: runs of 3).
func im2colValid(col []float32, ld int, x []float32, s *ConvShape, oh, ow int) {
	row := 0
	for c := range s.C {
		plane := x[c*s.H*s.W : (c+1)*s.H*s.W]
		for r := range s.R {
			for q := range s.S {
				dst := col[row*ld : row*ld+oh*ow]
				row++
				for i := range oh {
					o := dst[i*ow : (i+1)*ow]
					in := plane[(i+r)*s.W+q:]
					in = in[:len(o)]
					if len(o) < 16 { // a loop beats a call to memmove
						for k := range o {
							o[k] = in[k]
						}
					} else {
						copy(o, in)
					}
				}
			}
		}
	}
}

// col2imValid is col2im at stride 1 without padding on outputs narrower
// than 16 pixels: the runs are summed in a loop rather than by calls to
// add, in the same order, so the result is the same.
func col2imValid(dx, col []float32, ld int, s *ConvShape, oh, ow int) {
	row := 0
	for c := range s.C {
		plane := dx[c*s.H*s.W : (c+1)*s.H*s.W]
		for r := range s.R {
			for q := range s.S {
				src := col[row*ld : row*ld+oh*ow]
				row++
				for i := range oh {
					in := src[i*ow : (i+1)*ow]
					d := plane[(i+r)*s.W+q:]
					d = d[:len(in)]
					for k, v := range in {
						d[k] += v
					}
				}
			}
		}
	}
}
