package lab

import (
	"fmt"
	"math"
	"math/rand/v2"

	"golab/lab/internal/nn"
)

// ---- Conv2d ----

type conv2d struct {
	name                             string
	in, out, kernel, stride, padding int
	bias                             bool
}

// ConvOption sets an optional property of Conv2d.
type ConvOption func(*conv2d)

// Stride sets the convolution's stride (default 1).
func Stride(s int) ConvOption { return func(c *conv2d) { c.stride = s } }

// Padding sets the zero padding on each side (default 0).
func Padding(p int) ConvOption { return func(c *conv2d) { c.padding = p } }

// NoBias leaves out the convolution's bias (as before a BatchNorm2d, which
// has a shift of its own).
func NoBias() ConvOption { return func(c *conv2d) { c.bias = false } }

// Conv2d is a 2-D convolution from in to out channels with a square
// kernel, like torch.nn.Conv2d(in, out, kernel).
func Conv2d(in, out, kernel int, opts ...ConvOption) Nameable {
	c := &conv2d{in: in, out: out, kernel: kernel, stride: 1, bias: true}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Name is the name given with As ("" for none).
func (c *conv2d) Name() string { return c.name }

// As returns a copy of the layer named name.
func (c *conv2d) As(name string) Layer { cp := *c; cp.name = name; return &cp }

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

func (c *conv2d) convShape(n int, in []int) nn.ConvShape {
	return nn.ConvShape{N: n, C: c.in, H: in[1], W: in[2], K: c.out, R: c.kernel, S: c.kernel, Stride: c.stride, Pad: c.padding}
}

func (c *conv2d) Setup(s *Setup, in []int) ([]int, error) {
	if c.in < 1 || c.out < 1 || c.kernel < 1 || c.stride < 1 || c.padding < 0 {
		return nil, fmt.Errorf("channels and kernel must be ≥ 1, stride ≥ 1 and padding ≥ 0")
	}
	if len(in) != 3 || in[0] != c.in {
		return nil, shapeError(in, fmt.Sprintf("[%d, H, W] (%d input channels)", c.in, c.in))
	}
	cs := c.convShape(1, in)
	if err := cs.Validate(); err != nil {
		return nil, shapeError(in, fmt.Sprintf("at least %d×%d pixels after padding", c.kernel, c.kernel))
	}
	// PyTorch's default initialisation: U(−1/√fan_in, 1/√fan_in).
	bound := 1 / math.Sqrt(float64(c.in*c.kernel*c.kernel))
	uniformInit(s.Param("weight", c.out, c.in, c.kernel, c.kernel), bound, s.Rand())
	if c.bias {
		uniformInit(s.Param("bias", c.out), bound, s.Rand())
	}
	return []int{c.out, cs.OutH(), cs.OutW()}, nil
}

func (c *conv2d) writesGrads() {}

func (c *conv2d) prepare(p *Pass) (err error) {
	p.State, err = c.newState(p)
	return err
}

func (c *conv2d) newState(p *Pass) (any, error) { return nn.NewConv(c.convShape(p.N, p.In)) }

func (c *conv2d) outShape(in []int) []int {
	cs := c.convShape(1, in)
	return []int{c.out, cs.OutH(), cs.OutW()}
}

func (c *conv2d) params(p *Pass) (w, b []float32) {
	if c.bias {
		return p.params[0].Data(), p.params[1].Data()
	}
	return p.params[0].Data(), nil
}

func (c *conv2d) Forward(p *Pass, y, x []float32) error {
	w, b := c.params(p)
	p.State.(*nn.Conv).Forward(y, x, w, b)
	return nil
}

// forwardAct computes the convolution with the activation applied, in one
// pass of the kernel.
func (c *conv2d) forwardAct(st any, p *Pass, z, x []float32, slope float32) {
	w, b := c.params(p)
	st.(*nn.Conv).ForwardLeakyReLU(z, x, w, b, slope)
}

func (c *conv2d) Backward(p *Pass, dx, dy, x, y []float32) error {
	c.backwardFrom(p.State, p, dx, dy, x)
	return nil
}

// backwardFrom computes dx (when wanted) and the parameter gradients from
// the gradient dz of the convolution's output.
func (c *conv2d) backwardFrom(st any, p *Pass, dx, dz, x []float32) {
	k := st.(*nn.Conv)
	w, _ := c.params(p)
	var db []float32
	if c.bias {
		db = p.grads[1]
	}
	k.Backward(dx, p.grads[0], db, dz, x, w)
}

// absorb declares the fusion of a convolution with the (Leaky)ReLU after
// it: one op, which saves a pass over the largest activations forward and
// backward.
func (c *conv2d) absorb(next Layer) Layer { return absorbAct(c, next) }

// actHost is a layer that can apply the leaky rectifier after it to its own
// output (conv2d, batchNorm2d), so that the two, and a max-pooling after
// them, become one op.
type actHost interface {
	String() string
	newState(p *Pass) (any, error)
	outShape(in []int) []int
	forwardAct(st any, p *Pass, z, x []float32, slope float32)
	backwardFrom(st any, p *Pass, dx, dz, x []float32)
}

// actBackwarder is an actHost that applies the activation's gradient in
// its own backward pass (batchNorm2d), which saves a pass and a buffer.
type actBackwarder interface {
	backwardAct(st any, p *Pass, dx, dy, y, x []float32, slope float32)
}

func absorbAct(h actHost, next Layer) Layer {
	if a, ok := next.(*leakyReLU); ok {
		return &fusedAct{host: h, slope: a.slope}
	}
	return nil
}

// fusedAct is a layer with its activation, and possibly the max-pooling
// after them, as one op. With the pooling, the pooling's backward pass
// applies the activation's gradient: it needs only the pooled values.
type fusedAct struct {
	host  actHost
	slope float32
	pool  *maxPool2d
}

type fusedState struct {
	host any
	pool *nn.MaxPool
	n    int       // the size of the output before the pooling
	crop *cropping // the part of the input the pooling's windows reach, when not all of it
}

// cropping is the top-left ch×cw corner of the h×w planes of an op's
// input, to which a convolution followed by a max-pooling shrinks when the
// pooling's windows leave out its last rows or columns: DropoutCNN's
// conv6 (5×5 to 3×3, then 2×2 windows) need only compute 2×2 of its 3×3
// outputs, from 4×4 of its inputs, four ninths of the work in each pass.
// The outputs left out get no gradient, so skipping them changes nothing
// but the rounding of sums that would add zeros.
type cropping struct{ planes, h, w, ch, cw int }

// poolCrop returns the cropping of the input of shape in (per image) when
// the pooling p after the convolution reads only part of its output, and
// nil when it reads all of it or the convolution pads (see demand).
func (c *conv2d) poolCrop(n int, in []int, p *maxPool2d) *cropping {
	out := c.outShape(in)
	if out[1] < p.size || out[2] < p.size {
		return nil
	}
	pooled := p.outShape(out)
	uh, uw, _ := p.demand(out, pooled[1], pooled[2]) // output rows and columns the windows reach
	if uh == out[1] && uw == out[2] {
		return nil
	}
	ch, cw, ok := c.demand(in, uh, uw)
	if !ok {
		return nil
	}
	return &cropping{planes: n * in[0], h: in[1], w: in[2], ch: ch, cw: cw}
}

// in returns the cropped input, borrowed: hand it back with nn.Return.
func (c *cropping) in(x []float32) []float32 {
	xc := nn.Borrow(c.planes * c.ch * c.cw)
	nn.CropPlanes(xc, x, c.planes, c.h, c.w, c.ch, c.cw)
	return xc
}

func (f *fusedAct) String() string                     { return f.host.String() + " fused with its activation" }
func (f *fusedAct) Setup(*Setup, []int) ([]int, error) { return nil, errFusedSetup }

// absorb declares that a max-pooling after the activation joins the op.
func (f *fusedAct) absorb(next Layer) Layer {
	if p, ok := next.(*maxPool2d); ok && f.pool == nil {
		return &fusedAct{host: f.host, slope: f.slope, pool: p}
	}
	return nil
}

func (f *fusedAct) writesGrads() {}

func (f *fusedAct) prepare(p *Pass) error {
	hp := p // the host's view: the cropped input
	var crop *cropping
	if c, ok := f.host.(*conv2d); ok && f.pool != nil {
		if crop = c.poolCrop(p.N, p.In, f.pool); crop != nil {
			cp := *p
			cp.In = []int{p.In[0], crop.ch, crop.cw}
			hp = &cp
		}
	}
	h, err := f.host.newState(hp)
	if err != nil {
		return err
	}
	out := f.host.outShape(hp.In)
	st := &fusedState{host: h, n: p.N * size(out), crop: crop}
	if f.pool != nil {
		if st.pool, err = f.pool.kernel(p.N, out); err != nil {
			return err
		}
	}
	p.State = st
	return nil
}

func (f *fusedAct) Forward(p *Pass, y, x []float32) error {
	st := p.State.(*fusedState)
	if f.pool == nil {
		f.host.forwardAct(st.host, p, y, x, f.slope)
		return nil
	}
	// The activations before the pooling are a temporary: the backward
	// pass needs only the pooled values.
	z := nn.Borrow(st.n)
	defer nn.Return(z)
	if st.crop != nil {
		x = st.crop.in(x)
		defer nn.Return(x)
	}
	f.host.forwardAct(st.host, p, z, x, f.slope)
	f.pool.forward(st.pool, y, z, p.Train)
	return nil
}

func (f *fusedAct) Backward(p *Pass, dx, dy, x, y []float32) error {
	st := p.State.(*fusedState)
	if b, ok := f.host.(actBackwarder); ok && f.pool == nil {
		b.backwardAct(st.host, p, dx, dy, y, x, f.slope)
		return nil
	}
	dz := nn.Borrow(st.n)
	defer nn.Return(dz)
	if f.pool == nil {
		nn.LeakyReLUBackward(dz, dy, y, f.slope)
	} else {
		st.pool.BackwardLeakyReLU(dz, dy, y, f.slope)
	}
	if c := st.crop; c != nil {
		x = c.in(x)
		defer nn.Return(x)
		if dx != nil {
			dxc := nn.Borrow(c.planes * c.ch * c.cw)
			defer nn.Return(dxc)
			f.host.backwardFrom(st.host, p, dxc, dz, x)
			nn.UncropPlanes(dx, dxc, c.planes, c.h, c.w, c.ch, c.cw)
			return nil
		}
	}
	f.host.backwardFrom(st.host, p, dx, dz, x)
	return nil
}

// ---- MaxPool2d ----

type maxPool2d struct {
	name         string
	size, stride int
}

// MaxPool2d takes the maximum over size×size windows moved by size, like
// torch.nn.MaxPool2d(size).
func MaxPool2d(size int) Nameable { return &maxPool2d{size: size, stride: size} }

// Name is the name given with As ("" for none).
func (l *maxPool2d) Name() string { return l.name }

// As returns a copy of the layer named name.
func (l *maxPool2d) As(name string) Layer { cp := *l; cp.name = name; return &cp }

func (l *maxPool2d) String() string {
	return fmt.Sprintf("MaxPool2d(kernel_size=%d, stride=%d, padding=0, dilation=1, ceil_mode=False)", l.size, l.stride)
}

func (l *maxPool2d) Setup(s *Setup, in []int) ([]int, error) {
	if l.size < 1 {
		return nil, fmt.Errorf("the window size must be ≥ 1")
	}
	if len(in) != 3 || in[1] < l.size || in[2] < l.size {
		return nil, shapeError(in, fmt.Sprintf("[C, H, W] with H, W ≥ %d", l.size))
	}
	return []int{in[0], (in[1]-l.size)/l.stride + 1, (in[2]-l.size)/l.stride + 1}, nil
}

func (l *maxPool2d) kernel(n int, in []int) (*nn.MaxPool, error) {
	return nn.NewMaxPool(n, in[0], in[1], in[2], l.size, l.stride)
}

func (l *maxPool2d) prepare(p *Pass) error {
	k, err := l.kernel(p.N, p.In)
	p.State = k
	return err
}

// forward pools x into y.
func (l *maxPool2d) forward(k *nn.MaxPool, y, x []float32, train bool) {
	if train {
		k.Forward(y, x)
	} else {
		k.ForwardEval(y, x) // no backward pass: no argmax to keep
	}
}

func (l *maxPool2d) Forward(p *Pass, y, x []float32) error {
	l.forward(p.State.(*nn.MaxPool), y, x, p.Train)
	return nil
}

func (l *maxPool2d) Backward(p *Pass, dx, dy, x, y []float32) error {
	if dx != nil {
		p.State.(*nn.MaxPool).Backward(dx, dy)
	}
	return nil
}

// ---- ReLU and LeakyReLU ----

type leakyReLU struct {
	name  string
	slope float32
	leaky bool
}

// ReLU is the rectifier max(0, x).
func ReLU() Nameable { return &leakyReLU{} }

// LeakyReLU is x for x > 0 and slope·x otherwise, like
// torch.nn.LeakyReLU(slope); PyTorch's default slope is 0.01.
func LeakyReLU(slope float64) Nameable { return &leakyReLU{slope: float32(slope), leaky: true} }

// Name is the name given with As ("" for none).
func (a *leakyReLU) Name() string { return a.name }

// As returns a copy of the layer named name.
func (a *leakyReLU) As(name string) Layer { cp := *a; cp.name = name; return &cp }

func (a *leakyReLU) String() string {
	if a.leaky {
		return fmt.Sprintf("LeakyReLU(negative_slope=%g)", a.slope)
	}
	return "ReLU()"
}

func (a *leakyReLU) Setup(s *Setup, in []int) ([]int, error) {
	if a.leaky && !(a.slope >= 0 && a.slope < 1) {
		return nil, fmt.Errorf("the slope must be in [0, 1)")
	}
	return in, nil
}

func (a *leakyReLU) Forward(p *Pass, y, x []float32) error {
	nn.LeakyReLU(y, x, a.slope)
	return nil
}

func (a *leakyReLU) Backward(p *Pass, dx, dy, x, y []float32) error {
	if dx != nil {
		nn.LeakyReLUBackward(dx, dy, y, a.slope)
	}
	return nil
}

// ---- Dropout and Dropout2d ----

type dropout struct {
	name    string
	p       float64
	channel bool // Dropout2d: one draw per channel of each image
}

// Dropout zeroes each activation with probability p during training and
// scales the kept ones by 1/(1−p), like torch.nn.Dropout(p). At evaluation
// it passes its input through unchanged. p must be in [0, 1).
func Dropout(p float64) Nameable { return &dropout{p: p} }

// Dropout2d zeroes whole channels of each image with probability p during
// training, like torch.nn.Dropout2d(p).
func Dropout2d(p float64) Nameable { return &dropout{p: p, channel: true} }

// Name is the name given with As ("" for none).
func (d *dropout) Name() string { return d.name }

// As returns a copy of the layer named name.
func (d *dropout) As(name string) Layer { cp := *d; cp.name = name; return &cp }

func (d *dropout) String() string {
	if d.channel {
		return fmt.Sprintf("Dropout2d(p=%g, inplace=False)", d.p)
	}
	return fmt.Sprintf("Dropout(p=%g, inplace=False)", d.p)
}

// checkP validates a dropout probability.
func checkP(p float64) error {
	if !(p >= 0 && p < 1) {
		return fmt.Errorf("dropout probability p = %v is outside [0, 1): p is the chance of dropping a unit, so 0 keeps all and 1 would drop all", p)
	}
	return nil
}

func (d *dropout) Setup(s *Setup, in []int) ([]int, error) {
	if err := checkP(d.p); err != nil {
		return nil, err
	}
	if d.channel && len(in) != 3 {
		return nil, shapeError(in, "[C, H, W]")
	}
	return in, nil
}

// skip declares that the layer is the identity: at evaluation, and with
// p = 0.
func (d *dropout) skip(train bool) bool { return !train || d.p == 0 }

func (d *dropout) group(in []int) int {
	if d.channel {
		return in[1] * in[2]
	}
	return 1
}

func (d *dropout) prepare(p *Pass) error {
	p.State = make([]float32, p.N*size(p.In)/d.group(p.In))
	return nil
}

func (d *dropout) Forward(p *Pass, y, x []float32) error {
	mask := p.State.([]float32)
	nn.DropoutMaskSeeded(mask, float32(d.p), p.drop.seed())
	nn.ScaleGroups(y, x, mask, d.group(p.In))
	return nil
}

func (d *dropout) Backward(p *Pass, dx, dy, x, y []float32) error {
	if dx != nil {
		nn.ScaleGroups(dx, dy, p.State.([]float32), d.group(p.In))
	}
	return nil
}

// ---- BatchNorm2d ----

type batchNorm2d struct {
	name          string
	c             int
	eps, momentum float64
}

// BatchNorm2d normalizes each of c channels over the batch, with a learnt
// scale and shift, like torch.nn.BatchNorm2d(c): eps 1e-5, momentum 0.1,
// scale initialised to 1 and shift to 0. Training uses the batch's
// statistics and updates running ones; evaluation uses the running ones.
func BatchNorm2d(c int) Nameable { return &batchNorm2d{c: c, eps: 1e-5, momentum: 0.1} }

// Name is the name given with As ("" for none).
func (n *batchNorm2d) Name() string { return n.name }

// As returns a copy of the layer named name.
func (n *batchNorm2d) As(name string) Layer { cp := *n; cp.name = name; return &cp }

func (n *batchNorm2d) String() string {
	return fmt.Sprintf("BatchNorm2d(%d, eps=%g, momentum=%g, affine=True, track_running_stats=True)", n.c, n.eps, n.momentum)
}

func (n *batchNorm2d) Setup(s *Setup, in []int) ([]int, error) {
	if len(in) != 3 || in[0] != n.c {
		return nil, shapeError(in, fmt.Sprintf("[%d, H, W]", n.c))
	}
	fill(s.Param("weight", n.c), 1)
	s.Param("bias", n.c)
	s.Buffer("running_mean", n.c)
	fill(s.Buffer("running_var", n.c), 1)
	return in, nil
}

type bnState struct {
	k  *nn.BatchNorm
	dx []float32 // the input gradient of a first layer, which nn.BatchNorm computes anyway
}

func (n *batchNorm2d) writesGrads() {}

func (n *batchNorm2d) prepare(p *Pass) (err error) {
	p.State, err = n.newState(p)
	return err
}

func (n *batchNorm2d) newState(p *Pass) (any, error) {
	return &bnState{k: &nn.BatchNorm{N: p.N, C: n.c, HW: p.In[1] * p.In[2], Eps: float32(n.eps), Momentum: float32(n.momentum)}}, nil
}

func (n *batchNorm2d) outShape(in []int) []int { return in }

// forward normalizes x into y: the batch's statistics in training, the
// running ones at evaluation.
func (n *batchNorm2d) forward(st *bnState, p *Pass, y, x []float32) {
	g, b, rm, rv := p.params[0].Data(), p.params[1].Data(), p.params[2].Data(), p.params[3].Data()
	if p.Train {
		st.k.ForwardTrain(y, x, g, b, rm, rv)
	} else {
		st.k.ForwardEval(y, x, g, b, rm, rv)
	}
}

// forwardAct normalizes and applies the activation in one pass over each
// channel.
func (n *batchNorm2d) forwardAct(s any, p *Pass, z, x []float32, slope float32) {
	st := s.(*bnState)
	g, b, rm, rv := p.params[0].Data(), p.params[1].Data(), p.params[2].Data(), p.params[3].Data()
	if p.Train {
		st.k.ForwardTrainLeakyReLU(z, x, g, b, rm, rv, slope)
	} else {
		st.k.ForwardEvalLeakyReLU(z, x, g, b, rm, rv, slope)
	}
}

// backwardAct computes the gradients from dy, the gradient of the
// activation's output y, applying the activation's gradient in the same
// pass (fusedAct without a pooling).
func (n *batchNorm2d) backwardAct(s any, p *Pass, dx, dy, y, x []float32, slope float32) {
	st := s.(*bnState)
	if dx == nil {
		if st.dx == nil {
			st.dx = make([]float32, len(x))
		}
		dx = st.dx
	}
	st.k.BackwardLeakyReLU(dx, p.grads[0], p.grads[1], dy, y, x, p.params[0].Data(), slope)
}

// backwardFrom computes the gradients from dz, the gradient of the output.
func (n *batchNorm2d) backwardFrom(s any, p *Pass, dx, dz, x []float32) {
	st := s.(*bnState)
	if dx == nil {
		if st.dx == nil {
			st.dx = make([]float32, len(x))
		}
		dx = st.dx
	}
	st.k.Backward(dx, p.grads[0], p.grads[1], dz, x, p.params[0].Data())
}

func (n *batchNorm2d) Forward(p *Pass, y, x []float32) error {
	n.forward(p.State.(*bnState), p, y, x)
	return nil
}

func (n *batchNorm2d) Backward(p *Pass, dx, dy, x, y []float32) error {
	n.backwardFrom(p.State, p, dx, dy, x)
	return nil
}

// batchCount declares PyTorch's num_batches_tracked, which checkpoints
// saved by PyTorch hold and golab does not use.
func (n *batchNorm2d) batchCount() string { return "num_batches_tracked" }

// absorb declares the fusion of BatchNorm with the (Leaky)ReLU after it.
func (n *batchNorm2d) absorb(next Layer) Layer { return absorbAct(n, next) }

// ---- Flatten ----

type flatten struct{ name string }

// Flatten turns each image's C×H×W activations into one vector, like
// torch.nn.Flatten().
func Flatten() Nameable { return &flatten{} }

// Name is the name given with As ("" for none).
func (f *flatten) Name() string { return f.name }

// As returns a copy of the layer named name.
func (f *flatten) As(name string) Layer { cp := *f; cp.name = name; return &cp }

func (f *flatten) String() string { return "Flatten(start_dim=1, end_dim=-1)" }

func (f *flatten) Setup(s *Setup, in []int) ([]int, error) { return []int{size(in)}, nil }

// reshape declares that the layer only reshapes: the model makes it a view
// of its input, with no copy.
func (f *flatten) reshape() {}

func (f *flatten) Forward(p *Pass, y, x []float32) error {
	copy(y, x)
	return nil
}

func (f *flatten) Backward(p *Pass, dx, dy, x, y []float32) error {
	copy(dx, dy)
	return nil
}

// ---- Linear ----

// Auto, as the input size of Linear, asks the model to infer it from the
// layer before, so nobody has to compute 64·5·5 = 1600 by hand.
const Auto = 0

type linear struct {
	name    string
	in, out int
}

// Linear is a fully connected layer from in to out features with a bias,
// like torch.nn.Linear(in, out). Pass Auto as in to infer it.
func Linear(in, out int) Nameable { return &linear{in: in, out: out} }

// Name is the name given with As ("" for none).
func (l *linear) Name() string { return l.name }

// As returns a copy of the layer named name.
func (l *linear) As(name string) Layer { cp := *l; cp.name = name; return &cp }

func (l *linear) String() string { return describeLinear(l.in, l.out) }

func describeLinear(in, out int) string {
	return fmt.Sprintf("Linear(in_features=%d, out_features=%d, bias=True)", in, out)
}

func (l *linear) Setup(s *Setup, in []int) ([]int, error) {
	if l.out < 1 || l.in < 0 {
		return nil, fmt.Errorf("feature counts must be ≥ 1")
	}
	if len(in) != 1 {
		return nil, shapeError(in, "a flat vector: put Flatten() before it")
	}
	if l.in != Auto && in[0] != l.in {
		return nil, shapeError(in, fmt.Sprintf("[%d] (in_features); the layers before it produce %d, so use Linear(%d, %d) or Linear(lab.Auto, %d)", l.in, in[0], in[0], l.out, l.out))
	}
	s.Describe(describeLinear(in[0], l.out))
	bound := 1 / math.Sqrt(float64(in[0]))
	uniformInit(s.Param("weight", l.out, in[0]), bound, s.Rand())
	uniformInit(s.Param("bias", l.out), bound, s.Rand())
	return []int{l.out}, nil
}

func (l *linear) writesGrads() {}

func (l *linear) prepare(p *Pass) error {
	p.State = &nn.Linear{N: p.N, In: p.In[0], Out: l.out}
	return nil
}

func (l *linear) Forward(p *Pass, y, x []float32) error {
	p.State.(*nn.Linear).Forward(y, x, p.params[0].Data(), p.params[1].Data())
	return nil
}

func (l *linear) Backward(p *Pass, dx, dy, x, y []float32) error {
	p.State.(*nn.Linear).Backward(dx, p.grads[0], p.grads[1], dy, x, p.params[0].Data())
	return nil
}

// ---- helpers ----

// shapeError reports an input that does not fit a layer.
func shapeError(in []int, want string) error {
	return fmt.Errorf("input of shape %v does not fit; it needs %s", in, want)
}

// uniformInit fills s with draws from U(−bound, bound): PyTorch's default
// initialisation of Conv2d and Linear, bound = 1/√fan_in.
func uniformInit(s []float32, bound float64, r *rand.Rand) {
	for i := range s {
		s[i] = float32((2*r.Float64() - 1) * bound)
	}
}

func fill(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
