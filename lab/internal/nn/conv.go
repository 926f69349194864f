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
type Conv struct {
	ConvShape
	col []float32 // C·R·S × OutH·OutW, one image at a time
}

// NewConv returns a convolution of shape s.
func NewConv(s ConvShape) (*Conv, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &Conv{ConvShape: s}, nil
}

func (c *Conv) colSize() int { return c.C * c.R * c.S * c.OutH() * c.OutW() }

// Forward computes y = conv(x, w) + b, with x N×C×H×W, w K×C×R×S, b of K
// (nil for no bias) and y N×K×OutH×OutW.
func (c *Conv) Forward(y, x, w, b []float32) {
	p := c.OutH() * c.OutW()
	crs := c.C * c.R * c.S
	c.col = grow(c.col, c.colSize())
	for n := range c.N {
		xn := x[n*c.C*c.H*c.W : (n+1)*c.C*c.H*c.W]
		yn := y[n*c.K*p : (n+1)*c.K*p]
		im2col(c.col, xn, &c.ConvShape)
		sgemm(false, false, c.K, p, crs, 1, w, crs, c.col, p, 0, yn, p)
		if b != nil {
			for k := range c.K {
				row := yn[k*p : (k+1)*p]
				for i := range row {
					row[i] += b[k]
				}
			}
		}
	}
}

// BackwardData computes dx, the gradient of a loss with respect to the
// input x, from dy, the gradient with respect to the output.
func (c *Conv) BackwardData(dx, dy, w []float32) {
	p := c.OutH() * c.OutW()
	crs := c.C * c.R * c.S
	c.col = grow(c.col, c.colSize())
	for n := range c.N {
		// col = wᵀ · dy_n, then scatter back into the image.
		sgemm(true, false, crs, p, c.K, 1, w, crs, dy[n*c.K*p:(n+1)*c.K*p], p, 0, c.col, p)
		col2im(dx[n*c.C*c.H*c.W:(n+1)*c.C*c.H*c.W], c.col, &c.ConvShape)
	}
}

// BackwardFilter computes dw and db, the gradients with respect to the
// weights and the bias, from dy and the input x. db may be nil.
func (c *Conv) BackwardFilter(dw, db, dy, x []float32) {
	p := c.OutH() * c.OutW()
	crs := c.C * c.R * c.S
	c.col = grow(c.col, c.colSize())
	clear(dw)
	if db != nil {
		clear(db)
	}
	for n := range c.N {
		dyn := dy[n*c.K*p : (n+1)*c.K*p]
		im2col(c.col, x[n*c.C*c.H*c.W:(n+1)*c.C*c.H*c.W], &c.ConvShape)
		// dw += dy_n · col_nᵀ
		sgemm(false, true, c.K, crs, p, 1, dyn, p, c.col, p, 1, dw, crs)
		if db != nil {
			for k := range c.K {
				var s float32
				for _, v := range dyn[k*p : (k+1)*p] {
					s += v
				}
				db[k] += s
			}
		}
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
				for i := range oh {
					yy := i*s.Stride + r - s.Pad
					out := dst[i*ow : (i+1)*ow]
					if yy < 0 || yy >= s.H {
						clear(out)
						continue
					}
					src := plane[yy*s.W : (yy+1)*s.W]
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

func grow(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}
