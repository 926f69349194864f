package graph

import (
	"errors"
	"testing"
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
