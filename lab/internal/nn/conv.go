package nn

import "fmt"

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
// Each image is unrolled (im2col) into a matrix and multiplied by the
// filters with one sgemm; the images of the batch are split over
// GOMAXPROCS goroutines. For stride 1 the unrolled matrix is "full width":
// it computes OutH rows of the padded width Wp instead of OutW, so that
// each of its rows is one contiguous copy of the (padded) input and the
// sgemm's output is compacted in the same pass that adds the bias. The
// input gradient for stride 1 is itself such a convolution, of the padded
// output gradient with the flipped filters, which replaces the scatter-add
// of col2im by copies.
type Conv struct {
	ConvShape
	col   [][]float32 // per worker: C·R·S × OutH·OutW, or OutH·Wp at stride 1
	yfull [][]float32 // per worker, stride 1: K × OutH·Wp
	xpad  [][]float32 // per worker, stride 1 with padding: C × Hp×Wp
	parts [][]float32 // per shard but the first: partial dw and db
	wt    []float32   // flipped, transposed filters for BackwardData
	back  *Conv       // the convolution BackwardData runs, for stride 1
}

// NewConv returns a convolution of shape s.
func NewConv(s ConvShape) (*Conv, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := &Conv{ConvShape: s}
	if s.Stride == 1 && s.Pad <= s.R-1 && s.Pad <= s.S-1 && s.R == s.S {
		c.back = &Conv{ConvShape: ConvShape{N: s.N, C: s.K, H: s.OutH(), W: s.OutW(), K: s.C, R: s.R, S: s.S, Stride: 1, Pad: s.R - 1 - s.Pad}}
	}
	return c, nil
}

func (c *Conv) inSize() int  { return c.C * c.H * c.W }
func (c *Conv) outSize() int { return c.K * c.OutH() * c.OutW() }

// direct reports whether the input is its own im2col matrix (1×1, stride 1,
// no padding).
func (c *Conv) direct() bool { return c.R == 1 && c.S == 1 && c.Stride == 1 && c.Pad == 0 }

// wide reports whether the full-width stride-1 path applies.
func (c *Conv) wide() bool { return c.Stride == 1 && !c.direct() }

// padded returns the input of image n, copied into a zero-padded C×Hp×Wp
// buffer when the convolution pads, and its padded height and width.
func (c *Conv) padded(x []float32, n, wk int) ([]float32, int, int) {
	xn := x[n*c.inSize() : (n+1)*c.inSize()]
	if c.Pad == 0 {
		return xn, c.H, c.W
	}
	hp, wp := c.H+2*c.Pad, c.W+2*c.Pad
	buf := c.xpad[wk]
	// The borders stay zero from call to call; only the interior is copied.
	for ch := range c.C {
		for i := range c.H {
			o := (ch*hp+i+c.Pad)*wp + c.Pad
			copy(buf[o:o+c.W], xn[(ch*c.H+i)*c.W:(ch*c.H+i+1)*c.W])
		}
	}
	return buf, hp, wp
}

// prepare sizes the per-worker scratch for nw workers.
func (c *Conv) prepare(nw int) {
	p := c.OutH() * c.OutW()
	crs := c.C * c.R * c.S
	switch {
	case c.direct():
	case c.wide():
		wp := c.W + 2*c.Pad
		c.col = perWorker(c.col, nw, crs*c.OutH()*wp)
		c.yfull = perWorker(c.yfull, nw, c.K*c.OutH()*wp)
		if c.Pad > 0 {
			fresh := len(c.xpad) < nw
			c.xpad = perWorker(c.xpad, nw, c.C*(c.H+2*c.Pad)*wp)
			if fresh {
				for _, b := range c.xpad {
					clear(b)
				}
			}
		}
	default:
		c.col = perWorker(c.col, nw, crs*p)
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
	oh, ow := c.OutH(), c.OutW()
	p := oh * ow
	crs := c.C * c.R * c.S
	c.prepare(workers(c.N))
	parallel(c.N, func(wk, lo, hi int) {
		for n := lo; n < hi; n++ {
			yn := y[n*c.outSize() : (n+1)*c.outSize()]
			switch {
			case c.direct():
				xn := x[n*c.inSize() : (n+1)*c.inSize()]
				sgemm(false, false, c.K, p, crs, 1, w, crs, xn, p, 0, yn, p)
				biasAct(yn, yn, b, oh, ow, ow, act, slope)
			case c.wide():
				xp, hp, wp := c.padded(x, n, wk)
				col, yf := c.col[wk], c.yfull[wk]
				im2colWide(col, xp, c.C, hp, wp, c.R, c.S)
				sgemm(false, false, c.K, oh*wp, crs, 1, w, crs, col, oh*wp, 0, yf, oh*wp)
				biasAct(yn, yf, b, oh, ow, wp, act, slope)
			default:
				xn := x[n*c.inSize() : (n+1)*c.inSize()]
				col := c.col[wk]
				im2col(col, xn, &c.ConvShape)
				sgemm(false, false, c.K, p, crs, 1, w, crs, col, p, 0, yn, p)
				biasAct(yn, yn, b, oh, ow, ow, act, slope)
			}
		}
	})
}

// biasAct writes y = act(src + b) for the K×oh×ow output y, reading src as
// K×oh×ws with ws ≥ ow (the full-width layout; src may be y when ws = ow).
func biasAct(y, src, b []float32, oh, ow, ws int, act bool, slope float32) {
	if b == nil && !act && ws == ow {
		return
	}
	k := len(y) / (oh * ow)
	if ws == ow { // contiguous rows: one run per channel
		ow, ws, oh = oh*ow, oh*ow, 1
	}
	for kk := range k {
		var bk float32
		if b != nil {
			bk = b[kk]
		}
		for i := range oh {
			in := src[(kk*oh+i)*ws : (kk*oh+i)*ws+ow]
			out := y[(kk*oh+i)*ow : (kk*oh+i+1)*ow]
			out = out[:len(in)]
			if act {
				addLeaky(out, in, bk, slope)
			} else {
				addBias(out, in, bk)
			}
		}
	}
}

// im2colWide unrolls a C×H×W image for a stride-1, unpadded R×S
// convolution in full width: row (c, r, q) of col holds the oh·W pixels
// starting at (c, r, q), so column i·W+j is the patch under output pixel
// (i, j), and columns with j ≥ W−S+1 hold values that are discarded.
func im2colWide(col, x []float32, c, h, w, r, s int) {
	oh := h - r + 1
	l := oh * w
	row := 0
	for ch := range c {
		for rr := range r {
			for q := range s {
				dst := col[row*l : (row+1)*l]
				row++
				off := (ch*h+rr)*w + q
				n := copy(dst, x[off:])
				clear(dst[n:]) // past the end of the last plane
			}
		}
	}
}

// BackwardData computes dx, the gradient of a loss with respect to the
// input x, from dy, the gradient with respect to the output.
func (c *Conv) BackwardData(dx, dy, w []float32) {
	if c.back != nil {
		// dx = conv(dy padded by R−1−Pad, w flipped in space, K and C swapped).
		c.wt = grow(c.wt, len(w))
		rs := c.R * c.S
		for k := range c.K {
			for ch := range c.C {
				src := w[(k*c.C+ch)*rs : (k*c.C+ch+1)*rs]
				dst := c.wt[(ch*c.K+k)*rs : (ch*c.K+k+1)*rs]
				for i, v := range src {
					dst[rs-1-i] = v
				}
			}
		}
		c.back.Forward(dx, dy, c.wt, nil)
		return
	}
	p := c.OutH() * c.OutW()
	crs := c.C * c.R * c.S
	c.col = perWorker(c.col, workers(c.N), crs*p)
	parallel(c.N, func(wk, lo, hi int) {
		for n := lo; n < hi; n++ {
			col := c.col[wk]
			dyn := dy[n*c.outSize() : (n+1)*c.outSize()]
			dxn := dx[n*c.inSize() : (n+1)*c.inSize()]
			if c.direct() {
				col = dxn
			}
			// col = wᵀ · dy_n, then scatter back into the image.
			sgemm(true, false, crs, p, c.K, 1, w, crs, dyn, p, 0, col, p)
			if !c.direct() {
				col2im(dxn, col, &c.ConvShape)
			}
		}
	})
}

// BackwardFilter computes dw and db, the gradients with respect to the
// weights and the bias, from dy and the input x. db may be nil.
//
// The batch is split into fixed shards (see shards); each sums its images
// in order into its own buffer, and the shards are added in order, so the
// result does not depend on the number of threads.
func (c *Conv) BackwardFilter(dw, db, dy, x []float32) {
	oh, ow := c.OutH(), c.OutW()
	p := oh * ow
	crs := c.C * c.R * c.S
	ns := shards(c.N)
	nw := workers(ns)
	c.prepare(nw)
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
			for n := s * c.N / ns; n < (s+1)*c.N/ns; n++ {
				dyn := dy[n*c.outSize() : (n+1)*c.outSize()]
				beta := float32(1)
				if n == s*c.N/ns {
					beta = 0
				}
				switch {
				case c.direct():
					xn := x[n*c.inSize() : (n+1)*c.inSize()]
					sgemm(false, true, c.K, crs, p, 1, dyn, p, xn, p, beta, pdw, crs)
				case c.wide():
					xp, hp, wp := c.padded(x, n, wk)
					col, dyf := c.col[wk], c.yfull[wk]
					im2colWide(col, xp, c.C, hp, wp, c.R, c.S)
					widen(dyf, dyn, oh, ow, wp)
					sgemm(false, true, c.K, crs, oh*wp, 1, dyf, oh*wp, col, oh*wp, beta, pdw, crs)
				default:
					xn := x[n*c.inSize() : (n+1)*c.inSize()]
					col := c.col[wk]
					im2col(col, xn, &c.ConvShape)
					// dw (+)= dy_n · col_nᵀ
					sgemm(false, true, c.K, crs, p, 1, dyn, p, col, p, beta, pdw, crs)
				}
				if pdb != nil {
					rowSums(pdb, dyn, p)
				}
			}
		}
	})
	for s := 1; s < ns; s++ {
		part := c.parts[s-1]
		add(dw, part[:len(dw)])
		if db != nil {
			add(db, part[len(dw):])
		}
	}
}

// widen copies the K×oh×ow matrix src into dst in full width K×oh×ws,
// zeroing the extra columns.
func widen(dst, src []float32, oh, ow, ws int) {
	for r := range len(src) / ow {
		d := dst[r*ws : (r+1)*ws]
		copy(d, src[r*ow:(r+1)*ow])
		clear(d[ow:])
	}
}

// rowSums adds the sum of each row of the len(db)×p matrix m to db.
func rowSums(db, m []float32, p int) {
	for k := range db {
		var s0, s1, s2, s3 float32
		row := m[k*p : (k+1)*p]
		i := 0
		for ; i+4 <= len(row); i += 4 {
			s0 += row[i]
			s1 += row[i+1]
			s2 += row[i+2]
			s3 += row[i+3]
		}
		for ; i < len(row); i++ {
			s0 += row[i]
		}
		db[k] += (s0 + s1) + (s2 + s3)
	}
}

// add sets dst += src.
func add(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// im2col unrolls one image into col, a (C·R·S)×(OutH·OutW) matrix whose
// column j holds the input patch under output pixel j.
func im2col(col, x []float32, s *ConvShape) {
	oh, ow := s.OutH(), s.OutW()
	row := 0
	for c := range s.C {
		plane := x[c*s.H*s.W : (c+1)*s.H*s.W]
		for r := range s.R {
			for q := range s.S {
				dst := col[row*oh*ow : (row+1)*oh*ow]
				row++
				// Output columns j in [j0, j1) read inside the image.
				j0, j1 := 0, ow
				if s.Stride == 1 {
					j0 = max(0, s.Pad-q)
					j1 = min(ow, s.W+s.Pad-q)
				}
				for i := range oh {
					yy := i*s.Stride + r - s.Pad
					out := dst[i*ow : (i+1)*ow]
					if yy < 0 || yy >= s.H {
						clear(out)
						continue
					}
					src := plane[yy*s.W : (yy+1)*s.W]
					if s.Stride == 1 {
						if j1 <= j0 {
							clear(out)
							continue
						}
						clear(out[:j0])
						copy(out[j0:j1], src[j0+q-s.Pad:])
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

// col2im is the adjoint of im2col: it sums the columns of col back into the
// image dx, which it overwrites.
func col2im(dx, col []float32, s *ConvShape) {
	clear(dx)
	oh, ow := s.OutH(), s.OutW()
	row := 0
	for c := range s.C {
		plane := dx[c*s.H*s.W : (c+1)*s.H*s.W]
		for r := range s.R {
			for q := range s.S {
				src := col[row*oh*ow : (row+1)*oh*ow]
				row++
				for i := range oh {
					yy := i*s.Stride + r - s.Pad
					if yy < 0 || yy >= s.H {
						continue
					}
					dst := plane[yy*s.W : (yy+1)*s.W]
					in := src[i*ow : (i+1)*ow]
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
