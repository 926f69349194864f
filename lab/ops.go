package lab

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// kernelOp adapts one of the lab's float32 kernels to gorgonia's Op and SDOp
// interfaces, so the graph, symbolic differentiation and the tape machine
// stay gorgonia's while the arithmetic is ours. Each op owns its output
// buffer and reuses it at every run of the graph: a training step then
// allocates almost nothing, where gorgonia's own ops allocate their
// outputs afresh.
type kernelOp struct {
	name  string
	id    uint64       // unique: gorgonia must never merge two of our ops
	in    []int        // dims of each input; 0 is a scalar
	shape tensor.Shape // output shape; nil for a scalar
	// run computes the output from the inputs' data.
	run func(out []float32, in [][]float32) error
	// grads builds the gradient nodes of the inputs from the output's
	// gradient; nil entries for inputs that need none. nil for ops that are
	// not differentiated (evaluation graphs).
	grads func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error)
	wrt   []bool
	// alias, when set, makes the op a view: its output shares the data of
	// input 0 (flatten).
	alias bool
	// inPlace, when set, makes the op write its output over input 0, of
	// the same shape, and return it: for gradient ops whose input gradient
	// no other op reads (the gradient of a layer's output, when the layer
	// is its only reader), which saves an activation-sized buffer.
	inPlace bool
	// arena, for the ops of an evaluation graph (builder.apply), holds the
	// two buffers the chain of ops alternates between: each op's output is
	// read only by the next one, so op i can write where op i−2 did. An
	// evaluation graph then needs two activations' memory, not all of them.
	arena *chainArena
	slot  int
	// into, when set, is the op's output tensor, shared with other graphs:
	// a parameter's gradient (Param.grad).
	into *tensor.Dense

	out    *tensor.Dense
	scalar []float32
}

// chainArena is the pair of output buffers of an evaluation graph's ops.
type chainArena struct {
	need [2]int
	buf  [2][]float32
}

// buffer returns slot's buffer, made on first use at the largest size an
// op of the slot needs (all ops are applied before any runs).
func (a *chainArena) buffer(slot int) []float32 {
	if a.buf[slot] == nil {
		a.buf[slot] = make([]float32, a.need[slot])
	}
	return a.buf[slot]
}

var opIDs atomic.Uint64

func newOp(name string, in []int, shape tensor.Shape, run func(out []float32, in [][]float32) error) *kernelOp {
	return &kernelOp{name: name, id: opIDs.Add(1), in: in, shape: shape, run: run}
}

// apply adds the op to the graph with the given inputs.
func (op *kernelOp) apply(inputs ...*G.Node) (*G.Node, error) {
	if len(inputs) != len(op.in) {
		return nil, fmt.Errorf("lab: op %s takes %d inputs, got %d", op.name, len(op.in), len(inputs))
	}
	return G.ApplyOp(op, inputs...)
}

// apply adds a layer's forward op to the graph. In an evaluation graph
// (the model's layers in a chain, nothing kept for a backward pass) the op
// writes its output into the chain's arena, in the other slot than the op
// before it; a view (flatten) stays in its input's slot.
func (b *builder) apply(op *kernelOp, inputs ...*G.Node) (*G.Node, error) {
	if !b.train && op.shape != nil {
		prev, ok := inputs[0].Op().(*kernelOp)
		switch {
		case ok && prev.arena != nil && op.alias:
			op.arena, op.slot = prev.arena, prev.slot
		case ok && prev.arena != nil:
			op.arena, op.slot = prev.arena, 1-prev.slot
		default:
			op.arena = &chainArena{}
		}
		if !op.alias {
			op.arena.need[op.slot] = max(op.arena.need[op.slot], op.shape.TotalSize())
		}
	}
	return op.apply(inputs...)
}

func (op *kernelOp) Arity() int { return len(op.in) }

func typeOf(dims int) hm.Type {
	if dims == 0 {
		return tensor.Float32
	}
	return G.TensorType{Dims: dims, Of: tensor.Float32}
}

func (op *kernelOp) Type() hm.Type {
	ts := make(hm.Types, 0, len(op.in)+1)
	for _, d := range op.in {
		ts = append(ts, typeOf(d))
	}
	ts = append(ts, typeOf(len(op.shape)))
	return hm.NewFnType(ts...)
}

func (op *kernelOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if op.shape == nil {
		return tensor.ScalarShape(), nil
	}
	return op.shape.Clone(), nil
}

// Do runs the kernel. gorgonia's tape machine calls it on a goroutine of
// its own, where a panic could not be recovered by the caller: Do turns
// any panic into an error so that it can never take a kernel down.
func (op *kernelOp) Do(vals ...G.Value) (v G.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("lab: op %s failed: %v", op.name, r)
		}
	}()
	if len(vals) != len(op.in) {
		return nil, fmt.Errorf("lab: op %s got %d inputs, wants %d", op.name, len(vals), len(op.in))
	}
	in := make([][]float32, len(vals))
	for i, v := range vals {
		d, err := float32s(v)
		if err != nil {
			return nil, fmt.Errorf("lab: op %s, input %d: %w", op.name, i, err)
		}
		in[i] = d
	}
	if op.shape == nil {
		if op.scalar == nil {
			op.scalar = make([]float32, 1)
		}
		if err := op.run(op.scalar, in); err != nil {
			return nil, err
		}
		return G.NewF32(op.scalar[0]), nil
	}
	if op.alias {
		return tensor.New(tensor.WithShape(op.shape...), tensor.WithBacking(in[0])), nil
	}
	if op.inPlace {
		if err := op.run(in[0], in); err != nil {
			return nil, err
		}
		return vals[0], nil
	}
	if op.out == nil {
		if op.into != nil {
			op.out = op.into
		} else if op.arena != nil {
			buf := op.arena.buffer(op.slot)
			op.out = tensor.New(tensor.WithShape(op.shape...), tensor.WithBacking(buf[:op.shape.TotalSize()]))
		} else {
			op.out = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(op.shape...))
		}
	}
	if err := op.run(op.out.Data().([]float32), in); err != nil {
		return nil, err
	}
	return op.out, nil
}

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

func (op *kernelOp) ReturnsPtr() bool     { return op.alias || op.inPlace }
func (op *kernelOp) CallsExtern() bool    { return false }
func (op *kernelOp) OverwritesInput() int { return -1 }
func (op *kernelOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "%s#%d", op.name, op.id)
}
func (op *kernelOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
func (op *kernelOp) String() string { return op.name }

func (op *kernelOp) DiffWRT(n int) []bool {
	if op.wrt != nil {
		return op.wrt
	}
	return make([]bool, n)
}

func (op *kernelOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if op.grads == nil {
		return nil, fmt.Errorf("lab: op %s is not differentiable here", op.name)
	}
	return op.grads(inputs, output, grad)
}
