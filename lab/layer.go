package lab

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Layer is one stage of a Sequential model, like a PyTorch nn.Module inside
// nn.Sequential. A layer is a description: it holds its settings and never a
// model's tensors, so one layer value can go into any number of models, each
// with weights of its own.
//
// The lab's layers come from Conv2d, MaxPool2d, ReLU, LeakyReLU, Dropout,
// Dropout2d, BatchNorm2d, Flatten and Linear. Write your own by implementing
// Layer (a type with these four methods, in a notebook cell too), or from
// two functions with Custom; check its gradients with GradCheck.
type Layer interface {
	// String describes the layer, as Model.Summary prints it.
	String() string
	// Setup is called once by BuildCNN with the per-image input shape (for
	// example [64, 16, 16]): it declares the layer's parameters on s and
	// returns the per-image output shape, or an error saying why the input
	// does not fit.
	Setup(s *Setup, in []int) (out []int, err error)
	// Forward computes the output y of a batch from its input x. Both are
	// flat, batch-major: image n's values start at n·size(p.In) in x and at
	// n·size(p.Out) in y. y must be written in full.
	Forward(p *Pass, y, x []float32) error
	// Backward computes, from dy (the gradient of the loss with respect to
	// y), the gradient dx with respect to x and the gradient of every
	// parameter, written into p.Grad(name). dx is nil when nobody needs it
	// (the first layer); otherwise it must be written in full. x and y are
	// those of the last Forward.
	Backward(p *Pass, dx, dy, x, y []float32) error
}

// Nameable is a Layer that can be given a name in its model: the lab's
// layers and Custom ones. Name any layer with Named.
type Nameable interface {
	Layer
	// Name is the layer's name, "" when it has none: the model then names
	// it by its position, "0", "1", ..., as nn.Sequential does.
	Name() string
	// As returns a copy of the layer named name; the layer itself is left
	// as it is. The name prefixes its parameters' names ("conv1" gives
	// "conv1.weight").
	As(name string) Layer
}

// Named returns l named name in the models it goes into.
func Named(name string, l Layer) Layer {
	if n, ok := l.(Nameable); ok {
		return n.As(name)
	}
	return &namedLayer{Layer: l, name: name}
}

type namedLayer struct {
	Layer
	name string
}

func (n *namedLayer) Name() string         { return n.name }
func (n *namedLayer) As(name string) Layer { return &namedLayer{Layer: n.Layer, name: name} }

func layerName(l Layer) string {
	if n, ok := l.(interface{ Name() string }); ok {
		return n.Name()
	}
	return ""
}

// Setup is where a layer declares its parameters, when BuildCNN builds it
// into a model. The parameters belong to the model.
type Setup struct {
	name   string
	rng    *rand.Rand
	params []*Param
	desc   string
	err    error
}

// Name is the layer's name in the model.
func (s *Setup) Name() string { return s.name }

// Param declares a trainable parameter of the given shape, named
// "<layer>.<name>" in the model and in checkpoints, and returns its values
// (zero) for the layer to initialise.
func (s *Setup) Param(name string, shape ...int) []float32 { return s.add(name, shape, true) }

// Buffer declares a tensor that is saved with the model but not trained,
// such as BatchNorm's running statistics, and returns its values (zero).
func (s *Setup) Buffer(name string, shape ...int) []float32 { return s.add(name, shape, false) }

func (s *Setup) add(name string, shape []int, trainable bool) []float32 {
	n := 1
	for _, d := range shape {
		n *= d
	}
	bad := name == "" || strings.ContainsAny(name, ". ") || len(shape) == 0 || n < 1
	for _, d := range shape {
		bad = bad || d < 1
	}
	for _, p := range s.params {
		bad = bad || p.Name == s.name+"."+name
	}
	if bad && s.err == nil {
		s.err = fmt.Errorf("parameter %q of shape %v: names must be unique, non-empty and without dots or spaces, and every dimension ≥ 1", name, shape)
	}
	if bad {
		return make([]float32, max(n, 0))
	}
	p := newParam(s.name+"."+name, shape, trainable)
	s.params = append(s.params, p)
	return p.Data()
}

// Rand is the model's stream for initial weights, seeded by the model's
// seed: layers draw from it in order, so the same seed gives the same
// weights.
func (s *Setup) Rand() *rand.Rand { return s.rng }

// Describe sets how Model.Summary prints the layer in this model, when it
// should say more than String (Linear(Auto, n) gives its inferred size).
func (s *Setup) Describe(desc string) { s.desc = desc }

// Pass is what a layer's Forward and Backward get besides the data: the
// batch's shapes, the mode, and the layer's parameters in this model. Each
// graph of a model (training or evaluation, per batch size) has a Pass per
// layer of its own, so what Forward keeps in State is there for Backward.
type Pass struct {
	N     int   // images in the batch
	In    []int // per-image input shape
	Out   []int // per-image output shape
	Train bool  // training (dropout on, BatchNorm on batch statistics), or evaluation
	// State is the layer's own, per graph: kernels, masks, values saved
	// for Backward. It starts nil.
	State any

	layer  string
	params []*Param
	grads  [][]float32 // the gradient buffers of the trainable params, in order
	drop   *dropSource
}

// Param returns the values of the layer's parameter (or buffer) name, as
// declared in Setup.
func (p *Pass) Param(name string) []float32 {
	for _, q := range p.params {
		if q.Name == p.layer+"."+name {
			return q.Data()
		}
	}
	panic(p.noParam("parameter", name))
}

// Grad returns the buffer Backward writes the gradient of parameter name
// into. Backward overwrites it; the lab adds it to the parameter's
// gradient, which ZeroGrad clears.
func (p *Pass) Grad(name string) []float32 {
	i := 0
	for _, q := range p.params {
		if !q.Trainable {
			continue
		}
		if q.Name == p.layer+"."+name {
			if i < len(p.grads) {
				return p.grads[i]
			}
			break
		}
		i++
	}
	panic(p.noParam("gradient of parameter", name))
}

func (p *Pass) noParam(what, name string) string {
	var have []string
	for _, q := range p.params {
		if q.Trainable || what == "parameter" {
			have = append(have, strings.TrimPrefix(q.Name, p.layer+"."))
		}
	}
	if len(p.grads) == 0 && what != "parameter" {
		return fmt.Sprintf("lab: layer %s: no %s %q outside Backward", p.layer, what, name)
	}
	return fmt.Sprintf("lab: layer %s has no %s %q (it has %q)", p.layer, what, name, have)
}

// Rand is the model's stream for training draws such as dropout masks.
// Train reseeds it at every epoch from the run's seed, so a run draws the
// same values whether or not it was interrupted.
func (p *Pass) Rand() *rand.Rand { return p.drop.rng }

// Custom makes a layer from two functions, for a layer written in a
// notebook cell: forward computes y from x; backward computes dx (unless
// nil) and the parameters' gradients from dy (see Layer). name is how the
// model prints it. Without options the layer is element-wise: it has no
// parameters and its output has its input's shape. WithSetup declares
// parameters or another output shape.
//
//	square := lab.Custom("Square()",
//		func(p *lab.Pass, y, x []float32) error {
//			for i, v := range x {
//				y[i] = v * v
//			}
//			return nil
//		},
//		func(p *lab.Pass, dx, dy, x, y []float32) error {
//			for i, v := range x {
//				dx[i] = 2 * v * dy[i]
//			}
//			return nil
//		})
func Custom(name string, forward func(p *Pass, y, x []float32) error, backward func(p *Pass, dx, dy, x, y []float32) error, opts ...CustomOption) Nameable {
	c := &custom{desc: name, forward: forward, backward: backward}
	for _, o := range opts {
		o(c)
	}
	return c
}

// CustomOption sets an optional part of a Custom layer.
type CustomOption func(*custom)

// WithSetup gives a Custom layer its Setup: it declares the parameters and
// returns the output shape (see Layer).
func WithSetup(setup func(s *Setup, in []int) (out []int, err error)) CustomOption {
	return func(c *custom) { c.setup = setup }
}

type custom struct {
	name, desc string
	setup      func(s *Setup, in []int) ([]int, error)
	forward    func(p *Pass, y, x []float32) error
	backward   func(p *Pass, dx, dy, x, y []float32) error
}

func (c *custom) Name() string         { return c.name }
func (c *custom) As(name string) Layer { cp := *c; cp.name = name; return &cp }
func (c *custom) String() string       { return c.desc }

func (c *custom) Setup(s *Setup, in []int) ([]int, error) {
	if c.forward == nil {
		return nil, errors.New("Custom: the forward function is nil")
	}
	if c.setup == nil {
		return in, nil
	}
	return c.setup(s, in)
}

func (c *custom) Forward(p *Pass, y, x []float32) error { return c.forward(p, y, x) }

func (c *custom) Backward(p *Pass, dx, dy, x, y []float32) error {
	if c.backward == nil {
		return errors.New("Custom: the backward function is nil, so the layer cannot be trained")
	}
	return c.backward(p, dx, dy, x, y)
}

// What a layer may declare to the model that builds it (the lab's layers
// do; a model never asks for a concrete type).
type (
	// absorber can take the layer after it into its own op (a convolution
	// its activation, ...): absorb returns the fused layer, or nil.
	absorber interface{ absorb(next Layer) Layer }
	// skipper is the identity in some modes (dropout at evaluation).
	skipper interface{ skip(train bool) bool }
	// reshaper only reshapes its input (flatten): a view, no copy.
	reshaper interface{ reshape() }
	// counter has an integer batch count in PyTorch's checkpoints, which
	// Load accepts and ignores (BatchNorm's num_batches_tracked).
	counter interface{ batchCount() string }
	// preparer makes its per-graph state (kernels, buffers) before the
	// graph runs, so that a layer that cannot run says so at once.
	preparer interface{ prepare(p *Pass) error }
	// gradWriter writes every value of its parameters' gradients in
	// Backward, so the buffers need not be cleared before it (the lab's
	// layers; see Stepper.clearForBackward).
	gradWriter interface{ writesGrads() }
)

var errFusedSetup = errors.New("lab: a fused layer is not set up on its own")
