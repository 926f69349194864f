package graph

import (
	"errors"
	"slices"
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
	b := NewBuilder(true)
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
	b := NewBuilder(false)
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
	b2 := NewBuilder(false)
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
	b := NewBuilder(false)
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
