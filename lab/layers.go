package lab

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"golab/lab/internal/nn"
)

// Layer is one stage of a Sequential model, like a PyTorch nn.Module inside
// nn.Sequential. Make layers with Conv2d, MaxPool2d, ReLU, LeakyReLU,
// Dropout, Dropout2d, BatchNorm2d, Flatten and Linear.
type Layer interface {
	// Name is the layer's name in the model, which prefixes its
	// parameters' names ("conv1" gives "conv1.weight").
	Name() string
	// As names the layer and returns it.
	As(name string) Layer
	// String describes the layer the way PyTorch prints it.
	String() string

	// setup checks the per-image input shape, creates the parameters and
	// returns the per-image output shape.
	setup(in []int, m *Model) ([]int, error)
	// build adds the layer's ops to a graph.
	build(b *builder, x *G.Node) (*G.Node, error)
}

type named struct{ name string }

func (n *named) Name() string { return n.name }

// shapeError reports a layer whose input does not fit it.
func shapeError(l Layer, in []int, want string) error {
	return fmt.Errorf("lab: layer %s %s: input of shape %v does not fit; it needs %s", l.Name(), l, in, want)
}

// uniformInit fills s with draws from U(−bound, bound): PyTorch's default
// initialisation of Conv2d and Linear, bound = 1/√fan_in.
func uniformInit(s []float32, bound float64, r *rand.Rand) {
	for i := range s {
		s[i] = float32((2*r.Float64() - 1) * bound)
	}
}

// ---- Conv2d ----

type conv2d struct {
	named
	in, out, kernel, stride, padding int
	bias                             bool
	weight, b                        *Param
}

// ConvOption sets an optional property of Conv2d.
type ConvOption func(*conv2d)

// Stride sets the convolution's stride (default 1).
func Stride(s int) ConvOption { return func(c *conv2d) { c.stride = s } }

// Padding sets the zero padding on each side (default 0).
func Padding(p int) ConvOption { return func(c *conv2d) { c.padding = p } }

// NoBias leaves out the convolution's bias.
func NoBias() ConvOption { return func(c *conv2d) { c.bias = false } }

// Conv2d is a 2-D convolution from in to out channels with a square
// kernel, like torch.nn.Conv2d(in, out, kernel).
func Conv2d(in, out, kernel int, opts ...ConvOption) Layer {
	c := &conv2d{in: in, out: out, kernel: kernel, stride: 1, bias: true}
	for _, o := range opts {
		o(c)
	}
	return c
}

func (c *conv2d) As(name string) Layer { c.name = name; return c }

func (c *conv2d) String() string {
	s := fmt.Sprintf("Conv2d(%d, %d, kernel_size=(%d, %d), stride=(%d, %d)", c.in, c.out, c.kernel, c.kernel, c.stride, c.stride)
	if c.padding != 0 {
		s += fmt.Sprintf(", padding=(%d, %d)", c.padding, c.padding)
	}
	if !c.bias {
		s += ", bias=False"
	}
	return s + ")"
}

func (c *conv2d) setup(in []int, m *Model) ([]int, error) {
	if c.in < 1 || c.out < 1 || c.kernel < 1 || c.stride < 1 || c.padding < 0 {
		return nil, fmt.Errorf("lab: layer %s %s: channels and kernel must be ≥ 1, stride ≥ 1 and padding ≥ 0", c.name, c)
	}
	if len(in) != 3 || in[0] != c.in {
		return nil, shapeError(c, in, fmt.Sprintf("[%d, H, W] (%d input channels)", c.in, c.in))
	}
	s := nn.ConvShape{N: 1, C: c.in, H: in[1], W: in[2], K: c.out, R: c.kernel, S: c.kernel, Stride: c.stride, Pad: c.padding}
	if err := s.Validate(); err != nil {
		return nil, shapeError(c, in, fmt.Sprintf("at least %d×%d pixels after padding", c.kernel, c.kernel))
	}
	fanIn := c.in * c.kernel * c.kernel
	bound := 1 / math.Sqrt(float64(fanIn))
	c.weight = m.newParam(c.name+".weight", []int{c.out, c.in, c.kernel, c.kernel}, true)
	uniformInit(c.weight.Data(), bound, m.initRNG)
	if c.bias {
		c.b = m.newParam(c.name+".bias", []int{c.out}, true)
		uniformInit(c.b.Data(), bound, m.initRNG)
	}
	return []int{c.out, s.OutH(), s.OutW()}, nil
}

func (c *conv2d) build(b *builder, x *G.Node) (*G.Node, error) { return c.buildAct(b, x, nil, false) }

// activation is a (Leaky)ReLU fused into the layer before it.
type activation struct{ slope float32 }

// buildAct adds the convolution to the graph, with the activation act fused
// into it when act is not nil. With pooled set, a max-pooling that follows
// folds the activation's gradient into its own backward pass
// (maxPool2d.buildAfterAct), so the gradient reaching this op is already
// the one of the convolution's output before the activation.
func (c *conv2d) buildAct(b *builder, x *G.Node, act *activation, pooled bool) (*G.Node, error) {
	xs := x.Shape()
	s := nn.ConvShape{N: xs[0], C: xs[1], H: xs[2], W: xs[3], K: c.out, R: c.kernel, S: c.kernel, Stride: c.stride, Pad: c.padding}
	k, err := nn.NewConv(s)
	if err != nil {
		return nil, fmt.Errorf("lab: layer %s: %w", c.name, err)
	}
	yShape := tensor.Shape{s.N, s.K, s.OutH(), s.OutW()}
	inputs := G.Nodes{x, b.param(c.weight)}
	dims := []int{4, 4}
	if c.bias {
		inputs = append(inputs, b.param(c.b))
		dims = append(dims, 1)
	}
	name := "conv2d " + c.name
	if act != nil {
		name += "+relu"
	}
	op := newOp(name, dims, yShape, func(out []float32, in [][]float32) error {
		var bias []float32
		if c.bias {
			bias = in[2]
		}
		if act != nil {
			k.ForwardLeakyReLU(out, in[0], in[1], bias, act.slope)
		} else {
			k.Forward(out, in[0], in[1], bias)
		}
		return nil
	})
	if b.train {
		op.wrt = []bool{b.needsGrad(x), true, c.bias}[:len(inputs)]
		op.grads = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			grads := make(G.Nodes, len(inputs))
			var err error
			if act != nil && !pooled {
				dz := newOp("relu dx "+c.name, []int{4, 4}, yShape.Clone(), func(out []float32, in [][]float32) error {
					nn.LeakyReLUBackward(out, in[0], in[1], act.slope)
					return nil
				})
				if grad, err = dz.apply(grad, output); err != nil {
					return nil, err
				}
			}
			if b.needsGrad(x) {
				dx := newOp("conv2d dx "+c.name, []int{4, 4}, xs.Clone(), func(out []float32, in [][]float32) error {
					k.BackwardData(out, in[0], in[1])
					return nil
				})
				if grads[0], err = dx.apply(grad, inputs[1]); err != nil {
					return nil, err
				}
			}
			var dbuf []float32
			if c.bias {
				dbuf = make([]float32, s.K)
			}
			dw := newOp("conv2d dw "+c.name, []int{4, 4}, tensor.Shape(c.weight.Shape).Clone(), func(out []float32, in [][]float32) error {
				k.BackwardFilter(out, dbuf, in[0], in[1])
				return nil
			})
			if grads[1], err = dw.apply(grad, inputs[0]); err != nil {
				return nil, err
			}
			if c.bias {
				// The bias gradient comes out of the filter pass; this op
				// hands it over and runs after it.
				db := newOp("conv2d db "+c.name, []int{4}, tensor.Shape{s.K}, func(out []float32, _ [][]float32) error {
					copy(out, dbuf)
					return nil
				})
				if grads[2], err = db.apply(grads[1]); err != nil {
					return nil, err
				}
			}
			return grads, nil
		}
	}
	return op.apply(inputs...)
}

// ---- MaxPool2d ----

type maxPool2d struct {
	named
	size, stride int
}

// MaxPool2d takes the maximum over size×size windows moved by size, like
// torch.nn.MaxPool2d(size).
func MaxPool2d(size int) Layer { return &maxPool2d{size: size, stride: size} }

func (p *maxPool2d) As(name string) Layer { p.name = name; return p }

func (p *maxPool2d) String() string {
	return fmt.Sprintf("MaxPool2d(kernel_size=%d, stride=%d, padding=0, dilation=1, ceil_mode=False)", p.size, p.stride)
}

func (p *maxPool2d) setup(in []int, m *Model) ([]int, error) {
	if p.size < 1 {
		return nil, fmt.Errorf("lab: layer %s %s: the window size must be ≥ 1", p.name, p)
	}
	if len(in) != 3 || in[1] < p.size || in[2] < p.size {
		return nil, shapeError(p, in, fmt.Sprintf("[C, H, W] with H, W ≥ %d", p.size))
	}
	return []int{in[0], (in[1]-p.size)/p.stride + 1, (in[2]-p.size)/p.stride + 1}, nil
}

func (p *maxPool2d) build(b *builder, x *G.Node) (*G.Node, error) { return p.buildAfterAct(b, x, nil) }

// buildAfterAct adds the pooling to the graph; with act set, its backward
// pass also applies the gradient of the activation fused into the
// convolution before it (see conv2d.buildAct).
func (p *maxPool2d) buildAfterAct(b *builder, x *G.Node, act *activation) (*G.Node, error) {
	xs := x.Shape()
	k, err := nn.NewMaxPool(xs[0], xs[1], xs[2], xs[3], p.size, p.stride)
	if err != nil {
		return nil, fmt.Errorf("lab: layer %s: %w", p.name, err)
	}
	op := newOp("maxpool "+p.name, []int{4}, tensor.Shape{xs[0], xs[1], k.OutH(), k.OutW()}, func(out []float32, in [][]float32) error {
		k.Forward(out, in[0])
		return nil
	})
	if b.train {
		op.wrt = []bool{true}
		op.grads = func(_ G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			if act == nil {
				dx := newOp("maxpool dx "+p.name, []int{4}, xs.Clone(), func(out []float32, in [][]float32) error {
					k.Backward(out, in[0])
					return nil
				})
				n, err := dx.apply(grad)
				return G.Nodes{n}, err
			}
			dx := newOp("maxpool+relu dx "+p.name, []int{4, 4}, xs.Clone(), func(out []float32, in [][]float32) error {
				k.BackwardLeakyReLU(out, in[0], in[1], act.slope)
				return nil
			})
			n, err := dx.apply(grad, output)
			return G.Nodes{n}, err
		}
	}
	return op.apply(x)
}

// ---- ReLU and LeakyReLU ----

type leakyReLU struct {
	named
	slope float32
	leaky bool
}

// ReLU is the rectifier max(0, x).
func ReLU() Layer { return &leakyReLU{} }

// LeakyReLU is x for x > 0 and slope·x otherwise, like
// torch.nn.LeakyReLU(slope); PyTorch's default slope is 0.01.
func LeakyReLU(slope float64) Layer { return &leakyReLU{slope: float32(slope), leaky: true} }

func (a *leakyReLU) As(name string) Layer { a.name = name; return a }

func (a *leakyReLU) String() string {
	if a.leaky {
		return fmt.Sprintf("LeakyReLU(negative_slope=%g)", a.slope)
	}
	return "ReLU()"
}

func (a *leakyReLU) setup(in []int, m *Model) ([]int, error) {
	if a.leaky && !(a.slope >= 0 && a.slope < 1) {
		return nil, fmt.Errorf("lab: layer %s %s: the slope must be in [0, 1)", a.name, a)
	}
	return in, nil
}

func (a *leakyReLU) build(b *builder, x *G.Node) (*G.Node, error) {
	xs := x.Shape()
	op := newOp("relu "+a.name, []int{xs.Dims()}, xs.Clone(), func(out []float32, in [][]float32) error {
		nn.LeakyReLU(out, in[0], a.slope)
		return nil
	})
	if b.train {
		op.wrt = []bool{true}
		op.grads = func(_ G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			dx := newOp("relu dx "+a.name, []int{xs.Dims(), xs.Dims()}, xs.Clone(), func(out []float32, in [][]float32) error {
				nn.LeakyReLUBackward(out, in[0], in[1], a.slope)
				return nil
			})
			n, err := dx.apply(grad, output)
			return G.Nodes{n}, err
		}
	}
	return op.apply(x)
}

// ---- Dropout and Dropout2d ----

type dropout struct {
	named
	p       float64
	channel bool // Dropout2d: one draw per channel of each image
	_       struct{}
}

// Dropout zeroes each activation with probability p during training and
// scales the kept ones by 1/(1−p), like torch.nn.Dropout(p). At evaluation
// it passes its input through unchanged. p must be in [0, 1).
func Dropout(p float64) Layer { return &dropout{p: p} }

// Dropout2d zeroes whole channels of each image with probability p during
// training, like torch.nn.Dropout2d(p).
func Dropout2d(p float64) Layer { return &dropout{p: p, channel: true} }

func (d *dropout) As(name string) Layer { d.name = name; return d }

func (d *dropout) String() string {
	if d.channel {
		return fmt.Sprintf("Dropout2d(p=%g, inplace=False)", d.p)
	}
	return fmt.Sprintf("Dropout(p=%g, inplace=False)", d.p)
}

// checkP validates a dropout probability.
func checkP(p float64) error {
	if !(p >= 0 && p < 1) {
		return fmt.Errorf("lab: dropout probability p = %v is outside [0, 1): p is the chance of dropping a unit, so 0 keeps all and 1 would drop all", p)
	}
	return nil
}

func (d *dropout) setup(in []int, m *Model) ([]int, error) {
	if err := checkP(d.p); err != nil {
		return nil, fmt.Errorf("layer %s: %w", d.name, err)
	}
	if d.channel && len(in) != 3 {
		return nil, shapeError(d, in, "[C, H, W]")
	}
	return in, nil
}

func (d *dropout) build(b *builder, x *G.Node) (*G.Node, error) {
	if !b.train || d.p == 0 {
		return x, nil
	}
	xs := x.Shape()
	group := 1
	if d.channel {
		group = xs[2] * xs[3]
	}
	mask := make([]float32, xs.TotalSize()/group)
	p := float32(d.p)
	src := b.drop
	op := newOp("dropout "+d.name, []int{xs.Dims()}, xs.Clone(), func(out []float32, in [][]float32) error {
		nn.DropoutMask(mask, p, src.draw)
		nn.ScaleGroups(out, in[0], mask, group)
		return nil
	})
	op.wrt = []bool{true}
	op.grads = func(_ G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		dx := newOp("dropout dx "+d.name, []int{xs.Dims()}, xs.Clone(), func(out []float32, in [][]float32) error {
			nn.ScaleGroups(out, in[0], mask, group)
			return nil
		})
		n, err := dx.apply(grad)
		return G.Nodes{n}, err
	}
	return op.apply(x)
}

// ---- BatchNorm2d ----

type batchNorm2d struct {
	named
	c               int
	eps, momentum   float64
	gamma, beta     *Param
	runMean, runVar *Param
}

// BatchNorm2d normalizes each of c channels over the batch, with a learnt
// scale and shift, like torch.nn.BatchNorm2d(c): eps 1e-5, momentum 0.1,
// scale initialised to 1 and shift to 0. Training uses the batch's
// statistics and updates running ones; evaluation uses the running ones.
func BatchNorm2d(c int) Layer { return &batchNorm2d{c: c, eps: 1e-5, momentum: 0.1} }

func (n *batchNorm2d) As(name string) Layer { n.name = name; return n }

func (n *batchNorm2d) String() string {
	return fmt.Sprintf("BatchNorm2d(%d, eps=%g, momentum=%g, affine=True, track_running_stats=True)", n.c, n.eps, n.momentum)
}

func (n *batchNorm2d) setup(in []int, m *Model) ([]int, error) {
	if len(in) != 3 || in[0] != n.c {
		return nil, shapeError(n, in, fmt.Sprintf("[%d, H, W]", n.c))
	}
	n.gamma = m.newParam(n.name+".weight", []int{n.c}, true)
	n.beta = m.newParam(n.name+".bias", []int{n.c}, true)
	n.runMean = m.newParam(n.name+".running_mean", []int{n.c}, false)
	n.runVar = m.newParam(n.name+".running_var", []int{n.c}, false)
	for i := range n.c {
		n.gamma.Data()[i] = 1
		n.runVar.Data()[i] = 1
	}
	return in, nil
}

func (n *batchNorm2d) build(b *builder, x *G.Node) (*G.Node, error) {
	xs := x.Shape()
	k := &nn.BatchNorm{N: xs[0], C: xs[1], HW: xs[2] * xs[3], Eps: float32(n.eps), Momentum: float32(n.momentum)}
	rm, rv := n.runMean.Data(), n.runVar.Data()
	inputs := G.Nodes{x, b.param(n.gamma), b.param(n.beta)}
	if !b.train {
		op := newOp("batchnorm "+n.name, []int{4, 1, 1}, xs.Clone(), func(out []float32, in [][]float32) error {
			k.ForwardEval(out, in[0], in[1], in[2], rm, rv)
			return nil
		})
		return op.apply(inputs...)
	}
	op := newOp("batchnorm "+n.name, []int{4, 1, 1}, xs.Clone(), func(out []float32, in [][]float32) error {
		k.ForwardTrain(out, in[0], in[1], in[2], rm, rv)
		return nil
	})
	op.wrt = []bool{b.needsGrad(x), true, true}
	op.grads = func(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		// One pass computes all three gradients; two small ops hand over
		// the parameter gradients and run after it.
		dgamma, dbeta := make([]float32, n.c), make([]float32, n.c)
		dx := newOp("batchnorm dx "+n.name, []int{4, 4, 1}, xs.Clone(), func(out []float32, in [][]float32) error {
			k.Backward(out, dgamma, dbeta, in[0], in[1], in[2])
			return nil
		})
		dxn, err := dx.apply(grad, inputs[0], inputs[1])
		if err != nil {
			return nil, err
		}
		hand := func(name string, src []float32) (*G.Node, error) {
			o := newOp(name, []int{4}, tensor.Shape{n.c}, func(out []float32, _ [][]float32) error {
				copy(out, src)
				return nil
			})
			return o.apply(dxn)
		}
		dg, err := hand("batchnorm dgamma "+n.name, dgamma)
		if err != nil {
			return nil, err
		}
		db, err := hand("batchnorm dbeta "+n.name, dbeta)
		if err != nil {
			return nil, err
		}
		if !b.needsGrad(x) {
			dxn = nil
		}
		return G.Nodes{dxn, dg, db}, nil
	}
	return op.apply(inputs...)
}

// ---- Flatten ----

type flatten struct{ named }

// Flatten turns each image's C×H×W activations into one vector, like
// torch.nn.Flatten().
func Flatten() Layer { return &flatten{} }

func (f *flatten) As(name string) Layer { f.name = name; return f }
func (f *flatten) String() string       { return "Flatten(start_dim=1, end_dim=-1)" }

func (f *flatten) setup(in []int, m *Model) ([]int, error) {
	n := 1
	for _, d := range in {
		n *= d
	}
	return []int{n}, nil
}

func (f *flatten) build(b *builder, x *G.Node) (*G.Node, error) {
	xs := x.Shape()
	if xs.Dims() == 2 {
		return x, nil
	}
	op := newOp("flatten "+f.name, []int{xs.Dims()}, tensor.Shape{xs[0], xs.TotalSize() / xs[0]}, nil)
	op.alias = true
	if b.train {
		op.wrt = []bool{b.needsGrad(x)}
		op.grads = func(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
			back := newOp("flatten dx "+f.name, []int{2}, xs.Clone(), nil)
			back.alias = true
			n, err := back.apply(grad)
			return G.Nodes{n}, err
		}
	}
	return op.apply(x)
}

// ---- Linear ----

// Auto, as the input size of Linear, asks the model to infer it from the
// layer before, so nobody has to compute 64·5·5 = 1600 by hand.
const Auto = 0

type linear struct {
	named
	in, out int
	auto    bool
	weight  *Param
	b       *Param
}

// Linear is a fully connected layer from in to out features with a bias,
// like torch.nn.Linear(in, out). Pass Auto as in to infer it.
func Linear(in, out int) Layer { return &linear{in: in, out: out, auto: in == Auto} }

func (l *linear) As(name string) Layer { l.name = name; return l }

func (l *linear) String() string {
	return fmt.Sprintf("Linear(in_features=%d, out_features=%d, bias=True)", l.in, l.out)
}

func (l *linear) setup(in []int, m *Model) ([]int, error) {
	if l.out < 1 || l.in < 0 {
		return nil, fmt.Errorf("lab: layer %s %s: feature counts must be ≥ 1", l.name, l)
	}
	if len(in) != 1 {
		return nil, shapeError(l, in, "a flat vector: put Flatten() before it")
	}
	if l.auto {
		l.in = in[0]
	}
	if in[0] != l.in {
		return nil, shapeError(l, in, fmt.Sprintf("[%d] (in_features); the layers before it produce %d, so use Linear(%d, %d) or Linear(lab.Auto, %d)", l.in, in[0], in[0], l.out, l.out))
	}
	bound := 1 / math.Sqrt(float64(l.in))
	l.weight = m.newParam(l.name+".weight", []int{l.out, l.in}, true)
	uniformInit(l.weight.Data(), bound, m.initRNG)
	l.b = m.newParam(l.name+".bias", []int{l.out}, true)
	uniformInit(l.b.Data(), bound, m.initRNG)
	return []int{l.out}, nil
}

func (l *linear) build(b *builder, x *G.Node) (*G.Node, error) {
	xs := x.Shape()
	k := &nn.Linear{N: xs[0], In: l.in, Out: l.out}
	op := newOp("linear "+l.name, []int{2, 2, 1}, tensor.Shape{xs[0], l.out}, func(out []float32, in [][]float32) error {
		k.Forward(out, in[0], in[1], in[2])
		return nil
	})
	if b.train {
		op.wrt = []bool{b.needsGrad(x), true, true}
		op.grads = func(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
			grads := make(G.Nodes, 3)
			var err error
			if b.needsGrad(x) {
				dx := newOp("linear dx "+l.name, []int{2, 2}, xs.Clone(), func(out []float32, in [][]float32) error {
					k.Backward(out, nil, nil, in[0], nil, in[1])
					return nil
				})
				if grads[0], err = dx.apply(grad, inputs[1]); err != nil {
					return nil, err
				}
			}
			dw := newOp("linear dw "+l.name, []int{2, 2}, tensor.Shape{l.out, l.in}, func(out []float32, in [][]float32) error {
				k.Backward(nil, out, nil, in[0], in[1], nil)
				return nil
			})
			if grads[1], err = dw.apply(grad, inputs[0]); err != nil {
				return nil, err
			}
			db := newOp("linear db "+l.name, []int{2}, tensor.Shape{l.out}, func(out []float32, in [][]float32) error {
				k.Backward(nil, nil, out, in[0], nil, nil)
				return nil
			})
			if grads[2], err = db.apply(grad); err != nil {
				return nil, err
			}
			return grads, nil
		}
	}
	return op.apply(x, b.param(l.weight), b.param(l.b))
}
