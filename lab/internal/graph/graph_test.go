package graph

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
)

// scaleKernel is y = w ⊙ x, counting its forward runs.
func scaleKernel(n int, runs *int) Kernel {
	return Kernel{
		Name: "scale",
		Out:  []int{n},
		Forward: func(y []float32, in [][]float32) error {
			*runs++
			for i := range y {
				y[i] = in[0][i] * in[1][i]
			}
			return nil
		},
		Backward: func(din [][]float32, dy, y []float32, in [][]float32) error {
			for i := range dy {
				if din[0] != nil {
					din[0][i] = dy[i] * in[1][i]
				}
				din[1][i] = dy[i] * in[0][i]
			}
			return nil
		},
	}
}

// sumKernel is the scalar Σ y.
var sumKernel = Kernel{
	Name: "sum",
	Forward: func(out []float32, in [][]float32) error {
		out[0] = 0
		for _, v := range in[0] {
			out[0] += v
		}
		return nil
	},
	Backward: func(din [][]float32, dy, _ []float32, _ [][]float32) error {
		for i := range din[0] {
			din[0][i] = dy[0]
		}
		return nil
	},
}

func TestForwardBackwardAreSeparate(t *testing.T) {
	b := NewBuilder(true, nil)
	x, xd := b.Input("x", []int{3}, true)
	copy(xd, []float32{1, 2, 3})
	w := []float32{4, 5, 6}
	gw := make([]float32, 3)
	wn := b.Param("w", []int{3}, w, gw)
	runs := 0
	y, err := b.Apply(scaleKernel(3, &runs), x, wn)
	if err != nil {
		t.Fatal(err)
	}
	// A view of y, as flatten makes, before the loss.
	v, err := b.Apply(Kernel{Name: "view", Out: []int{1, 3}, Alias: true}, y)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := b.Apply(sumKernel, v)
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Compile(loss, y)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Forward(); err != nil {
		t.Fatal(err)
	}
	if got := b.Value(y); got[0] != 4 || got[1] != 10 || got[2] != 18 || runs != 1 {
		t.Fatalf("forward: y = %v after %d runs", got, runs)
	}
	if err := p.Backward(); err != nil {
		t.Fatal(err)
	}
	if runs != 1 {
		t.Errorf("the backward pass ran the forward op: %d runs", runs)
	}
	if gw[0] != 1 || gw[1] != 2 || gw[2] != 3 {
		t.Errorf("dL/dw = %v, want x", gw)
	}
	if gx := p.Grad(x); len(gx) != 3 || gx[0] != 4 || gx[2] != 6 {
		t.Errorf("dL/dx = %v, want w", gx)
	}
	// A second backward pass adds to the parameter's gradient.
	if err := p.Backward(); err != nil {
		t.Fatal(err)
	}
	if gw[0] != 2 || gw[2] != 6 {
		t.Errorf("after two backward passes dL/dw = %v, want 2x", gw)
	}
}

func TestKernelErrorsComeBackAsThemselves(t *testing.T) {
	b := NewBuilder(false, nil)
	x, _ := b.Input("x", []int{2}, false)
	boom := errors.New("boom")
	y, err := b.Apply(Kernel{Name: "fail", Out: []int{2}, Forward: func([]float32, [][]float32) error { return boom }}, x)
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Compile(y)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Forward(); err != boom {
		t.Errorf("Forward: %v, want the kernel's own error", err)
	}
	if err := p.Backward(); err == nil {
		t.Error("an evaluation graph ran a backward pass")
	}
	b2 := NewBuilder(false, nil)
	x2, _ := b2.Input("x", []int{2}, false)
	y2, _ := b2.Apply(Kernel{Name: "panic", Out: []int{2}, Forward: func(y []float32, _ [][]float32) error { _ = y[5]; return nil }}, x2)
	p2, _ := b2.Compile(y2)
	if err := p2.Forward(); err == nil {
		t.Error("a panicking kernel gave no error")
	}
	p.Close()
	if err := p.Forward(); err == nil {
		t.Error("a closed program ran")
	}
}

// TestEvaluationChainUsesTwoBuffers checks that an evaluation graph's ops
// alternate between two buffers, sized for the largest output of each,
// and still compute what a graph of separate buffers does.
func TestEvaluationChainUsesTwoBuffers(t *testing.T) {
	// x (4) → grow (8) → view (2×4) → shrink (2) → grow (8): sizes that
	// differ, so a buffer too small for a later op would show.
	resize := func(n int) Kernel {
		return Kernel{Name: "resize", Out: []int{n}, Forward: func(y []float32, in [][]float32) error {
			for i := range y {
				y[i] = in[0][i%len(in[0])] + float32(i)
			}
			return nil
		}}
	}
	b := NewBuilder(false, nil)
	x, xd := b.Input("x", []int{4}, false)
	copy(xd, []float32{1, 2, 3, 4})
	var nodes []*G.Node
	h := x
	for _, k := range []Kernel{resize(8), {Name: "view", Out: []int{2, 4}, Alias: true}, resize(2), resize(8)} {
		var err error
		if h, err = b.Apply(k, h); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, h)
	}
	p, err := b.Compile(h)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Forward(); err != nil {
		t.Fatal(err)
	}
	var outs [][]float32
	for _, n := range nodes {
		outs = append(outs, b.Value(n))
	}
	// The same chain on separate buffers.
	want := []float32{1, 2, 3, 4}
	for _, n := range []int{8, 2, 8} {
		y := make([]float32, n)
		for i := range y {
			y[i] = want[i%len(want)] + float32(i)
		}
		want = y
	}
	if got := b.Value(h); !slices.Equal(got, want) {
		t.Fatalf("the chained graph computes %v, separate buffers %v", got, want)
	}
	if &outs[0][0] != &outs[1][0] || &outs[0][0] != &outs[3][0] || &outs[2][0] == &outs[0][0] {
		t.Errorf("outputs do not alternate between two buffers (the view in its input's)")
	}
	if b.arena != [2]int{8, 2} {
		t.Errorf("the buffers are %v floats, want [8 2]", b.arena)
	}
}

// denseKernel is y = W·x + b over a batch of n rows: x is n×in, W out×in,
// b out. Its backward pass writes dx in full, as the kernels must.
func denseKernel(n, in, out int) Kernel {
	return Kernel{
		Name: "dense",
		Out:  []int{n, out},
		Forward: func(y []float32, args [][]float32) error {
			x, w, b := args[0], args[1], args[2]
			for r := range n {
				for o := range out {
					s := b[o]
					for i := range in {
						s += w[o*in+i] * x[r*in+i]
					}
					y[r*out+o] = s
				}
			}
			return nil
		},
		Backward: func(din [][]float32, dy, _ []float32, args [][]float32) error {
			x, w := args[0], args[1]
			dx, dw, db := din[0], din[1], din[2]
			clear(dw)
			clear(db)
			for r := range n {
				for o := range out {
					g := dy[r*out+o]
					db[o] += g
					for i := range in {
						dw[o*in+i] += g * x[r*in+i]
					}
				}
				if dx == nil {
					continue
				}
				for i := range in {
					var s float32
					for o := range out {
						s += w[o*in+i] * dy[r*out+o]
					}
					dx[r*in+i] = s
				}
			}
			return nil
		},
	}
}

// leakyKernel is a leaky ReLU over a shape; its gradient reads y.
func leakyKernel(shape ...int) Kernel {
	return Kernel{
		Name: "leaky",
		Out:  shape,
		Forward: func(y []float32, in [][]float32) error {
			for i, v := range in[0] {
				y[i] = max(v, v/8)
			}
			return nil
		},
		Backward: func(din [][]float32, dy, y []float32, _ [][]float32) error {
			for i, g := range dy {
				if y[i] <= 0 {
					g /= 8
				}
				din[0][i] = g
			}
			return nil
		},
	}
}

// weightedSum is the scalar loss Σ cᵢ·yᵢ with fixed weights cᵢ.
var weightedSum = Kernel{
	Name: "loss",
	Forward: func(out []float32, in [][]float32) error {
		out[0] = 0
		for i, v := range in[0] {
			out[0] += lossWeight(i) * v
		}
		return nil
	},
	Backward: func(din [][]float32, dy, _ []float32, _ [][]float32) error {
		for i := range din[0] {
			din[0][i] = lossWeight(i) * dy[0]
		}
		return nil
	},
}

func lossWeight(i int) float32 { return float32(i%7-3) / 4 }

// params are a small network's weights and gradients, shared by its graphs
// as a model's are.
type params struct{ data, grad [][]float32 }

// netShapes are the parameters of chainNet: W and b of three dense layers.
var netShapes = [][]int{{10, 6}, {10}, {4, 10}, {4}, {3, 4}, {3}}

func newParams(seed uint64) *params {
	r := rand.New(rand.NewPCG(seed, 1))
	p := &params{}
	for _, s := range netShapes {
		d := make([]float32, size(s))
		for i := range d {
			d[i] = float32(r.NormFloat64()) / 2
		}
		p.data = append(p.data, d)
		p.grad = append(p.grad, make([]float32, len(d)))
	}
	return p
}

func (p *params) clone() *params {
	c := &params{}
	for i := range p.data {
		c.data = append(c.data, slices.Clone(p.data[i]))
		c.grad = append(c.grad, slices.Clone(p.grad[i]))
	}
	return c
}

// chainNet is a training graph over a batch of n rows of 6 values:
// dense (6→10), leaky, a view as n×2×5, dense (10→4), leaky, dense (4→3),
// weighted sum. Its input gradients differ in size, so a chained buffer too
// small, or one overwritten while it is read, shows.
type chainNet struct {
	b *Builder
	p *Program
	x []float32
}

// newChainNet builds the graph; a plain one works as the graphs did before
// chained gradients and gradients written straight into their buffers.
func newChainNet(t *testing.T, n int, ps *params, s *Scratch, plain bool) *chainNet {
	t.Helper()
	b := NewBuilder(true, s)
	b.plain = plain
	x, xd := b.Input("x", []int{n, 6}, false)
	var w []*G.Node
	for i, sh := range netShapes {
		w = append(w, b.Param(fmt.Sprint("p", i), sh, ps.data[i], ps.grad[i]))
	}
	h := x
	for _, st := range []struct {
		k  Kernel
		in []*G.Node
	}{
		{denseKernel(n, 6, 10), w[0:2]},
		{leakyKernel(n, 10), nil},
		{Kernel{Name: "view", Out: []int{n, 2, 5}, Alias: true}, nil},
		{denseKernel(n, 10, 4), w[2:4]},
		{leakyKernel(n, 4), nil},
		{denseKernel(n, 4, 3), w[4:6]},
		{weightedSum, nil},
	} {
		var err error
		if h, err = b.Apply(st.k, append([]*G.Node{h}, st.in...)...); err != nil {
			t.Fatal(err)
		}
	}
	p, err := b.Compile(h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return &chainNet{b: b, p: p, x: xd}
}

// step runs one training step on a batch drawn from r: forward, zero the
// gradients (unless accumulate), backward, and an SGD update of the
// parameters.
func (c *chainNet) step(t *testing.T, ps *params, r *rand.Rand, accumulate bool) {
	t.Helper()
	c.stepWith(t, ps, r, func() {
		if !accumulate {
			for _, g := range ps.grad {
				clear(g)
			}
		}
	})
}

// stepWith is step with prepare run between the forward and the backward
// pass, in place of zeroing the gradients.
func (c *chainNet) stepWith(t *testing.T, ps *params, r *rand.Rand, prepare func()) {
	t.Helper()
	for i := range c.x {
		c.x[i] = float32(r.NormFloat64())
	}
	if err := c.p.Forward(); err != nil {
		t.Fatal(err)
	}
	prepare()
	if err := c.p.Backward(); err != nil {
		t.Fatal(err)
	}
	for i, d := range ps.data {
		for j, g := range ps.grad[i] {
			d[j] -= 0.05 * g
		}
	}
}

func sameParams(t *testing.T, what string, got, want *params) {
	t.Helper()
	for i := range want.data {
		for _, c := range []struct {
			what      string
			got, want []float32
		}{{"the gradient of parameter", got.grad[i], want.grad[i]}, {"parameter", got.data[i], want.data[i]}} {
			for j := range c.want {
				if math.Float32bits(c.got[j]) != math.Float32bits(c.want[j]) {
					t.Fatalf("%s: %s %d is %v at %d, want %v", what, c.what, i, c.got[j], j, c.want[j])
				}
			}
		}
	}
}

// chainedBuffers counts the distinct buffers the backward program's chained
// input gradients use.
func chainedBuffers(b *Builder) int {
	seen := map[*float32]bool{}
	for n := range b.slot {
		if d := b.Value(n); len(d) > 0 {
			seen[&d[0]] = true
		}
	}
	return len(seen)
}

// TestChainedGradientsMatchSeparateBuffers checks that a chain's input
// gradients, alternating between two buffers, and its parameters'
// gradients, written straight into their clear buffers, give the gradients
// and updates of separate buffers and scratch bit for bit, in steps that
// clear the gradients and in steps that add to them.
func TestChainedGradientsMatchSeparateBuffers(t *testing.T) {
	const n = 5
	ref := newParams(1)
	got := ref.clone()
	sep := newChainNet(t, n, ref, nil, true)
	arena := newChainNet(t, n, got, nil, false)
	if !arena.b.gradChain || sep.b.gradChain {
		t.Fatalf("a chain's gradients are chained: %v, with chaining turned off: %v", arena.b.gradChain, sep.b.gradChain)
	}
	// Input gradients of n×3, n×4 (twice) and n×10 (twice, and a view).
	if arena.b.arena != [2]int{n * 10, n * 10} || chainedBuffers(arena.b) != 2 {
		t.Errorf("the input gradients take %d buffers of %v floats, want 2 of [50 50]", chainedBuffers(arena.b), arena.b.arena)
	}
	if len(sep.b.slot) != 0 {
		t.Errorf("with chaining turned off, %d gradients are chained", len(sep.b.slot))
	}
	r1, r2 := rand.New(rand.NewPCG(7, 7)), rand.New(rand.NewPCG(7, 7))
	for i, acc := range []bool{false, false, true, false, true, true, false} {
		sep.step(t, ref, r1, acc)
		arena.step(t, got, r2, acc)
		sameParams(t, fmt.Sprint("step ", i), got, ref)
	}
}

// TestGraphsShareScratch runs two graphs of one set of parameters at two
// batch sizes alternately, as a model's training and tail batches do: with
// one shared Scratch they give the steps of plain graphs, bit for bit, and
// hold one scratch buffer per parameter, made only once a step adds to
// gradients already there.
func TestGraphsShareScratch(t *testing.T) {
	ref := newParams(2)
	got := ref.clone()
	var s Scratch
	shared := []*chainNet{newChainNet(t, 8, got, &s, false), newChainNet(t, 3, got, &s, false)}
	own := []*chainNet{newChainNet(t, 8, ref, nil, true), newChainNet(t, 3, ref, nil, true)}
	r1, r2 := rand.New(rand.NewPCG(9, 9)), rand.New(rand.NewPCG(9, 9))
	for i, g := range []int{0, 1, 1, 0, 1, 0, 0, 1, 0, 1} {
		acc := i >= 5 && i%2 == 1
		own[g].step(t, ref, r1, acc)
		shared[g].step(t, got, r2, acc)
		sameParams(t, fmt.Sprint("step ", i), got, ref)
		if want := map[bool]int{false: 0, true: len(netShapes)}[i >= 5]; len(s.bufs) != want {
			t.Fatalf("after step %d, two graphs of %d parameters hold %d scratch buffers, want %d", i, len(netShapes), len(s.bufs), want)
		}
	}
}

// TestAssumeClear checks that a Backward after AssumeClear writes the
// parameters' gradients without looking at their buffers (so one left
// non-zero is overwritten: a caller must have cleared them), and that
// Backward forgets it when it returns: the next Backward adds to the
// gradients there, as the reference graph does.
func TestAssumeClear(t *testing.T) {
	ref := newParams(3)
	got := ref.clone()
	var s Scratch
	net := newChainNet(t, 4, got, &s, false)
	plain := newChainNet(t, 4, ref, nil, true)
	r1, r2 := rand.New(rand.NewPCG(11, 11)), rand.New(rand.NewPCG(11, 11))
	for i, acc := range []bool{false, true, false, true, true} {
		plain.step(t, ref, r1, acc)
		net.stepWith(t, got, r2, func() {
			if acc {
				return
			}
			for _, g := range got.grad {
				for k := range g {
					g[k] = 7 // not cleared: AssumeClear's Backward overwrites it
				}
			}
			s.AssumeClear()
		})
		sameParams(t, fmt.Sprint("step ", i), got, ref)
	}
}

// addKernel is y = in[0] + in[1].
func addKernel(n int) Kernel {
	return Kernel{
		Name: "add",
		Out:  []int{n},
		Forward: func(y []float32, in [][]float32) error {
			for i := range y {
				y[i] = in[0][i] + in[1][i]
			}
			return nil
		},
		Backward: func(din [][]float32, dy, _ []float32, _ [][]float32) error {
			for _, d := range din {
				if d != nil {
					copy(d, dy)
				}
			}
			return nil
		},
	}
}

// TestGraphsThatAreNotChains checks that graphs whose gradients cannot
// share two buffers (an output read twice, by two ops or by one; two
// paths joined) keep buffers of their own and get their gradients right,
// and that evaluation graphs of that kind compute the right outputs.
func TestGraphsThatAreNotChains(t *testing.T) {
	x := []float32{1, 2, 3}
	w := [][]float32{{2, 3, 5}, {7, 11, 13}, {17, 19, 23}, {29, 31, 37}}
	mul := func(a, b []float32) []float32 {
		out := make([]float32, len(a))
		for i := range a {
			out[i] = a[i] * b[i]
		}
		return out
	}
	plus := func(a, b []float32) []float32 {
		out := make([]float32, len(a))
		for i := range a {
			out[i] = a[i] + b[i]
		}
		return out
	}
	for _, c := range []struct {
		name string
		// build returns the output to sum into the loss.
		build func(apply func(Kernel, ...*G.Node) *G.Node, x *G.Node, w []*G.Node) *G.Node
		want  [][]float32 // the gradient of each w; nil for those not used
		value []float32   // the output
	}{{
		name: "an output read by two ops",
		build: func(apply func(Kernel, ...*G.Node) *G.Node, x *G.Node, w []*G.Node) *G.Node {
			var runs int
			a := apply(scaleKernel(3, &runs), x, w[0])
			return apply(addKernel(3), apply(scaleKernel(3, &runs), a, w[1]), apply(scaleKernel(3, &runs), a, w[2]))
		},
		// a = x·w0, out = a·w1 + a·w2.
		want:  [][]float32{mul(x, plus(w[1], w[2])), mul(x, w[0]), mul(x, w[0]), nil},
		value: mul(mul(x, w[0]), plus(w[1], w[2])),
	}, {
		name: "an output read twice by one op",
		build: func(apply func(Kernel, ...*G.Node) *G.Node, x *G.Node, w []*G.Node) *G.Node {
			var runs int
			a := apply(scaleKernel(3, &runs), x, w[0])
			return apply(addKernel(3), a, a)
		},
		want:  [][]float32{plus(x, x), nil, nil, nil},
		value: plus(mul(x, w[0]), mul(x, w[0])),
	}, {
		name: "two paths joined",
		build: func(apply func(Kernel, ...*G.Node) *G.Node, x *G.Node, w []*G.Node) *G.Node {
			var runs int
			b := apply(scaleKernel(3, &runs), apply(scaleKernel(3, &runs), x, w[0]), w[2])
			c := apply(scaleKernel(3, &runs), apply(scaleKernel(3, &runs), x, w[1]), w[3])
			return apply(addKernel(3), b, c)
		},
		// out = x·w0·w2 + x·w1·w3.
		want:  [][]float32{mul(x, w[2]), mul(x, w[3]), mul(x, w[0]), mul(x, w[1])},
		value: plus(mul(mul(x, w[0]), w[2]), mul(mul(x, w[1]), w[3])),
	}} {
		for _, train := range []bool{true, false} {
			var s Scratch
			b := NewBuilder(train, &s)
			apply := func(k Kernel, in ...*G.Node) *G.Node {
				n, err := b.Apply(k, in...)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			xn, xd := b.Input("x", []int{3}, false)
			copy(xd, x)
			// The parameters the graph uses.
			grads := make([][]float32, len(w))
			wn := make([]*G.Node, len(w))
			for i := range w {
				if c.want[i] != nil {
					grads[i] = make([]float32, 3)
					wn[i] = b.Param(fmt.Sprint("w", i), []int{3}, slices.Clone(w[i]), grads[i])
				}
			}
			out := c.build(apply, xn, wn)
			outs := []*G.Node{out}
			if train {
				outs = []*G.Node{apply(sumKernel, out), out}
			}
			p, err := b.Compile(outs...)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			defer p.Close()
			if err := p.Forward(); err != nil {
				t.Fatal(err)
			}
			if got := b.Value(out); !slices.Equal(got, c.value) {
				t.Errorf("%s (training %v): the output is %v, want %v", c.name, train, got, c.value)
			}
			if !train {
				continue
			}
			if b.gradChain || len(b.slot) > 0 {
				t.Errorf("%s: the input gradients are chained", c.name)
			}
			if err := p.Backward(); err != nil {
				t.Fatal(err)
			}
			for i, want := range c.want {
				if !slices.Equal(grads[i], want) {
					t.Errorf("%s: the gradient of w%d is %v, want %v", c.name, i, grads[i], want)
				}
			}
		}
	}
}

// TestParamReadTwice checks that a training graph refuses a parameter read
// by two ops, whose gradients the graph could not add up.
func TestParamReadTwice(t *testing.T) {
	for _, byTwoOps := range []bool{false, true} {
		b := NewBuilder(true, nil)
		x, _ := b.Input("x", []int{3}, false)
		w := b.Param("w", []int{3}, make([]float32, 3), make([]float32, 3))
		var runs int
		a, err := b.Apply(scaleKernel(3, &runs), x, w)
		if err != nil {
			t.Fatal(err)
		}
		if byTwoOps {
			_, err = b.Apply(scaleKernel(3, &runs), a, w)
		} else {
			_, err = b.Apply(addKernel(3), w, w)
		}
		if err == nil || !strings.Contains(err.Error(), "parameter w") {
			t.Errorf("reading a parameter again: %v, want an error that names it", err)
		}
	}
	// An evaluation graph has no gradients to add up.
	b := NewBuilder(false, nil)
	w := b.Param("w", []int{3}, []float32{1, 2, 3}, make([]float32, 3))
	if _, err := b.Apply(addKernel(3), w, w); err != nil {
		t.Error(err)
	}
}

// TestGradientIntoClearBuffer checks the gradients written straight into
// clear buffers bit by bit against adding them to +0, −0 included, over
// buffers of odd and even sizes, aligned to 8 bytes or not.
func TestGradientIntoClearBuffer(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	for _, n := range []int{1, 2, 7, 19, 64} {
		for _, off := range []int{0, 1} {
			// x holds +0, −0 and other values, so dL/dw = x does too.
			x := make([]float32, n)
			for i := range x {
				x[i] = []float32{negZero, 1.5, 0, -2, negZero}[i%5]
			}
			b := NewBuilder(true, nil)
			xn, xd := b.Input("x", []int{n}, false)
			copy(xd, x)
			back := make([]float32, n+off)
			gw := back[off:]
			wn := b.Param("w", []int{n}, make([]float32, n), gw)
			var runs int
			y, err := b.Apply(scaleKernel(n, &runs), xn, wn)
			if err != nil {
				t.Fatal(err)
			}
			loss, err := b.Apply(sumKernel, y)
			if err != nil {
				t.Fatal(err)
			}
			p, err := b.Compile(loss, y)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			for step := range 3 {
				if err := p.Forward(); err != nil {
					t.Fatal(err)
				}
				if step != 2 {
					clear(gw) // the third step adds to the second's gradient
				}
				if err := p.Backward(); err != nil {
					t.Fatal(err)
				}
				for i, g := range gw {
					want := 0 + x[i]
					if step == 2 {
						want += x[i]
					}
					if math.Float32bits(g) != math.Float32bits(want) {
						t.Fatalf("%d values at offset %d, step %d: dL/dw[%d] has bits %#x, want %#x", n, off, step, i, math.Float32bits(g), math.Float32bits(want))
					}
				}
			}
		}
	}
}

// TestClearInParts checks isClear and plusZero on buffers large enough to
// be split over goroutines, with the odd value at the edges of the parts.
func TestClearInParts(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	negZero := float32(math.Copysign(0, -1))
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		for _, n := range []int{3*partMin + 5, 2 * partMin} {
			back := make([]float32, n+1)
			for off := range 2 {
				a := back[off:]
				var at []int
				for i := range 4 {
					b := i * len(a) / 3 &^ 15
					at = append(at, max(0, b-1), min(len(a)-1, b))
				}
				for _, p := range at {
					clear(a)
					if !isClear(a) {
						t.Fatalf("GOMAXPROCS=%d: %d zeros at offset %d are not clear", procs, n, off)
					}
					a[p] = negZero
					if isClear(a) {
						t.Fatalf("GOMAXPROCS=%d: %d values at offset %d with −0 at %d are clear", procs, n, off, p)
					}
					plusZero(a)
					if !isClear(a) {
						t.Fatalf("GOMAXPROCS=%d: plusZero of %d values at offset %d left the −0 at %d", procs, n, off, p)
					}
				}
			}
		}
	}
}

// TestClearAndNegativeZeros checks isClear and plusZero on every position
// of buffers of many sizes and alignments.
func TestClearAndNegativeZeros(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	for n := 1; n <= 21; n++ {
		for off := range 2 {
			back := make([]float32, n+off)
			a := back[off:]
			if !isClear(a) {
				t.Fatalf("%d zeros at offset %d are not clear", n, off)
			}
			for p := range a {
				for _, v := range []float32{negZero, math.SmallestNonzeroFloat32, -1} {
					clear(a)
					a[p] = v
					if isClear(a) {
						t.Fatalf("%d values at offset %d with %v at %d are clear", n, off, v, p)
					}
					plusZero(a)
					for i, got := range a {
						want := float32(0)
						if i == p && v != 0 {
							want = v
						}
						if math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("plusZero of %d values at offset %d with %v at %d left %v at %d", n, off, v, p, got, i)
						}
					}
				}
			}
		}
	}
}

// TestAssumeClearKeepsNegativeZeros: a gradient written straight into a
// clear buffer has its −0s made +0, as adding it to the buffer would give,
// unless the caller said the buffers were clear (AssumeClear, a training
// step), where they stay.
func TestAssumeClearKeepsNegativeZeros(t *testing.T) {
	for _, assume := range []bool{false, true} {
		var s Scratch
		b := NewBuilder(true, &s)
		x, xd := b.Input("x", []int{2}, false)
		copy(xd, []float32{1, 2})
		gw := make([]float32, 2)
		wn := b.Param("w", []int{2}, []float32{3, 4}, gw)
		negZeroGrad := Kernel{
			Name: "negzero", Out: []int{2},
			Forward: func(y []float32, in [][]float32) error { copy(y, in[0]); return nil },
			Backward: func(din [][]float32, dy, _ []float32, _ [][]float32) error {
				din[1][0], din[1][1] = float32(math.Copysign(0, -1)), 5
				return nil
			},
		}
		y, err := b.Apply(negZeroGrad, x, wn)
		if err != nil {
			t.Fatal(err)
		}
		loss, err := b.Apply(sumKernel, y)
		if err != nil {
			t.Fatal(err)
		}
		p, err := b.Compile(loss)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Forward(); err != nil {
			t.Fatal(err)
		}
		if assume {
			s.AssumeClear()
		}
		if err := p.Backward(); err != nil {
			t.Fatal(err)
		}
		if neg := math.Signbit(float64(gw[0])); neg != assume || gw[1] != 5 {
			t.Errorf("AssumeClear %v: gradient %v (sign bit of the zero %v)", assume, gw, neg)
		}
	}
}
