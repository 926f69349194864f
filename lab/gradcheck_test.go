package lab

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"

	"golab/lab/internal/nn"
)

// randomBatch makes n images of smooth random noise with random labels.
func randomBatch(n int, seed uint64) *Batch {
	r := rand.New(rand.NewPCG(seed, 7))
	b := &Batch{X: make([]float32, n*ImageBytes), Labels: make([]int, n)}
	for i := range b.X {
		b.X[i] = float32(r.NormFloat64())
	}
	for i := range b.Labels {
		b.Labels[i] = r.IntN(10)
	}
	return b
}

// lossAt runs the training graph once, with the dropout stream reset so
// every run draws the same masks, and returns the loss computed in float64
// from the logits, which keeps finite differences precise.
func lossAt(t *testing.T, m *Model, p *program, b *Batch) float64 {
	t.Helper()
	m.drop.reseed(42, 42)
	if err := p.run(b); err != nil {
		t.Fatal(err)
	}
	probs := make([]float32, b.Len()*m.Classes())
	return nn.SoftmaxCrossEntropy(probs, p.logitsData(), b.Labels, m.Classes())
}

// gradCheck compares the gradient gorgonia computes through the lab's ops
// with central finite differences, on up to samples coordinates of every
// trainable tensor. The error is measured per tensor as
// ‖g_fd − g‖ / ‖g_fd‖, so that one coordinate whose step crosses a kink of
// ReLU or max-pooling does not fail the test, while any wrong formula or
// scaling does.
func gradCheck(t *testing.T, m *Model, batch int, samples int, tol float64) {
	t.Helper()
	b := randomBatch(batch, 11)
	p, err := m.program(true, batch)
	if err != nil {
		t.Fatal(err)
	}
	grads := gradients(t, m, p, b)
	r := rand.New(rand.NewPCG(5, 5))
	const eps = 1e-3
	for _, prm := range m.trainable() {
		w := prm.Data()
		g := grads[prm.Name]
		var num, den float64
		n := min(samples, len(w))
		for s := range n {
			i := s
			if len(w) > samples {
				i = r.IntN(len(w))
			}
			old := w[i]
			w[i] = old + eps
			lp := lossAt(t, m, p, b)
			w[i] = old - eps
			lm := lossAt(t, m, p, b)
			w[i] = old
			fd := (lp - lm) / (2 * eps)
			num += (fd - float64(g[i])) * (fd - float64(g[i]))
			den += fd * fd
		}
		// A gradient that is truly zero (a bias followed by BatchNorm) is
		// judged by its absolute error, float32 rounding being all it has.
		rel := math.Sqrt(num / math.Max(den, 1e-30))
		rms := math.Sqrt(num / float64(n))
		if (rel > tol && rms > 1e-4) || math.IsNaN(rel) {
			t.Errorf("%s: gradient of %s is off: relative error %.3g over %d coordinates (tolerance %g)", m.Label, prm.Name, rel, n, tol)
		}
	}
	clearGradients(t, p)
}

// gradients runs one training pass and returns a copy of every trainable
// tensor's gradient, then clears them.
func gradients(t *testing.T, m *Model, p *program, b *Batch) map[string][]float32 {
	t.Helper()
	lossAt(t, m, p, b)
	grads := map[string][]float32{}
	for i, vg := range G.NodesToValueGrads(p.params) {
		_, g, err := weightGrad(vg)
		if err != nil {
			t.Fatal(err)
		}
		grads[m.trainable()[i].Name] = append([]float32(nil), g...)
	}
	clearGradients(t, p)
	return grads
}

// clearGradients zeroes the gradients gorgonia accumulated over the runs.
func clearGradients(t *testing.T, p *program) {
	t.Helper()
	for _, vg := range G.NodesToValueGrads(p.params) {
		_, g, err := weightGrad(vg)
		if err != nil {
			t.Fatal(err)
		}
		clear(g)
	}
}

func TestGradients(t *testing.T) {
	// Each model puts the layer under test between a first convolution
	// and a classifier, so the first layer's weight gradient checks the
	// layer's input gradient through the chain rule.
	cases := []struct {
		name   string
		layers []Layer
	}{
		{"conv", []Layer{Conv2d(3, 3, 3).As("c1"), Conv2d(3, 4, 3).As("c2"), Flatten(), Linear(Auto, 10).As("fc")}},
		{"conv stride 2 padding 1 no bias", []Layer{Conv2d(3, 3, 3, Stride(2), Padding(1), NoBias()).As("c1"), Conv2d(3, 4, 5, Padding(2)).As("c2"), Flatten(), Linear(Auto, 10).As("fc")}},
		{"maxpool", []Layer{Conv2d(3, 3, 3).As("c1"), MaxPool2d(2), Flatten(), Linear(Auto, 10).As("fc")}},
		{"relu", []Layer{Conv2d(3, 3, 3).As("c1"), ReLU(), Flatten(), Linear(Auto, 10).As("fc")}},
		{"leakyrelu", []Layer{Conv2d(3, 3, 3).As("c1"), LeakyReLU(0.1), Flatten(), Linear(Auto, 10).As("fc")}},
		{"batchnorm", []Layer{Conv2d(3, 3, 3).As("c1"), BatchNorm2d(3).As("bn"), Flatten(), Linear(Auto, 10).As("fc")}},
		{"dropout 0.2", []Layer{Conv2d(3, 3, 3).As("c1"), Dropout(0.2), Flatten(), Linear(Auto, 10).As("fc")}},
		{"dropout 0.8", []Layer{Conv2d(3, 3, 3).As("c1"), Dropout(0.8), Flatten(), Linear(Auto, 10).As("fc")}},
		{"dropout2d 0.5", []Layer{Conv2d(3, 6, 3).As("c1"), Dropout2d(0.5), Flatten(), Linear(Auto, 10).As("fc")}},
		{"linear chain and loss", []Layer{Conv2d(3, 2, 3, Stride(3)).As("c1"), Flatten(), Linear(Auto, 16).As("fc1"), ReLU(), Linear(16, 10).As("fc2")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := BuildCNN(c.name, 3, c.layers...)
			if err != nil {
				t.Fatal(err)
			}
			gradCheck(t, m, 3, 24, 2e-2)
		})
	}
}

// TestFusedLayersMatchUnfused checks the ops the lab fuses (a convolution
// with the activation after it, and the activation's gradient with a
// max-pooling's) against the same network built one op per layer, which
// TestGradients checks against finite differences. Finite differences
// cannot check the fused ops as tightly: a step of either sign crosses
// ReLU's kink for some of the many outputs a bias moves. The cases include
// shapes that run Winograd F(2×2, 3×3) in the kernels.
func TestFusedLayersMatchUnfused(t *testing.T) {
	cases := []struct {
		name   string
		layers func() []Layer
	}{
		{"conv+relu", func() []Layer {
			return []Layer{Conv2d(3, 3, 3).As("c1"), Conv2d(3, 4, 3).As("c2"), ReLU(), Flatten(), Linear(Auto, 10).As("fc")}
		}},
		{"conv+relu+maxpool", func() []Layer {
			return []Layer{Conv2d(3, 3, 3).As("c1"), ReLU(), Conv2d(3, 4, 3).As("c2"), ReLU(), MaxPool2d(2), Flatten(), Linear(Auto, 10).As("fc")}
		}},
		{"conv+leakyrelu+maxpool", func() []Layer {
			return []Layer{Conv2d(3, 3, 3).As("c1"), Conv2d(3, 4, 3).As("c2"), LeakyReLU(0.2), MaxPool2d(2), Flatten(), Linear(Auto, 10).As("fc")}
		}},
		{"winograd 16 channels", func() []Layer {
			return []Layer{Conv2d(3, 16, 3, Stride(2)).As("c1"), ReLU(), Conv2d(16, 16, 3).As("c2"), ReLU(), MaxPool2d(2), Flatten(), Linear(Auto, 10).As("fc")}
		}},
		{"winograd 64 channels", func() []Layer {
			return []Layer{Conv2d(3, 64, 3, Stride(3)).As("c1"), Conv2d(64, 16, 3).As("c2"), LeakyReLU(0.01), Conv2d(16, 16, 3).As("c3"), Flatten(), Linear(Auto, 10).As("fc")}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fused, err := BuildCNN(c.name, 3, c.layers()...)
			if err != nil {
				t.Fatal(err)
			}
			plain, _ := BuildCNN(c.name, 3, c.layers()...)
			plain.unfused = true
			b := randomBatch(4, 12)
			pf, err := fused.program(true, 4)
			if err != nil {
				t.Fatal(err)
			}
			pp, err := plain.program(true, 4)
			if err != nil {
				t.Fatal(err)
			}
			if len(pf.g.AllNodes()) >= len(pp.g.AllNodes()) {
				t.Errorf("fusion did not shrink the graph: %d nodes fused, %d plain", len(pf.g.AllNodes()), len(pp.g.AllNodes()))
			}
			gf, gp := gradients(t, fused, pf, b), gradients(t, plain, pp, b)
			for name, want := range gp {
				got := gf[name]
				var num, den float64
				for i := range want {
					d := float64(got[i] - want[i])
					num += d * d
					den += float64(want[i]) * float64(want[i])
				}
				if rel := math.Sqrt(num / math.Max(den, 1e-30)); rel > 1e-5 {
					t.Errorf("gradient of %s: fused and plain differ by %.3g (relative)", name, rel)
				}
			}
			// And the unfused network itself against finite differences,
			// more loosely than in TestGradients: these shapes have so many
			// outputs near ReLU's kink that a few always cross it within
			// ±eps and bend the difference quotient by a few percent, where
			// a wrong gradient is off by tens of percent.
			gradCheck(t, plain, 3, 24, 0.1)
		})
	}
}

// TestDropoutScaling checks the forward pass of dropout itself: every unit
// is either dropped or scaled by exactly 1/(1−p), about a fraction p is
// dropped, and evaluation passes the input through.
func TestDropoutScaling(t *testing.T) {
	for _, p := range []float64{0.2, 0.5, 0.8} {
		for _, layer := range []Layer{Dropout(p), Dropout2d(p)} {
			m, err := BuildCNN("drop", 1, layer, Flatten(), Linear(Auto, 10))
			if err != nil {
				t.Fatal(err)
			}
			b := randomBatch(64, 1)
			for i := range b.X {
				b.X[i] = 1 + float32(i%7) // non-zero, so a zero means dropped
			}
			prog, err := m.program(true, 64)
			if err != nil {
				t.Fatal(err)
			}
			lossAt(t, m, prog, b)
			y := dropOutput(t, prog)
			dropped, keep := 0, float32(1/(1-p))
			for i, v := range y {
				switch {
				case v == 0:
					dropped++
				case math.Abs(float64(v/b.X[i]-keep)) > 1e-6:
					t.Fatalf("%s: unit %d scaled by %v, want 1/(1-p) = %v", layer, i, v/b.X[i], keep)
				}
			}
			// Dropout2d draws once per channel: count draws, not units.
			draws := float64(len(y))
			if _, ok := layer.(*dropout); ok && layer.(*dropout).channel {
				draws /= Height * Width
			}
			frac := float64(dropped) / float64(len(y))
			if math.Abs(frac-p) > 4*math.Sqrt(p*(1-p)/draws) {
				t.Errorf("%s dropped %.3f of the units, want about %v", layer, frac, p)
			}
		}
	}
}

// dropOutput returns the output of the program's dropout op.
func dropOutput(t *testing.T, p *program) []float32 {
	t.Helper()
	for _, n := range p.g.AllNodes() {
		if op, ok := n.Op().(*kernelOp); ok && op.name[:min(len(op.name), 8)] == "dropout " {
			return n.Value().Data().([]float32)
		}
	}
	t.Fatal("no dropout op in the graph")
	return nil
}
