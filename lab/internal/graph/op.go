package graph

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// op adapts a computation over float32 data to gorgonia's Op and SDOp
// interfaces. Each op owns its output buffer and reuses it at every run: a
// training step then allocates almost nothing, where gorgonia's own ops
// allocate their outputs afresh.
type op struct {
	name  string
	id    uint64       // unique: gorgonia must never merge two of our ops
	in    []int        // dims of each input; 0 is a scalar
	shape tensor.Shape // output shape; nil for a scalar
	// run computes the output from the inputs' data; nil for alias ops.
	run func(out []float32, in [][]float32) error
	// grads builds the gradient nodes of the inputs; nil when the op is
	// not differentiated.
	grads func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error)
	wrt   []bool
	// alias makes the op a view: its output shares the data of input 0.
	alias bool

	out    *tensor.Dense // the output buffer (or view), when known at build time
	scalar []float32
}

var opIDs atomic.Uint64

func newOp(name string, in []int, shape []int) *op {
	o := &op{name: name, id: opIDs.Add(1), in: in}
	if shape != nil {
		o.shape = tensor.Shape(shape).Clone()
	}
	return o
}

func (o *op) Arity() int { return len(o.in) }

func typeOf(dims int) hm.Type {
	if dims == 0 {
		return tensor.Float32
	}
	return G.TensorType{Dims: dims, Of: tensor.Float32}
}

func (o *op) Type() hm.Type {
	ts := make(hm.Types, 0, len(o.in)+1)
	for _, d := range o.in {
		ts = append(ts, typeOf(d))
	}
	ts = append(ts, typeOf(len(o.shape)))
	return hm.NewFnType(ts...)
}

func (o *op) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if o.shape == nil {
		return tensor.ScalarShape(), nil
	}
	return o.shape.Clone(), nil
}

// Do runs the computation. gorgonia's tape machine calls it on a goroutine
// of its own, where a panic could not be recovered by the caller: Do turns
// any panic into an error so that it can never take a kernel down.
func (o *op) Do(vals ...G.Value) (v G.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, &opError{fmt.Errorf("lab: op %s failed: %v", o.name, r)}
		}
	}()
	if len(vals) != len(o.in) {
		return nil, fmt.Errorf("lab: op %s got %d inputs, wants %d", o.name, len(vals), len(o.in))
	}
	in := make([][]float32, len(vals))
	for i, v := range vals {
		d, err := float32s(v)
		if err != nil {
			return nil, fmt.Errorf("lab: op %s, input %d: %w", o.name, i, err)
		}
		in[i] = d
	}
	if o.alias {
		if o.out != nil {
			return o.out, nil
		}
		return tensor.New(tensor.WithShape(o.shape...), tensor.WithBacking(in[0])), nil
	}
	if o.shape == nil {
		if o.scalar == nil {
			o.scalar = make([]float32, 1)
		}
		if err := o.run(o.scalar, in); err != nil {
			return nil, &opError{err}
		}
		return G.NewF32(o.scalar[0]), nil
	}
	if o.out == nil {
		o.out = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(o.shape...))
	}
	if err := o.run(o.out.Data().([]float32), in); err != nil {
		return nil, &opError{err}
	}
	return o.out, nil
}

// opError is an error of an op's computation, which Program.run unwraps
// from the tape machine's.
type opError struct{ err error }

func (e *opError) Error() string { return e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// float32s returns the data of a float32 tensor or scalar value.
func float32s(v G.Value) ([]float32, error) {
	switch t := v.(type) {
	case *tensor.Dense:
		if d, ok := t.Data().([]float32); ok {
			return d, nil
		}
		if f, ok := t.Data().(float32); ok {
			return []float32{f}, nil
		}
		return nil, fmt.Errorf("want float32 data, got %T", t.Data())
	case *G.F32:
		return []float32{float32(*t)}, nil
	}
	return nil, fmt.Errorf("want a float32 tensor, got %T", v)
}

func (o *op) ReturnsPtr() bool     { return o.alias }
func (o *op) CallsExtern() bool    { return false }
func (o *op) OverwritesInput() int { return -1 }
func (o *op) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "%s#%d", o.name, o.id)
}
func (o *op) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}
func (o *op) String() string { return o.name }

func (o *op) DiffWRT(n int) []bool {
	if o.wrt != nil {
		return o.wrt
	}
	return make([]bool, n)
}

func (o *op) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if o.grads == nil {
		return nil, fmt.Errorf("lab: op %s is not differentiable here", o.name)
	}
	return o.grads(inputs, output, grad)
}
