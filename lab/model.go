package lab

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"gorgonia.org/tensor"

	"golab/lab/internal/graph"
)

// Param is a tensor of a model: a learnt weight, or a buffer such as
// BatchNorm's running statistics. Names and shapes are PyTorch's
// state_dict ones.
type Param struct {
	Name      string
	Shape     []int
	Trainable bool // false for buffers, which the optimizer leaves alone
	Value     *tensor.Dense

	grad []float32
}

func newParam(name string, shape []int, trainable bool) *Param {
	p := &Param{Name: name, Shape: shape, Trainable: trainable, Value: tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))}
	if trainable {
		p.grad = make([]float32, p.Size())
	}
	return p
}

// Data returns the parameter's values, shared by every graph of the model.
func (p *Param) Data() []float32 { return p.Value.Data().([]float32) }

// Grad returns the parameter's gradient: Backward adds to it and ZeroGrad
// clears it, as PyTorch's .grad. nil for buffers.
func (p *Param) Grad() []float32 { return p.grad }

// Size is the number of values.
func (p *Param) Size() int { return p.Value.Shape().TotalSize() }

// Model is a sequence of layers applied to 3×32×32 images, ending in class
// scores (logits). Build one with BuildCNN or take one from lab/models. The
// model owns its weights; its layers are descriptions it was built from.
//
// A Model is safe for use by one goroutine at a time.
type Model struct {
	Name  string // e.g. "DropoutCNN"
	Label string // the configuration, e.g. "DropoutCNN p=0.5"; names run folders
	Seed  uint64 // seeds the initial weights

	layers []Layer
	built  []builtLayer
	params []*Param

	initRNG *rand.Rand
	drop    *dropSource

	mu       sync.Mutex
	programs map[progKey]*program // compiled graphs, at most maxPrograms
	uses     uint64               // clock of program uses, for evicting the least recent
	unfused  bool                 // build every layer as its own op (tests compare the two)
	whole    bool                 // run the graphs on the whole image (tests compare with imageRegion)
	// scratch is the parameters' gradient scratch, shared by the training
	// graphs: a graph only runs under mu, so no two run at the same time.
	scratch graph.Scratch
}

// builtLayer is a layer as built into one model.
type builtLayer struct {
	name    string
	desc    string
	in, out []int // per-image shapes
	params  []*Param
}

// InputShape is the per-image input of every model: CIFAR-10's 3×32×32.
var InputShape = []int{Channels, Height, Width}

// BuildCNN builds a model from a list of layers, like nn.Sequential. Layers
// without a name get PyTorch's Sequential names "0", "1", ... It checks that
// each layer fits the output of the one before, infers Linear(Auto, n)'s
// input size, and initialises the weights as PyTorch does, from seed. The
// layers are left as they are: build two models from the same layer values
// and each has weights of its own.
func BuildCNN(name string, seed uint64, layers ...Layer) (*Model, error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("lab: BuildCNN %q: no layers", name)
	}
	m := &Model{
		Name:    name,
		Label:   name,
		Seed:    seed,
		layers:  append([]Layer(nil), layers...),
		initRNG: rand.New(rand.NewPCG(seed, 0x1a1e)),
		drop:    &dropSource{rng: rand.New(rand.NewPCG(seed, 0xd209))},
	}
	seen := map[string]bool{}
	shape := InputShape
	for i, l := range layers {
		if l == nil {
			return nil, fmt.Errorf("lab: BuildCNN %q: layer %d is nil", name, i)
		}
		ln := layerName(l)
		if ln == "" {
			ln = fmt.Sprint(i)
		}
		if seen[ln] {
			return nil, fmt.Errorf("lab: BuildCNN %q: two layers are named %q; names must be unique", name, ln)
		}
		seen[ln] = true
		s := &Setup{name: ln, rng: m.initRNG}
		out, err := setupLayer(l, s, shape)
		if err != nil {
			return nil, fmt.Errorf("lab: layer %s %s: %w", ln, describe(l), err)
		}
		desc := s.desc
		if desc == "" {
			desc = describe(l)
		}
		m.built = append(m.built, builtLayer{name: ln, desc: desc, in: shape, out: out, params: s.params})
		m.params = append(m.params, s.params...)
		shape = out
	}
	if len(shape) != 1 {
		return nil, fmt.Errorf("lab: BuildCNN %q: the last layer gives shape %v per image; a classifier must end in a flat vector of class scores (add Flatten and Linear)", name, shape)
	}
	return m, nil
}

// setupLayer runs a layer's Setup, turning a panic (in a layer written in
// a notebook) into an error and checking what it returns.
func setupLayer(l Layer, s *Setup, in []int) (out []int, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("Setup panicked: %v", r)
		}
	}()
	out, err = l.Setup(s, slices.Clone(in))
	switch {
	case err != nil:
		return nil, err
	case s.err != nil:
		return nil, s.err
	case len(out) == 0:
		return nil, errors.New("Setup returned no output shape")
	}
	for _, d := range out {
		if d < 1 {
			return nil, fmt.Errorf("Setup returned the output shape %v; every dimension must be ≥ 1", out)
		}
	}
	return slices.Clone(out), nil
}

// describe is a layer's String, safe against a panic in a student's method.
func describe(l Layer) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("%T", l)
		}
	}()
	return l.String()
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
func (m *Model) Classes() int { return m.built[len(m.built)-1].out[0] }

// Layers returns the layers the model was built from.
func (m *Model) Layers() []Layer { return slices.Clone(m.layers) }

// LayerName returns the name of layer i in the model ("conv1", or "3" for
// an unnamed fourth layer).
func (m *Model) LayerName(i int) string { return m.built[i].name }

// String returns the model's summary.
func (m *Model) String() string { return m.Summary() }

// Summary describes the model the way PyTorch prints it, with each layer's
// output shape (batch dimension -1, as torchsummary does) and parameter
// count, and the totals.
func (m *Model) Summary() string {
	var b strings.Builder
	rows := [][3]string{}
	wName, wShape := len("Layer (name)"), len("Output shape")
	for _, l := range m.built {
		n := 0
		for _, p := range l.params {
			if p.Trainable {
				n += p.Size()
			}
		}
		shape := "[-1"
		for _, d := range l.out {
			shape += fmt.Sprintf(", %d", d)
		}
		shape += "]"
		r := [3]string{fmt.Sprintf("(%s): %s", l.name, l.desc), shape, commas(n)}
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

// seed draws the seed of one step's dropout masks, which fill in parallel
// from it (nn.DropoutMaskSeeded).
func (d *dropSource) seed() uint64 { return d.rng.Uint64() }

func (d *dropSource) reseed(seed, stream uint64) { d.rng = rand.New(rand.NewPCG(seed, stream)) }
