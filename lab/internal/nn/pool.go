package nn

import (
	"fmt"
	"math"
)

// MaxPool is a max pooling of a fixed shape: square windows of Size with the
// given Stride and no padding, flooring the output size as PyTorch does. It
// remembers where each maximum came from for Backward.
type MaxPool struct {
	N, C, H, W   int
	Size, Stride int
	argmax       []int32 // per output element, offset of the max within its plane
}

// NewMaxPool returns a max pooling of N×C×H×W inputs.
func NewMaxPool(n, c, h, w, size, stride int) (*MaxPool, error) {
	p := &MaxPool{N: n, C: c, H: h, W: w, Size: size, Stride: stride}
	if n < 1 || c < 1 || h < 1 || w < 1 || size < 1 || stride < 1 {
		return nil, fmt.Errorf("maxpool: sizes must be positive: %+v", *p)
	}
	if p.OutH() < 1 || p.OutW() < 1 {
		return nil, fmt.Errorf("maxpool: a %d×%d window does not fit a %d×%d input", size, size, h, w)
	}
	return p, nil
}

// OutH is the output height.
func (p *MaxPool) OutH() int { return (p.H-p.Size)/p.Stride + 1 }

// OutW is the output width.
func (p *MaxPool) OutW() int { return (p.W-p.Size)/p.Stride + 1 }

// Forward writes the window maxima of x into y. Ties go to the first
// maximum in row-major order; NaN propagates, as in PyTorch.
func (p *MaxPool) Forward(y, x []float32) {
	oh, ow := p.OutH(), p.OutW()
	planes := p.N * p.C
	if cap(p.argmax) < planes*oh*ow {
		p.argmax = make([]int32, planes*oh*ow)
	}
	p.argmax = p.argmax[:planes*oh*ow]
	for pl := range planes {
		in := x[pl*p.H*p.W : (pl+1)*p.H*p.W]
		out := y[pl*oh*ow : (pl+1)*oh*ow]
		am := p.argmax[pl*oh*ow : (pl+1)*oh*ow]
		for i := range oh {
			for j := range ow {
				best := float32(math.Inf(-1))
				at := int32((i*p.Stride)*p.W + j*p.Stride)
				for r := range p.Size {
					base := (i*p.Stride+r)*p.W + j*p.Stride
					for q := range p.Size {
						v := in[base+q]
						if v > best || v != v {
							best, at = v, int32(base+q)
							if v != v {
								break
							}
						}
					}
				}
				out[i*ow+j] = best
				am[i*ow+j] = at
			}
		}
	}
}

// Backward routes dy to the positions of the maxima found by the last
// Forward, writing dx.
func (p *MaxPool) Backward(dx, dy []float32) {
	oh, ow := p.OutH(), p.OutW()
	clear(dx)
	for pl := range p.N * p.C {
		d := dx[pl*p.H*p.W : (pl+1)*p.H*p.W]
		g := dy[pl*oh*ow : (pl+1)*oh*ow]
		for o, at := range p.argmax[pl*oh*ow : (pl+1)*oh*ow] {
			d[at] += g[o]
		}
	}
}
