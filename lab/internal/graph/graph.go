// Package graph turns computations over []float32 (a layer's forward and
// backward pass, a loss) into gorgonia ops, and a graph of them into two
// programs: a forward one that computes the outputs, and a backward one that
// computes the gradients. gorgonia stays the graph, the symbolic
// differentiation and the tape machine; the arithmetic is the caller's.
//
// The backward program never runs a forward op again: the gradient ops read
// the values the forward program left behind through leaf nodes bound to
// the forward ops' own output buffers. So the two passes are separate calls,
// and gradients accumulate into the buffers the caller registers with Param
// until the caller clears them, as in PyTorch.
//
// Memory: a training graph keeps every forward output (the backward pass
// reads them), but the gradients flowing back through a chain alternate
// between two buffers, and the parameters' gradients are written straight
// into their buffers when those are clear, through a scratch shared by all
// the graphs of a model only when they must be added (grad.go).
package graph

import (
	"errors"
	"fmt"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Kernel is one computation: an output of shape Out from the data of its
// inputs. Input 0 is the data flowing through the graph; the others are
// parameters or labels.
type Kernel struct {
	Name string
	Out  []int // the output's shape; nil for a scalar
	// Forward computes the output y from the inputs.
	Forward func(y []float32, in [][]float32) error
	// Backward computes the gradients of the inputs from dy, the gradient
	// of the output (one value for a scalar output): din[i] is nil when
	// input i needs none, else a buffer to overwrite. y is the output of
	// the last Forward (nil for a scalar). Nil when the kernel is not
	// differentiated (evaluation graphs).
	Backward func(din [][]float32, dy, y []float32, in [][]float32) error
	// Alias makes the output input 0 under another shape, sharing its data
	// (flatten): neither Forward nor Backward is called.
	Alias bool
}

// Builder builds one graph.
type Builder struct {
	g       *G.ExprGraph
	train   bool
	vals    map[*G.Node]*tensor.Dense // the value every node holds after a forward run
	saved   map[*G.Node]*G.Node       // a leaf standing for a forward node in the backward pass
	grads   map[*G.Node][]float32     // leaves whose gradient accumulates into a buffer
	want    map[*G.Node]bool          // leaves whose gradient is wanted without a buffer
	fwd     map[*G.Node]bool          // the forward ops
	read    map[*G.Node]int           // how many times ops read a node
	scratch *Scratch                  // the parameters' gradient scratch; nil: the graph's own

	// In an evaluation graph that is a chain, each op's output is read
	// only by the next op, so op i can write where op i−2 did: its outputs
	// alternate between two buffers (arena), made at Compile at the size
	// of the largest output of each. It then needs two activations'
	// memory, not all of them.
	//
	// The backward program of a training graph whose forward ops form a
	// chain is a chain too, the other way round: the input gradient of op
	// i is read only by the gradient op of op i−1. So the input gradients
	// alternate between two buffers in the same way (gradChain), where
	// each gradient op would otherwise own a buffer as large as its
	// input, as much memory as all the activations together.
	arena   [2]int          // the largest output of each slot
	slot    map[*G.Node]int // the slot of a chained op's output
	pending []*chain        // outputs bound at Compile, in the order of their ops

	// branched is set when the forward graph is not such a chain: an op's
	// output read twice (gorgonia then sums its gradients with ops of its
	// own, which would read buffers that later gradient ops of the chain
	// overwrite), an op's output read at an input other than 0 (gradients
	// then flow back along two paths, whose ops gorgonia may interleave),
	// or a parameter at input 0 (its gradient would be left in a chained
	// buffer).
	branched  bool
	gradChain bool // the backward program's input gradients are chained
	plain     bool // tests: no chained gradients, no gradients written straight into their buffers
}

// chain is a chained op's output, bound to its slot at Compile.
type chain struct {
	n, from *G.Node // the output, and the node the op reads it from
	op      *op
	shape   []int
	slot    int
}

// NewBuilder starts a graph; train graphs are differentiated. The
// parameters' gradient scratch comes from s when it is not nil: give every
// graph of a model the same Scratch (see there), or nil to give the graph
// buffers of its own.
func NewBuilder(train bool, s *Scratch) *Builder {
	return &Builder{g: G.NewGraph(), train: train, vals: map[*G.Node]*tensor.Dense{}, saved: map[*G.Node]*G.Node{},
		grads: map[*G.Node][]float32{}, want: map[*G.Node]bool{}, fwd: map[*G.Node]bool{}, read: map[*G.Node]int{},
		scratch: s, slot: map[*G.Node]int{}}
}

// Train reports whether the graph is differentiated.
func (b *Builder) Train() bool { return b.train }

// Input adds a leaf bound to a new tensor of the given shape and returns
// the node and its data, which the caller fills before each run. With
// grad set, its gradient is computed too (Program.Grad).
func (b *Builder) Input(name string, shape []int, grad bool) (*G.Node, []float32) {
	t := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))
	n := G.NewTensor(b.g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t))
	b.vals[n] = t
	if grad && b.train {
		b.want[n] = true
	}
	return n, t.Data().([]float32)
}

// Param adds a leaf bound to a parameter's values (shared with every graph
// of its model). The backward program adds the parameter's gradient into
// grad, which the caller zeroes when it wants.
func (b *Builder) Param(name string, shape []int, data, grad []float32) *G.Node {
	t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	n := G.NewTensor(b.g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t))
	b.vals[n] = t
	if b.train && grad != nil {
		b.grads[n] = grad
	}
	return n
}

// needsGrad reports whether the gradient of n is wanted: any op's output
// in a training graph, and the leaves registered for it.
func (b *Builder) needsGrad(n *G.Node) bool {
	if !b.train {
		return false
	}
	if n.Op() != nil {
		return true
	}
	return b.want[n] || b.grads[n] != nil
}

// Apply adds a kernel to the graph over the given inputs.
func (b *Builder) Apply(k Kernel, inputs ...*G.Node) (*G.Node, error) {
	if len(inputs) == 0 {
		return nil, fmt.Errorf("graph: op %s has no inputs", k.Name)
	}
	op := newOp(k.Name, dimsOf(inputs), k.Out)
	op.alias = k.Alias
	_, inChain := b.slot[inputs[0]]
	chained := !b.train && ((k.Alias && inChain) || (k.Out != nil && !k.Alias))
	var val *tensor.Dense
	switch {
	case chained:
		// Bound at Compile.
	case k.Alias:
		in := b.vals[inputs[0]]
		if in == nil {
			return nil, fmt.Errorf("graph: op %s: its input has no value", k.Name)
		}
		val = tensor.New(tensor.WithShape(k.Out...), tensor.WithBacking(in.Data()))
	case k.Out != nil:
		val = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(k.Out...))
	}
	op.out = val
	if !k.Alias {
		if k.Forward == nil {
			return nil, fmt.Errorf("graph: op %s has no forward pass", k.Name)
		}
		op.run = k.Forward
	}
	for i, in := range inputs {
		if b.grads[in] != nil && (b.read[in] > 0 || slices.Contains(inputs[i+1:], in)) {
			return nil, fmt.Errorf("graph: op %s reads the parameter %s, which is read already: a parameter's gradient can come from one op only", k.Name, in.Name())
		}
	}
	if b.train {
		wrt := make([]bool, len(inputs))
		some := false
		for i, in := range inputs {
			wrt[i] = b.needsGrad(in)
			some = some || wrt[i]
		}
		if some {
			if !k.Alias && k.Backward == nil {
				return nil, fmt.Errorf("graph: op %s has no backward pass", k.Name)
			}
			op.wrt = wrt
			op.grads = func(in G.Nodes, out, dy *G.Node) (G.Nodes, error) { return b.backward(k, op, in, out, dy) }
		}
	}
	n, err := G.ApplyOp(op, inputs...)
	if err != nil {
		return nil, fmt.Errorf("graph: op %s: %w", k.Name, err)
	}
	if val != nil {
		b.vals[n] = val
	}
	for i, in := range inputs {
		b.read[in]++
		switch {
		case b.fwd[in]:
			b.branched = b.branched || i > 0 || b.read[in] > 1
		case in.Op() != nil:
			b.branched = true // not a node of this builder's forward graph
		case i == 0 && b.grads[in] != nil:
			b.branched = true
		}
	}
	if chained {
		b.chainAfter(n, inputs[0], op, k.Out)
	}
	b.fwd[n] = true
	return n, nil
}

// chainAfter puts n, the output of o, in the chain after the node from
// that o reads: a view in from's slot, anything else in the other one (in
// slot 0 when from is not in the chain). A view of a node outside the chain
// stays out of it.
func (b *Builder) chainAfter(n, from *G.Node, o *op, shape []int) {
	c := &chain{n: n, from: from, op: o, shape: shape}
	s, ok := b.slot[from]
	switch {
	case o.alias && !ok:
		return
	case o.alias:
		c.slot = s
	case ok:
		c.slot = 1 - s
	default:
		c.slot = 0
	}
	if !o.alias {
		b.arena[c.slot] = max(b.arena[c.slot], size(shape))
	}
	b.slot[n] = c.slot
	b.pending = append(b.pending, c)
}

// bindChain gives the chained ops their outputs in the two buffers of the
// chain. An evaluation graph that turned out not to be a chain (its ops'
// slots are given as they are added) gets a buffer per op instead.
func (b *Builder) bindChain() {
	var bufs [2][]float32
	for i, n := range b.arena {
		if n > 0 && !b.branched {
			bufs[i] = make([]float32, n)
		}
	}
	for _, c := range b.pending {
		var data []float32
		switch {
		case !b.branched:
			data = bufs[c.slot]
		case c.op.alias:
			data = b.vals[c.from].Data().([]float32)
		default:
			data = make([]float32, size(c.shape))
		}
		t := tensor.New(tensor.WithShape(c.shape...), tensor.WithBacking(data[:size(c.shape)]))
		c.op.out, b.vals[c.n] = t, t
	}
	b.pending = nil
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// save returns the node the backward pass reads n's forward value through:
// n itself for a leaf, else a leaf bound to the forward op's output buffer,
// so that no forward op is part of the backward program.
func (b *Builder) save(n *G.Node) (*G.Node, error) {
	if n.Op() == nil {
		return n, nil
	}
	if s, ok := b.saved[n]; ok {
		return s, nil
	}
	v := b.vals[n]
	if v == nil {
		return nil, fmt.Errorf("graph: node %v has no value to save for the backward pass", n)
	}
	s := G.NewTensor(b.g, tensor.Float32, v.Dims(), G.WithShape(v.Shape()...), G.WithName("saved "+n.Name()), G.WithValue(v))
	b.saved[n] = s
	return s, nil
}

// backward builds the gradient ops of one kernel: one op that runs its
// Backward (its output is the gradient of input 0, or a dummy scalar), and
// one small op per parameter that adds that parameter's gradient into its
// buffer and hands it on.
func (b *Builder) backward(k Kernel, fop *op, inputs G.Nodes, output, dy *G.Node) (G.Nodes, error) {
	grads := make(G.Nodes, len(inputs))
	if k.Alias {
		if !fop.wrt[0] {
			return grads, nil
		}
		shape := inputs[0].Shape().Clone()
		back := newOp("d "+k.Name, []int{dy.Dims()}, shape)
		back.alias = true
		n, err := G.ApplyOp(back, dy)
		if err != nil {
			return nil, fmt.Errorf("graph: gradient of %s: %w", k.Name, err)
		}
		if b.gradChain {
			b.chainAfter(n, dy, back, shape)
		}
		grads[0] = n
		return grads, nil
	}
	// Inputs of the backward op: dy, then the saved output (when not a
	// scalar), then the saved inputs.
	bin := G.Nodes{dy}
	if fop.out != nil {
		y, err := b.save(output)
		if err != nil {
			return nil, err
		}
		bin = append(bin, y)
	}
	for _, in := range inputs {
		s, err := b.save(in)
		if err != nil {
			return nil, err
		}
		bin = append(bin, s)
	}
	sinks := make([]*gradSink, len(inputs))
	for i := 1; i < len(inputs); i++ {
		if fop.wrt[i] {
			sinks[i] = &gradSink{acc: b.grads[inputs[i]], n: inputs[i].Shape().TotalSize(), shared: b.scratch, plain: b.plain}
		}
	}
	var dxShape tensor.Shape
	if fop.wrt[0] {
		dxShape = inputs[0].Shape().Clone()
	}
	hasY := fop.out != nil
	bop := newOp("d "+k.Name, dimsOf(bin), dxShape)
	din := make([][]float32, len(inputs))
	bop.run = func(dx []float32, in [][]float32) error {
		for i, s := range sinks {
			if s != nil {
				din[i] = s.target()
			}
		}
		if fop.wrt[0] {
			din[0] = dx
		}
		var y []float32
		rest := in[1:]
		if hasY {
			y, rest = in[1], in[2:]
		}
		return k.Backward(din, in[0], y, rest)
	}
	bn, err := G.ApplyOp(bop, bin...)
	if err != nil {
		return nil, fmt.Errorf("graph: gradient of %s: %w", k.Name, err)
	}
	if fop.wrt[0] {
		grads[0] = bn
		if b.gradChain {
			b.chainAfter(bn, dy, bop, dxShape)
		}
	}
	for i := 1; i < len(inputs); i++ {
		if !fop.wrt[i] {
			continue
		}
		sink := sinks[i]
		shape := inputs[i].Shape().Clone()
		h := newOp(fmt.Sprintf("d %s input %d", k.Name, i), []int{bn.Dims()}, shape)
		if sink.acc != nil {
			// A parameter: accumulate into its buffer, and hand that on.
			h.out = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(sink.acc))
			h.run = func([]float32, [][]float32) error {
				sink.add()
				return nil
			}
		} else {
			h.out = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))
			h.run = func(out []float32, _ [][]float32) error {
				copy(out, sink.scratch)
				return nil
			}
		}
		if grads[i], err = G.ApplyOp(h, bn); err != nil {
			return nil, fmt.Errorf("graph: gradient of %s: %w", k.Name, err)
		}
	}
	return grads, nil
}

func dimsOf(ns G.Nodes) []int {
	d := make([]int, len(ns))
	for i, n := range ns {
		d[i] = n.Dims()
	}
	return d
}

// Program is a compiled graph: a forward program, and for training graphs a
// backward one.
type Program struct {
	fwd, bwd G.VM
	grads    map[*G.Node]*G.Node // leaf → its gradient node
	scratch  *Scratch            // the shared gradient scratch, or nil
	closed   bool
}

// Value returns the data n holds after a forward run. In an evaluation
// graph it is known once the graph is compiled.
func (b *Builder) Value(n *G.Node) []float32 {
	if v := b.vals[n]; v != nil {
		return v.Data().([]float32)
	}
	return nil
}

// Nodes counts the graph's nodes.
func (b *Builder) Nodes() int { return len(b.g.AllNodes()) }

// Compile compiles the graph. outputs are what Forward computes (the loss
// first, for a training graph); Backward then computes the gradient of
// outputs[0] with respect to every parameter and every input registered
// for it.
func (b *Builder) Compile(outputs ...*G.Node) (*Program, error) {
	if len(outputs) == 0 {
		return nil, fmt.Errorf("graph: nothing to compute")
	}
	p := &Program{scratch: b.scratch}
	b.bindChain()
	fwd, err := b.compile(outputs)
	if err != nil {
		return nil, err
	}
	p.fwd = fwd
	if !b.train {
		return p, nil
	}
	var wrt G.Nodes
	for n := range b.grads {
		wrt = append(wrt, n)
	}
	for n := range b.want {
		wrt = append(wrt, n)
	}
	if len(wrt) == 0 {
		return nil, fmt.Errorf("graph: a training graph with nothing to differentiate")
	}
	sortNodes(wrt)
	// A wanted gradient is read after Backward, where a chained one would
	// have been overwritten.
	b.gradChain = !b.branched && len(b.want) == 0 && !b.plain
	gs, err := G.Grad(outputs[0], wrt...)
	if err != nil {
		return nil, fmt.Errorf("graph: differentiating: %w", err)
	}
	b.bindChain()
	sub := b.g.ExactSubgraphRoots(gs...)
	for _, n := range sub.AllNodes() {
		if b.fwd[n] {
			return nil, fmt.Errorf("graph: internal error: the backward pass would run the forward op %v again", n)
		}
	}
	if p.bwd, err = b.compile(gs); err != nil {
		return nil, err
	}
	p.grads = map[*G.Node]*G.Node{}
	for i, n := range wrt {
		p.grads[n] = gs[i]
	}
	return p, nil
}

// compile makes a tape machine for the part of the graph that outputs
// depend on.
func (b *Builder) compile(outputs G.Nodes) (G.VM, error) {
	sub := b.g.ExactSubgraphRoots(outputs...)
	var leaves G.Nodes
	for _, n := range sub.AllNodes() {
		if n.Op() == nil {
			leaves = append(leaves, n)
		}
	}
	prog, locs, err := G.CompileFunction(b.g, leaves, outputs)
	if err != nil {
		return nil, fmt.Errorf("graph: compiling: %w", err)
	}
	return newTapeMachine(b.g, G.WithPrecompiled(prog, locs)), nil
}

// Forward runs the forward program. A panic in a kernel becomes an error,
// so that a bug never takes a notebook's kernel down.
func (p *Program) Forward() error { return p.run(p.fwd) }

// Backward runs the backward program: it adds the gradients into the
// parameters' buffers. It reads what the last Forward left.
func (p *Program) Backward() error {
	if p.scratch != nil {
		defer func() { p.scratch.clear = false }()
	}
	if p.bwd == nil {
		return fmt.Errorf("graph: an evaluation graph has no backward pass")
	}
	return p.run(p.bwd)
}

// Grad returns the gradient Backward computed for the leaf n (an input
// registered with grad set, or a parameter), or nil.
func (p *Program) Grad(n *G.Node) []float32 {
	g := p.grads[n]
	if g == nil || g.Value() == nil {
		return nil
	}
	d, _ := float32s(g.Value())
	return d
}

func (p *Program) run(vm G.VM) (err error) {
	if p.closed {
		return fmt.Errorf("graph: the program was closed")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("lab: internal error while running the model: %v", r)
		}
		vm.Reset()
	}()
	err = vm.RunAll()
	// An error of one of our ops comes back wrapped by the tape machine:
	// say what the op said.
	if oe := findOpError(err); oe != nil {
		return oe.err
	}
	return err
}

// Close releases the machines.
func (p *Program) Close() {
	p.closed = true
	p.fwd.Close()
	if p.bwd != nil {
		p.bwd.Close()
	}
}

// findOpError digs an op's error out of the tape machine's wrappings, which
// unwrap by Err (gorgonia's vmContextualError), Cause (pkg/errors) or
// Unwrap.
func findOpError(err error) *opError {
	for err != nil {
		var oe *opError
		if errors.As(err, &oe) {
			return oe
		}
		switch e := err.(type) {
		case interface{ Err() error }:
			err = e.Err()
		case interface{ Cause() error }:
			err = e.Cause()
		default:
			err = errors.Unwrap(err)
		}
	}
	return nil
}

func sortNodes(ns G.Nodes) {
	for i := 1; i < len(ns); i++ {
		for j := i; j > 0 && ns[j].ID() < ns[j-1].ID(); j-- {
			ns[j], ns[j-1] = ns[j-1], ns[j]
		}
	}
}
