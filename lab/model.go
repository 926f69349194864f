package lab

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Param is a tensor of a model: a learnt weight, or a buffer such as
// BatchNorm's running statistics. Names and shapes are PyTorch's
// state_dict ones.
type Param struct {
	Name      string
	Shape     []int
	Trainable bool // false for buffers, which the optimizer leaves alone
	Value     *tensor.Dense
}

// Data returns the parameter's values, shared by every graph of the model.
func (p *Param) Data() []float32 { return p.Value.Data().([]float32) }

// Size is the number of values.
func (p *Param) Size() int { return p.Value.Shape().TotalSize() }

// Model is a sequence of layers applied to 3×32×32 images, ending in class
// scores (logits). Build one with BuildCNN or take one from lab/models.
//
// A Model is safe for use by one goroutine at a time.
type Model struct {
	Name  string // e.g. "DropoutCNN"
	Label string // the configuration, e.g. "DropoutCNN p=0.5"; names run folders
	Seed  uint64 // seeds the initial weights

	layers []Layer
	shapes [][]int // per-image output shape of each layer
	params []*Param

	initRNG *rand.Rand
	drop    *dropSource

	mu       sync.Mutex
	programs map[progKey]*program // compiled graphs, at most maxPrograms
	uses     uint64               // clock of program uses, for evicting the least recent
	unfused  bool                 // build every layer as its own op (tests compare the two)
}

// InputShape is the per-image input of every model: CIFAR-10's 3×32×32.
var InputShape = []int{Channels, Height, Width}

// BuildCNN builds a model from a list of layers, like nn.Sequential. Layers
// without a name get PyTorch's Sequential names "0", "1", ... It checks that
// each layer fits the output of the one before, infers Linear(Auto, n)'s
// input size, and initialises the weights as PyTorch does, from seed.
func BuildCNN(name string, seed uint64, layers ...Layer) (*Model, error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("lab: BuildCNN %q: no layers", name)
	}
	m := &Model{
		Name:    name,
		Label:   name,
		Seed:    seed,
		layers:  layers,
		initRNG: rand.New(rand.NewPCG(seed, 0x1a1e)),
		drop:    &dropSource{rng: rand.New(rand.NewPCG(seed, 0xd209))},
	}
	seen := map[string]bool{}
	shape := InputShape
	for i, l := range layers {
		if l == nil {
			return nil, fmt.Errorf("lab: BuildCNN %q: layer %d is nil", name, i)
		}
		if l.Name() == "" {
			l.As(fmt.Sprint(i))
		}
		if seen[l.Name()] {
			return nil, fmt.Errorf("lab: BuildCNN %q: two layers are named %q; names must be unique", name, l.Name())
		}
		seen[l.Name()] = true
		out, err := l.setup(shape, m)
		if err != nil {
			return nil, err
		}
		m.shapes = append(m.shapes, out)
		shape = out
	}
	if len(shape) != 1 {
		return nil, fmt.Errorf("lab: BuildCNN %q: the last layer gives shape %v per image; a classifier must end in a flat vector of class scores (add Flatten and Linear)", name, shape)
	}
	return m, nil
}

func (m *Model) newParam(name string, shape []int, trainable bool) *Param {
	p := &Param{
		Name:      name,
		Shape:     shape,
		Trainable: trainable,
		Value:     tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...)),
	}
	m.params = append(m.params, p)
	return p
}

// Params returns the model's tensors in state_dict order.
func (m *Model) Params() []*Param { return m.params }

// Param returns the tensor with the given state_dict name, or nil.
func (m *Model) Param(name string) *Param {
	for _, p := range m.params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// NumParams counts the trainable parameters, as PyTorch's
// sum(p.numel() for p in model.parameters()).
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.params {
		if p.Trainable {
			n += p.Size()
		}
	}
	return n
}

// Classes is the number of class scores the model outputs.
func (m *Model) Classes() int { return m.shapes[len(m.shapes)-1][0] }

// Layers returns the model's layers.
func (m *Model) Layers() []Layer { return m.layers }

// String returns the model's summary.
func (m *Model) String() string { return m.Summary() }

// Summary describes the model the way PyTorch prints it, with each layer's
// output shape (batch dimension -1, as torchsummary does) and parameter
// count, and the totals.
func (m *Model) Summary() string {
	var b strings.Builder
	rows := [][3]string{}
	wName, wShape := len("Layer (name)"), len("Output shape")
	for i, l := range m.layers {
		n := 0
		for _, p := range m.params {
			if p.Trainable && strings.HasPrefix(p.Name, l.Name()+".") {
				n += p.Size()
			}
		}
		shape := "[-1"
		for _, d := range m.shapes[i] {
			shape += fmt.Sprintf(", %d", d)
		}
		shape += "]"
		r := [3]string{fmt.Sprintf("(%s): %s", l.Name(), l), shape, commas(n)}
		wName, wShape = max(wName, len([]rune(r[0]))), max(wShape, len(r[1]))
		rows = append(rows, r)
	}
	title := m.Label
	if title == "" {
		title = m.Name
	}
	rule := strings.Repeat("─", wName+wShape+14)
	fmt.Fprintf(&b, "%s\n%s\n", title, rule)
	fmt.Fprintf(&b, "%-*s  %-*s  %10s\n%s\n", wName, "Layer (name)", wShape, "Output shape", "Param #", rule)
	for _, r := range rows {
		fmt.Fprintf(&b, "%s%s  %-*s  %10s\n", r[0], strings.Repeat(" ", wName-len([]rune(r[0]))), wShape, r[1], r[2])
	}
	fmt.Fprintf(&b, "%s\nTotal params: %s\nTrainable params: %s\n", rule, commas(m.NumParams()), commas(m.NumParams()))
	return b.String()
}

func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// dropSource is the uniform source of every dropout layer of a model. Train
// reseeds it at each epoch from the run's seed, so a run resumed at epoch k
// draws the same masks as one that never stopped. The graphs hold it rather
// than the model, so that nothing in a graph leads back to the model.
type dropSource struct{ rng *rand.Rand }

func (d *dropSource) draw() float32 { return d.rng.Float32() }

func (d *dropSource) reseed(seed, stream uint64) { d.rng = rand.New(rand.NewPCG(seed, stream)) }

// ---- graphs ----

type progKey struct {
	train bool
	batch int
}

// maxPrograms bounds the graphs a model keeps: a training run uses up to
// four (training and evaluation, at the batch size and at the odd size of
// a set's tail), and Logits on batches of other sizes adds more.
const maxPrograms = 6

// program is one compiled gorgonia graph of the model: for training (with
// loss and gradients) or for evaluation, at one batch size. All programs of
// a model bind the same parameter tensors, so a step taken in one is seen by
// every other.
type program struct {
	used   uint64 // the model's use clock at the last use
	g      *G.ExprGraph
	vm     G.VM
	x, y   *tensor.Dense // bound inputs: images and (training) labels
	logits *G.Node
	loss   *G.Node
	params G.Nodes // trainable parameter nodes, in m.params order
}

// builder is what a layer needs to add itself to a graph. It holds nothing
// that leads back to the model: the graph's ops keep what they capture.
type builder struct {
	drop   *dropSource
	g      *G.ExprGraph
	train  bool
	input  *G.Node
	params map[*Param]*G.Node
}

func (b *builder) param(p *Param) *G.Node {
	if n, ok := b.params[p]; ok {
		return n
	}
	n := G.NewTensor(b.g, tensor.Float32, len(p.Shape), G.WithShape(p.Shape...), G.WithName(p.Name), G.WithValue(p.Value))
	b.params[p] = n
	return n
}

// needsGrad reports whether the gradient with respect to x is needed: not
// for the images themselves, which saves the first layer's input gradient.
func (b *builder) needsGrad(x *G.Node) bool { return b.train && x != b.input }

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
		m.programs[oldest].vm.Close()
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

func (m *Model) compile(train bool, batch int) (*program, error) {
	g := G.NewGraph()
	p := &program{g: g}
	p.x = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(batch, Channels, Height, Width))
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(batch, Channels, Height, Width), G.WithName("x"), G.WithValue(p.x))
	b := &builder{drop: m.drop, g: g, train: train, input: x, params: map[*Param]*G.Node{}}
	h, err := m.buildLayers(b, x)
	if err != nil {
		return nil, err
	}
	p.logits = h
	if !train {
		p.vm = newTapeMachine(g)
		return p, nil
	}
	p.y = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(batch))
	y := G.NewTensor(g, tensor.Float32, 1, G.WithShape(batch), G.WithName("labels"), G.WithValue(p.y))
	loss, err := crossEntropy(h, y)
	if err != nil {
		return nil, err
	}
	p.loss = loss
	for _, prm := range m.params {
		if prm.Trainable {
			p.params = append(p.params, b.param(prm))
		}
	}
	if _, err := G.Grad(loss, p.params...); err != nil {
		return nil, fmt.Errorf("lab: differentiating %s: %w", m.Name, err)
	}
	p.vm = newTapeMachine(g, G.BindDualValues(p.params...))
	return p, nil
}

// run executes the program once on a batch. It turns a panic inside a
// kernel into an error, so that a bug never takes a notebook's kernel down.
func (p *program) run(b *Batch) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("lab: internal error while running the model: %v", r)
		}
		p.vm.Reset()
	}()
	copy(p.x.Data().([]float32), b.X)
	if p.y != nil {
		ys := p.y.Data().([]float32)
		for i, l := range b.Labels {
			ys[i] = float32(l)
		}
	}
	return p.vm.RunAll()
}

// logitsData returns the class scores of the last run.
func (p *program) logitsData() []float32 {
	return p.logits.Value().Data().([]float32)
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

// buildLayers adds the layers to the graph. A convolution followed by a
// ReLU or LeakyReLU becomes one op, which saves a pass over the largest
// activations forward and backward; when a max-pooling comes next, the
// pooling's backward pass applies the activation's gradient too. The model
// still lists (and prints) the layers one by one.
func (m *Model) buildLayers(b *builder, x *G.Node) (*G.Node, error) {
	h := x
	var err error
	for i := 0; i < len(m.layers); i++ {
		conv, isConv := m.layers[i].(*conv2d)
		var relu *leakyReLU
		if isConv && i+1 < len(m.layers) && !m.unfused {
			relu, _ = m.layers[i+1].(*leakyReLU)
		}
		if relu == nil {
			if h, err = m.layers[i].build(b, h); err != nil {
				return nil, err
			}
			continue
		}
		act := &activation{slope: relu.slope}
		var pool *maxPool2d
		if i+2 < len(m.layers) {
			pool, _ = m.layers[i+2].(*maxPool2d)
		}
		if h, err = conv.buildAct(b, h, act, pool != nil); err != nil {
			return nil, err
		}
		i++
		if pool != nil {
			if h, err = pool.buildAfterAct(b, h, act); err != nil {
				return nil, err
			}
			i++
		}
	}
	return h, nil
}
