package nn

import (
	"fmt"
	"golab/lab/internal/blas"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// A minimal sequential network over the kernels, to time the assignment's
// models without gorgonia: the floor that the lab's ops can reach. It fuses
// what the lab's ops can fuse: bias and ReLU into the convolution, the ReLU
// gradient into the pooling gradient.

type layerKind int

const (
	kConv layerKind = iota
	kPool
	kAct
	kBN
	kDrop
	kDrop2d
	kFC
)

type netLayer struct {
	kind  layerKind
	act   bool // conv and fc: followed by a fused (Leaky)ReLU
	slope float32
	p     float32 // dropout probability

	conv *Conv
	pool *MaxPool
	bn   *BatchNorm
	fc   *Linear

	w, b, dw, db, vw, vb []float32 // parameters, gradients, momenta
	gamma, beta, rm, rv  []float32 // batch norm
	mask                 []float32
	out, dout            []float32
	c, h, wd             int // output geometry (c only for fc)
}

type net struct {
	n      int
	in     []float32
	layers []*netLayer
	probs  []float32
	labels []int
	rng    *rand.Rand
}

// spec: "c32" conv 3×3 to 32 channels with ReLU, "c32n" without activation,
// "l" LeakyReLU(0.01), "bn" batch norm, "p" 2×2 max pool, "d0.5" dropout,
// "D0.05" Dropout2d, "f512" fc with ReLU, "F10" fc without, "lf1024" fc
// with LeakyReLU.
func newNet(n int, spec []string) *net {
	r := rand.New(rand.NewPCG(1, 2))
	nt := &net{n: n, rng: r, in: randSlice(r, n*3*32*32), labels: make([]int, n)}
	for i := range nt.labels {
		nt.labels[i] = r.IntN(10)
	}
	c, h, w := 3, 32, 32
	flat := -1
	for _, s := range spec {
		l := &netLayer{}
		var v int
		var f float32
		switch {
		case s == "p":
			l.kind = kPool
			l.pool, _ = NewMaxPool(n, c, h, w, 2, 2)
			h, w = l.pool.OutH(), l.pool.OutW()
		case s == "l":
			l.kind, l.slope = kAct, 0.01
		case s == "bn":
			l.kind = kBN
			l.bn = &BatchNorm{N: n, C: c, HW: h * w, Eps: 1e-5, Momentum: 0.1}
			l.gamma, l.beta, l.rm, l.rv = ones(c), make([]float32, c), make([]float32, c), ones(c)
			l.dw, l.db, l.vw, l.vb = make([]float32, c), make([]float32, c), make([]float32, c), make([]float32, c)
		case s[0] == 'd':
			fmt.Sscanf(s, "d%g", &f)
			l.kind, l.p = kDrop, f
		case s[0] == 'D':
			fmt.Sscanf(s, "D%g", &f)
			l.kind, l.p = kDrop2d, f
		case s[0] == 'c':
			fmt.Sscanf(s, "c%d", &v)
			l.kind, l.act = kConv, s[len(s)-1] != 'n'
			l.conv, _ = NewConv(ConvShape{N: n, C: c, H: h, W: w, K: v, R: 3, S: 3, Stride: 1})
			l.w, l.b = randSlice(r, v*c*9), randSlice(r, v)
			for i := range l.w {
				l.w[i] *= 0.05
			}
			c, h, w = v, l.conv.OutH(), l.conv.OutW()
		default: // fc
			in := c * h * w
			if flat >= 0 {
				in = flat
			}
			switch {
			case s[0] == 'f':
				fmt.Sscanf(s, "f%d", &v)
				l.act = true
			case s[0] == 'F':
				fmt.Sscanf(s, "F%d", &v)
			default:
				fmt.Sscanf(s, "lf%d", &v)
				l.act, l.slope = true, 0.01
			}
			l.kind = kFC
			l.fc = &Linear{N: n, In: in, Out: v}
			l.w, l.b = randSlice(r, v*in), randSlice(r, v)
			for i := range l.w {
				l.w[i] *= 0.02
			}
			flat = v
		}
		if l.w != nil {
			l.dw, l.db, l.vw, l.vb = make([]float32, len(l.w)), make([]float32, len(l.b)), make([]float32, len(l.w)), make([]float32, len(l.b))
		}
		if flat >= 0 {
			l.out = make([]float32, n*flat)
		} else {
			l.out = make([]float32, n*c*h*w)
		}
		l.dout = make([]float32, len(l.out))
		l.c, l.h, l.wd = c, h, w
		if l.kind == kDrop {
			l.mask = make([]float32, len(l.out))
		}
		if l.kind == kDrop2d {
			l.mask = make([]float32, n*c)
		}
		nt.layers = append(nt.layers, l)
	}
	nt.probs = make([]float32, n*10)
	return nt
}

func ones(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

func (nt *net) forward(train bool) float64 {
	x := nt.in
	for _, l := range nt.layers {
		switch l.kind {
		case kConv:
			if l.act {
				l.conv.ForwardLeakyReLU(l.out, x, l.w, l.b, l.slope)
			} else {
				l.conv.Forward(l.out, x, l.w, l.b)
			}
		case kPool:
			l.pool.Forward(l.out, x)
		case kAct:
			LeakyReLU(l.out, x, l.slope)
		case kBN:
			if train {
				l.bn.ForwardTrain(l.out, x, l.gamma, l.beta, l.rm, l.rv)
			} else {
				l.bn.ForwardEval(l.out, x, l.gamma, l.beta, l.rm, l.rv)
			}
		case kDrop, kDrop2d:
			if !train {
				copy(l.out, x)
				break
			}
			DropoutMask(l.mask, l.p, nt.rng.Float32)
			ScaleGroups(l.out, x, l.mask, len(l.out)/len(l.mask))
		case kFC:
			l.fc.Forward(l.out, x, l.w, l.b)
			if l.act {
				LeakyReLU(l.out, l.out, l.slope)
			}
		}
		x = l.out
	}
	return SoftmaxCrossEntropy(nt.probs, x, nt.labels, 10)
}

func (nt *net) backward() {
	last := nt.layers[len(nt.layers)-1]
	SoftmaxCrossEntropyBackward(last.dout, nt.probs, nt.labels, 10, 1)
	preAct := false // the dout of the layer at hand is already w.r.t. its pre-activation
	for i := len(nt.layers) - 1; i >= 0; i-- {
		l := nt.layers[i]
		x := nt.in
		var dx []float32
		if i > 0 {
			x, dx = nt.layers[i-1].out, nt.layers[i-1].dout
		}
		nextPre := false
		switch l.kind {
		case kConv:
			if l.act && !preAct {
				LeakyReLUBackward(l.dout, l.dout, l.out, l.slope)
			}
			l.conv.BackwardFilter(l.dw, l.db, l.dout, x)
			if dx != nil {
				l.conv.BackwardData(dx, l.dout, l.w)
			}
		case kPool:
			if prev := nt.layers[i-1]; prev.kind == kConv && prev.act {
				l.pool.BackwardLeakyReLU(dx, l.dout, l.out, prev.slope)
				nextPre = true
			} else {
				l.pool.Backward(dx, l.dout)
			}
		case kAct:
			LeakyReLUBackward(dx, l.dout, l.out, l.slope)
		case kBN:
			l.bn.Backward(dx, l.dw, l.db, l.dout, x, l.gamma)
		case kDrop, kDrop2d:
			ScaleGroups(dx, l.dout, l.mask, len(l.out)/len(l.mask))
		case kFC:
			if l.act {
				LeakyReLUBackward(l.dout, l.dout, l.out, l.slope)
			}
			l.fc.Backward(dx, l.dw, l.db, l.dout, x, l.w)
		}
		preAct = nextPre
	}
}

func (nt *net) update() {
	for _, l := range nt.layers {
		switch {
		case l.kind == kBN:
			SGDMomentum(l.gamma, l.vw, l.dw, 0.001, 0.9, false)
			SGDMomentum(l.beta, l.vb, l.db, 0.001, 0.9, false)
		case l.w != nil:
			SGDMomentum(l.w, l.vw, l.dw, 0.001, 0.9, false)
			SGDMomentum(l.b, l.vb, l.db, 0.001, 0.9, false)
		}
	}
}

var modelSpecs = map[string][]string{
	"cnn":      {"c32", "c32", "p", "c64", "c64", "p", "f512", "F10"},
	"dropout":  {"c32", "c32", "c64", "c128", "p", "c256", "p", "d0.5", "c512", "p", "d0.5", "f512", "F10"},
	"improved": {"c32n", "bn", "l", "c64n", "l", "p", "D0.05", "c256n", "bn", "l", "c128n", "l", "p", "D0.05", "lf1024", "lf512", "F10"},
}

var modelNames = []string{"cnn", "dropout", "improved"}

// BenchmarkTrainStep times one training step (forward, backward, SGD
// update) of each model at batch 32 on the kernels alone. ms/step is the
// median over the steps, as bench/torchref reports it; the bench driver
// (go run ./bench) reads it.
func BenchmarkTrainStep(b *testing.B) {
	b.Logf("blas: %s", blas.Impl())
	for _, m := range modelNames {
		b.Run(m, func(b *testing.B) {
			nt := newNet(32, modelSpecs[m])
			step := func() {
				nt.forward(true)
				nt.backward()
				nt.update()
			}
			step()
			step()
			b.ResetTimer()
			b.ReportMetric(medianMs(b, step), "ms/step")
		})
	}
}

// BenchmarkEval times evaluation of each model on batches of 500, as
// torchref.py bench-eval does; ms/1000img is the median per batch, scaled.
func BenchmarkEval(b *testing.B) {
	b.Logf("blas: %s", blas.Impl())
	for _, m := range modelNames {
		b.Run(m, func(b *testing.B) {
			nt := newNet(500, modelSpecs[m])
			nt.forward(false)
			b.ResetTimer()
			b.ReportMetric(medianMs(b, func() { nt.forward(false) })*2, "ms/1000img")
		})
	}
}

// medianMs runs f b.N times and returns the median wall time in ms.
func medianMs(b *testing.B, f func()) float64 {
	ts := make([]float64, b.N)
	for i := range b.N {
		t := time.Now()
		f()
		ts[i] = float64(time.Since(t).Nanoseconds()) / 1e6
	}
	slices.Sort(ts)
	if len(ts)%2 == 1 {
		return ts[len(ts)/2]
	}
	return (ts[len(ts)/2-1] + ts[len(ts)/2]) / 2
}

// TestNetsLearn checks that the harness is a real network: a few steps on
// one batch lower its loss.
func TestNetsLearn(t *testing.T) {
	for _, m := range modelNames {
		nt := newNet(4, modelSpecs[m])
		for _, l := range nt.layers {
			if l.kind == kDrop || l.kind == kDrop2d {
				l.p = 0
			}
		}
		first := nt.forward(true)
		var last float64
		for range 10 {
			nt.backward()
			for _, l := range nt.layers { // a larger step than the assignment's, to see it move
				if l.w != nil {
					SGDMomentum(l.w, l.vw, l.dw, 0.01, 0.9, false)
					SGDMomentum(l.b, l.vb, l.db, 0.01, 0.9, false)
				}
			}
			last = nt.forward(true)
		}
		if !(last < first*0.9) {
			t.Errorf("%s: loss %v after 10 steps, started at %v", m, last, first)
		}
	}
}
