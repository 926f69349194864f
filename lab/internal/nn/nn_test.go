package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// directConv is the textbook definition, the reference for Forward.
func directConv(s ConvShape, x, w, b []float32) []float32 {
	oh, ow := s.OutH(), s.OutW()
	y := make([]float32, s.N*s.K*oh*ow)
	for n := range s.N {
		for k := range s.K {
			for i := range oh {
				for j := range ow {
					var acc float64
					if b != nil {
						acc = float64(b[k])
					}
					for c := range s.C {
						for r := range s.R {
							for q := range s.S {
								yy, xx := i*s.Stride+r-s.Pad, j*s.Stride+q-s.Pad
								if yy < 0 || yy >= s.H || xx < 0 || xx >= s.W {
									continue
								}
								acc += float64(x[((n*s.C+c)*s.H+yy)*s.W+xx]) * float64(w[((k*s.C+c)*s.R+r)*s.S+q])
							}
						}
					}
					y[((n*s.K+k)*oh+i)*ow+j] = float32(acc)
				}
			}
		}
	}
	return y
}

func close(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) || got[i] != got[i] {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

var convShapes = []ConvShape{
	{N: 2, C: 3, H: 8, W: 8, K: 4, R: 3, S: 3, Stride: 1},
	{N: 1, C: 5, H: 7, W: 9, K: 3, R: 3, S: 3, Stride: 2, Pad: 1},
	{N: 3, C: 2, H: 6, W: 6, K: 5, R: 1, S: 1, Stride: 1},
	{N: 2, C: 4, H: 5, W: 5, K: 2, R: 5, S: 5, Stride: 1, Pad: 2},
}

func TestConvForwardMatchesDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range convShapes {
		c, err := NewConv(s)
		if err != nil {
			t.Fatal(err)
		}
		x := randSlice(r, s.N*s.C*s.H*s.W)
		w := randSlice(r, s.K*s.C*s.R*s.S)
		b := randSlice(r, s.K)
		y := make([]float32, s.N*s.K*s.OutH()*s.OutW())
		c.Forward(y, x, w, b)
		close(t, "conv forward", y, directConv(s, x, w, b), 1e-4)
	}
}

// The backward pass is the adjoint of the forward pass: for the linear map
// x ↦ conv(x, w), ⟨conv(x, w), dy⟩ = ⟨x, dx⟩, and likewise for w.
func TestConvBackwardIsAdjoint(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range convShapes {
		c, _ := NewConv(s)
		x := randSlice(r, s.N*s.C*s.H*s.W)
		w := randSlice(r, s.K*s.C*s.R*s.S)
		dy := randSlice(r, s.N*s.K*s.OutH()*s.OutW())
		y := make([]float32, len(dy))
		c.Forward(y, x, w, nil)
		dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, s.K)
		c.BackwardData(dx, dy, w)
		c.BackwardFilter(dw, db, dy, x)
		lhs := dot(y, dy)
		if d := math.Abs(lhs - dot(x, dx)); d > 1e-3*(1+math.Abs(lhs)) {
			t.Errorf("%+v: <y,dy>=%v but <x,dx>=%v", s, lhs, dot(x, dx))
		}
		if d := math.Abs(lhs - dot(w, dw)); d > 1e-3*(1+math.Abs(lhs)) {
			t.Errorf("%+v: <y,dy>=%v but <w,dw>=%v", s, lhs, dot(w, dw))
		}
		p := s.OutH() * s.OutW()
		for k := range s.K {
			var want float64
			for n := range s.N {
				for _, v := range dy[(n*s.K+k)*p : (n*s.K+k+1)*p] {
					want += float64(v)
				}
			}
			if math.Abs(float64(db[k])-want) > 1e-3 {
				t.Errorf("db[%d] = %v, want %v", k, db[k], want)
			}
		}
	}
}

func TestConvRejectsBadShapes(t *testing.T) {
	for _, s := range []ConvShape{
		{N: 1, C: 3, H: 2, W: 2, K: 1, R: 3, S: 3, Stride: 1},
		{N: 1, C: 3, H: 8, W: 8, K: 1, R: 3, S: 3, Stride: 0},
		{N: 0, C: 3, H: 8, W: 8, K: 1, R: 3, S: 3, Stride: 1},
	} {
		if _, err := NewConv(s); err == nil {
			t.Errorf("NewConv(%+v) accepted a bad shape", s)
		}
	}
}

func TestMaxPool(t *testing.T) {
	p, err := NewMaxPool(1, 1, 4, 5, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	x := []float32{
		1, 2, 3, 4, 99,
		5, 6, 8, 7, 99,
		0, -1, 2, 2, 99,
		-3, -2, 2, 1, 99,
	}
	y := make([]float32, 4)
	p.Forward(y, x)
	close(t, "pool", y, []float32{6, 8, 0, 2}, 0)
	dx := make([]float32, len(x))
	p.Backward(dx, []float32{1, 2, 3, 4})
	want := make([]float32, len(x))
	want[6], want[7], want[10], want[12] = 1, 2, 3, 4 // ties go to the first
	close(t, "pool backward", dx, want, 0)
}

func TestLinearIsAdjoint(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	l := Linear{N: 3, In: 7, Out: 4}
	x, w, b := randSlice(r, 21), randSlice(r, 28), randSlice(r, 4)
	y := make([]float32, 12)
	l.Forward(y, x, w, b)
	for n := range 3 {
		for o := range 4 {
			want := float64(b[o])
			for i := range 7 {
				want += float64(x[n*7+i]) * float64(w[o*7+i])
			}
			if math.Abs(float64(y[n*4+o])-want) > 1e-4 {
				t.Fatalf("y[%d,%d] = %v, want %v", n, o, y[n*4+o], want)
			}
		}
	}
	l.Forward(y, x, w, nil)
	dy := randSlice(r, 12)
	dx, dw := make([]float32, 21), make([]float32, 28)
	l.Backward(dx, dw, nil, dy, x, w)
	lhs := dot(y, dy)
	if math.Abs(lhs-dot(x, dx)) > 1e-3 || math.Abs(lhs-dot(w, dw)) > 1e-3 {
		t.Errorf("linear backward is not the adjoint: %v %v %v", lhs, dot(x, dx), dot(w, dw))
	}
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	logits := []float32{1, 2, 3, 1000, 0, -1000}
	probs := make([]float32, 6)
	loss := SoftmaxCrossEntropy(probs, logits, []int{2, 1}, 3)
	// row 0: -log(e^3/(e+e^2+e^3)); row 1: -log(e^-1000) ≈ 1000
	want := (math.Log(math.Exp(1)+math.Exp(2)+math.Exp(3)) - 3 + 1000) / 2
	if math.Abs(loss-want) > 1e-6 {
		t.Fatalf("loss = %v, want %v", loss, want)
	}
	for i := range 2 {
		var s float64
		for _, v := range probs[i*3 : i*3+3] {
			s += float64(v)
		}
		if math.Abs(s-1) > 1e-6 {
			t.Errorf("row %d sums to %v", i, s)
		}
	}
}
