package nn

import (
	"fmt"
	"math"
)

// MaxPool is a max pooling of a fixed shape: square windows of Size with the
// given Stride and no padding, flooring the output size as PyTorch does. It
// remembers where each maximum came from for Backward, so one MaxPool must
// not run concurrently with itself.
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
	parallel(planes, func(_, lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			in := x[pl*p.H*p.W : (pl+1)*p.H*p.W]
			out := y[pl*oh*ow : (pl+1)*oh*ow]
			am := p.argmax[pl*oh*ow : (pl+1)*oh*ow]
			if p.Size == 2 && p.Stride == 2 {
				pool2x2(out, am, in, oh, ow, p.W)
			} else {
				p.poolPlane(out, am, in, oh, ow)
			}
		}
	})
}

// ForwardEval writes the window maxima of x into y, as Forward, without
// recording where they came from: for evaluation, which has no backward
// pass. NaN propagates.
func (p *MaxPool) ForwardEval(y, x []float32) {
	oh, ow := p.OutH(), p.OutW()
	planes := p.N * p.C
	// The vector kernel's offsets, not kept: one plane's per goroutine,
	// made once here (parallel calls f for many chunks).
	var ams []int32
	if p.Size == 2 && p.Stride == 2 && hasAVX2 {
		ams = make([]int32, workers(planes)*oh*ow)
	}
	parallel(planes, func(w, lo, hi int) {
		var am []int32
		if ams != nil {
			am = ams[w*oh*ow : (w+1)*oh*ow]
		}
		for pl := lo; pl < hi; pl++ {
			in := x[pl*p.H*p.W : (pl+1)*p.H*p.W]
			out := y[pl*oh*ow : (pl+1)*oh*ow]
			if am != nil {
				pool2x2(out, am, in, oh, ow, p.W)
				continue
			}
			if p.Size != 2 || p.Stride != 2 {
				var am [1]int32
				for i := range oh {
					for j := range ow {
						p.poolPlaneAt(out[i*ow+j:], am[:], in, i, j)
					}
				}
				continue
			}
			for i := range oh {
				r0 := in[2*i*p.W : 2*i*p.W+2*ow]
				r1 := in[(2*i+1)*p.W : (2*i+1)*p.W+2*ow]
				o := out[i*ow : (i+1)*ow]
				for j := range o {
					o[j] = max(max(r0[2*j], r0[2*j+1]), max(r1[2*j], r1[2*j+1]))
				}
			}
		}
	})
}

// pool2x2 is the 2×2, stride 2 case. It has no data-dependent branches:
// on activations each comparison is a coin toss. Rows of 8 outputs or more
// go to the vector kernel, their last partial group again as the last 8
// (the overlap is written twice, the same); planes of shorter rows are
// packed so the kernel sees whole groups (pool2x2Packed).
func pool2x2(out []float32, am []int32, in []float32, oh, ow, w int) {
	if hasAVX2 && ow < 8 && oh*ow >= 8 && pool2x2Packed(out, am, in, oh, ow, w) {
		return
	}
	for i := range oh {
		r0 := in[2*i*w : 2*i*w+2*ow]
		r1 := in[(2*i+1)*w : (2*i+1)*w+2*ow]
		o := out[i*ow : (i+1)*ow]
		a := am[i*ow : (i+1)*ow]
		base := int32(2 * i * w)
		j0 := 0
		if hasAVX2 && ow >= 8 {
			j0 = pool2x2AVX2(&o[0], &a[0], &r0[0], &r1[0], ow, base, int32(w))
			if t := ow - 8; j0 == ow&^7 && j0 < ow &&
				pool2x2AVX2(&o[t], &a[t], &r0[2*t], &r1[2*t], 8, base+int32(2*t), int32(w)) == 8 {
				j0 = ow
			}
		}
		pool2x2Go(o[j0:], a[j0:], r0[2*j0:], r1[2*j0:], base+int32(2*j0), int32(w))
	}
}

// pool2x2Go pools the windows of rows r0 and r1 into o and a, as
// pool2x2AVX2 does; base is the plane offset of r0[0].
func pool2x2Go(o []float32, a []int32, r0, r1 []float32, base, w int32) {
	for j := range o {
		v0, v1, v2, v3 := r0[2*j], r0[2*j+1], r1[2*j], r1[2*j+1]
		m := max(max(v0, v1), max(v2, v3))
		// The first of the four equal to the maximum.
		n0 := 1 - b2u(v0 == m)
		n1 := n0 * (1 - b2u(v1 == m))
		n2 := n1 * (1 - b2u(v2 == m))
		at := base + int32(2*j) + int32(n0-n1) + int32(n1)*w + int32(n2)
		if m != m { // NaN: the first NaN, as the general path finds it
			at = base + int32(2*j)
			switch {
			case v0 != v0:
			case v1 != v1:
				at++
			case v2 != v2:
				at += w
			default:
				at += w + 1
			}
		}
		o[j], a[j] = m, at
	}
}

// pool2x2PackMax bounds the outputs of a plane pool2x2Packed takes.
const pool2x2PackMax = 64

// pool2x2Packed pools a small plane whose rows are shorter than the
// kernel's groups of 8 (the 5×5 and 6×6 outputs of the assignment's last
// pools): the rows' window tops and bottoms are packed end to end, padded
// to whole groups, pooled in one kernel call, and the offsets moved back
// to the rows they came from. It reports false, having written nothing
// final, for planes too large or holding a NaN or an infinity, which the
// caller pools row by row.
func pool2x2Packed(out []float32, am []int32, in []float32, oh, ow, w int) bool {
	n := oh * ow
	if n > pool2x2PackMax {
		return false
	}
	var top, bot [2 * pool2x2PackMax]float32
	var po [pool2x2PackMax]float32
	var pa [pool2x2PackMax]int32
	for i := range oh {
		copy(top[2*i*ow:2*(i+1)*ow], in[2*i*w:])
		copy(bot[2*i*ow:2*(i+1)*ow], in[(2*i+1)*w:])
	}
	groups := (n + 7) &^ 7
	if pool2x2AVX2(&po[0], &pa[0], &top[0], &bot[0], groups, 0, int32(w)) < groups {
		return false
	}
	// Output t = i·ow + j came out at 2t + d; its plane offset is
	// 2i·w + 2j + d.
	for i := range oh {
		shift := int32(2 * i * (w - ow))
		for j := range ow {
			t := i*ow + j
			out[t], am[t] = po[t], pa[t]+shift
		}
	}
	return true
}

func (p *MaxPool) poolPlane(out []float32, am []int32, in []float32, oh, ow int) {
	for i := range oh {
		for j := range ow {
			p.poolPlaneAt(out[i*ow+j:], am[i*ow+j:], in, i, j)
		}
	}
}

// poolPlaneAt writes the maximum of output (i, j)'s window into out[0]
// and its offset in the plane into am[0].
func (p *MaxPool) poolPlaneAt(out []float32, am []int32, in []float32, i, j int) {
	best := float32(math.Inf(-1))
	at := int32((i*p.Stride)*p.W + j*p.Stride)
	for r := range p.Size {
		base := (i*p.Stride+r)*p.W + j*p.Stride
		for q := range p.Size {
			v := in[base+q]
			if v > best || v != v {
				best, at = v, int32(base+q)
				if v != v {
					out[0], am[0] = best, at
					return
				}
			}
		}
	}
	out[0], am[0] = best, at
}

// Backward routes dy to the positions of the maxima found by the last
// Forward, writing dx.
func (p *MaxPool) Backward(dx, dy []float32) {
	p.backward(dx, dy, nil, 0)
}

// BackwardLeakyReLU is Backward followed by LeakyReLUBackward, for a pool
// that follows a (Leaky)ReLU: dx is the gradient with respect to the
// activation's input. It needs only y, the pool's output: the activation's
// output at each routed position is that position's maximum.
func (p *MaxPool) BackwardLeakyReLU(dx, dy, y []float32, slope float32) {
	p.backward(dx, dy, y, slope)
}

func (p *MaxPool) backward(dx, dy, y []float32, slope float32) {
	oh, ow := p.OutH(), p.OutW()
	parallel(p.N*p.C, func(_, lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			d := dx[pl*p.H*p.W : (pl+1)*p.H*p.W]
			g := dy[pl*oh*ow : (pl+1)*oh*ow]
			am := p.argmax[pl*oh*ow : (pl+1)*oh*ow]
			clear(d)
			if y != nil {
				yp := y[pl*oh*ow : (pl+1)*oh*ow]
				sb := math.Float32bits(slope)
				for o, at := range am {
					d[at] += g[o] * math.Float32frombits(gradFactor(yp[o], sb))
				}
				continue
			}
			for o, at := range am {
				d[at] += g[o]
			}
		}
	})
}
