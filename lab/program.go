package lab

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"golab/lab/internal/graph"
)

type progKey struct {
	train bool
	batch int
}

// maxPrograms bounds the graphs a model keeps: a training run uses up to
// four (training and evaluation, at the batch size and at the odd size of
// a set's tail), and Logits on batches of other sizes adds more.
const maxPrograms = 6

// program is one compiled graph of the model, for training (loss, then
// gradients) or for evaluation, at one batch size. All programs of a model
// bind the same parameter tensors and gradient buffers, so a step taken in
// one is seen by every other; the training programs share the gradient
// scratch too (Model.scratch), which is safe because programs run only
// under the model's lock, one at a time.
type program struct {
	used   uint64 // the model's use clock at the last use
	prog   *graph.Program
	x, y   []float32 // bound inputs: images and (training) labels
	logits []float32 // the class scores after a forward run
	loss   *G.Node
	nodes  int    // graph size, for tests
	region [2]int // the rows and columns of the images it reads, when not all (imageRegion)
}

// stage is a run of layers that become one op: one layer, or a layer with
// the ones it absorbs.
type stage struct {
	layer       Layer
	first, last int
}

// stages groups the model's layers into ops, as the layers declare: a
// layer that absorbs the next one (a convolution its activation, that
// pair the max-pooling after it) becomes one op with it.
func (m *Model) stages() []stage {
	var out []stage
	for i := 0; i < len(m.layers); i++ {
		st := stage{layer: m.layers[i], first: i, last: i}
		for !m.unfused && st.last+1 < len(m.layers) {
			a, ok := st.layer.(absorber)
			if !ok {
				break
			}
			f := a.absorb(m.layers[st.last+1])
			if f == nil {
				break
			}
			st.layer, st.last = f, st.last+1
		}
		out = append(out, st)
		i = st.last
	}
	return out
}

// program returns the compiled graph for a mode and batch size, building it
// on first use. The model owns its graphs, which go with it when it is
// garbage; it keeps at most maxPrograms, dropping the least recently used.
// Callers hold m.mu.
func (m *Model) program(train bool, batch int) (*program, error) {
	m.uses++
	key := progKey{train, batch}
	if p, ok := m.programs[key]; ok {
		p.used = m.uses
		return p, nil
	}
	for len(m.programs) >= maxPrograms {
		var oldest progKey
		first := true
		for k, p := range m.programs {
			if first || p.used < m.programs[oldest].used {
				oldest, first = k, false
			}
		}
		m.programs[oldest].prog.Close()
		delete(m.programs, oldest)
	}
	p, err := m.compile(train, batch)
	if err != nil {
		return nil, err
	}
	if m.programs == nil {
		m.programs = map[progKey]*program{}
	}
	p.used = m.uses
	m.programs[key] = p
	return p, nil
}

// compile builds a graph of the model: every stage of layers becomes one op
// through the graph adapter, which calls the layer's Forward and Backward.
func (m *Model) compile(train bool, batch int) (*program, error) {
	b := graph.NewBuilder(train, &m.scratch)
	p := &program{}
	shapes := make([]layerShapes, len(m.built))
	for i, l := range m.built {
		shapes[i] = layerShapes{l.in, l.out}
	}
	in := []int{batch, Channels, Height, Width}
	if h, w, region, ok := m.imageRegion(); ok {
		in, shapes, p.region = []int{batch, Channels, h, w}, region, [2]int{h, w}
	}
	x, xd := b.Input("x", in, false)
	p.x = xd
	nodes := map[*Param]*G.Node{}
	for _, prm := range m.params {
		if prm.Trainable {
			nodes[prm] = b.Param(prm.Name, prm.Shape, prm.Data(), prm.grad)
		}
	}
	h := x
	for _, st := range m.stages() {
		var err error
		if h, err = m.addStage(b, st, shapes[st.first].in, shapes[st.last].out, h, batch, train, nodes); err != nil {
			return nil, err
		}
	}
	outputs := G.Nodes{h}
	if train {
		labels, yd := b.Input("labels", []int{batch}, false)
		p.y = yd
		loss, err := b.Apply(crossEntropy(batch, m.Classes()), h, labels)
		if err != nil {
			return nil, err
		}
		p.loss = loss
		outputs = G.Nodes{loss, h}
	}
	prog, err := b.Compile(outputs...)
	if err != nil {
		return nil, fmt.Errorf("lab: building %s: %w", m.Label, err)
	}
	p.prog = prog
	p.logits = b.Value(h)
	p.nodes = b.Nodes()
	return p, nil
}

// addStage adds one stage of layers to the graph, from per-image input
// shape in to out.
func (m *Model) addStage(b *graph.Builder, st stage, in, out []int, h *G.Node, batch int, train bool, nodes map[*Param]*G.Node) (*G.Node, error) {
	first, last := m.built[st.first], m.built[st.last]
	l := st.layer
	if s, ok := l.(skipper); ok && s.skip(train) {
		return h, nil
	}
	name := first.name
	if st.last > st.first {
		name = fmt.Sprintf("%s..%s", first.name, last.name)
	}
	shape := append([]int{batch}, out...)
	if _, ok := l.(reshaper); ok {
		return b.Apply(graph.Kernel{Name: name, Out: shape, Alias: true}, h)
	}
	pass := &Pass{N: batch, In: in, Out: out, Train: train, layer: first.name, params: first.params, drop: m.drop}
	if pr, ok := l.(preparer); ok {
		if err := pr.prepare(pass); err != nil {
			return nil, fmt.Errorf("lab: layer %s %s: %w", first.name, first.desc, err)
		}
	}
	inputs := G.Nodes{h}
	for _, prm := range first.params {
		if prm.Trainable {
			inputs = append(inputs, nodes[prm])
		}
	}
	return b.Apply(layerKernel(l, pass, name, first.desc, shape), inputs...)
}

// layerKernel adapts a layer to the graph: its Forward and Backward over
// []float32 become the forward op and the gradient op.
func layerKernel(l Layer, pass *Pass, name, desc string, out []int) graph.Kernel {
	wrap := func(err error) error {
		if err != nil {
			return fmt.Errorf("lab: layer %s %s: %w", name, desc, err)
		}
		return nil
	}
	return graph.Kernel{
		Name: name,
		Out:  out,
		Forward: func(y []float32, in [][]float32) error {
			return wrap(l.Forward(pass, y, in[0]))
		},
		Backward: func(din [][]float32, dy, y []float32, in [][]float32) error {
			pass.grads = din[1:]
			defer func() { pass.grads = nil }()
			if _, ok := l.(gradWriter); !ok {
				// A layer written outside the lab may leave part of a
				// gradient unwritten: make that part zero, not the last
				// step's (see Stepper.clearForBackward).
				for _, g := range pass.grads {
					clear(g)
				}
			}
			return wrap(l.Backward(pass, din[0], dy, in[0], y))
		},
	}
}

// load copies a batch into the program's inputs: the part of each image
// the model reads (see imageRegion).
func (p *program) load(b *Batch) {
	if p.region[0] > 0 {
		cropImages(p.x, b.X, b.Len(), p.region[0], p.region[1])
	} else {
		copy(p.x, b.X)
	}
	for i, l := range b.Labels {
		if p.y != nil {
			p.y[i] = float32(l)
		}
	}
}

// forward runs the forward pass on a batch: the logits, and the loss of a
// training program.
func (p *program) forward(b *Batch) error {
	p.load(b)
	return p.prog.Forward()
}

// lossValue is the loss of the last forward run.
func (p *program) lossValue() float64 {
	if v, ok := p.loss.Value().(*G.F32); ok {
		return float64(*v)
	}
	return 0
}

// trainable returns the parameters the optimizer updates, in order.
func (m *Model) trainable() []*Param {
	var out []*Param
	for _, p := range m.params {
		if p.Trainable {
			out = append(out, p)
		}
	}
	return out
}
