package lab

import (
	"math"
	"math/rand/v2"
	"testing"

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

// lossAt runs the training graph's forward pass once, with the dropout
// stream reset so every run draws the same masks, and returns the loss
// computed in float64 from the logits, which keeps finite differences
// precise.
func lossAt(m *Model, p *program, b *Batch) (float64, error) {
	m.drop.reseed(42, 42)
	if err := p.forward(b); err != nil {
		return 0, err
	}
	probs := make([]float32, b.Len()*m.Classes())
	return nn.SoftmaxCrossEntropy(probs, p.logits, b.Labels, m.Classes()), nil
}

// gradCheck compares the gradient the model's backward pass computes with
// central finite differences (fdCheck, as GradCheck), on up to samples
// coordinates of every trainable tensor.
func gradCheck(t *testing.T, m *Model, batch int, samples int, tol float64) {
	t.Helper()
	b := randomBatch(batch, 11)
	p, err := m.program(true, batch)
	if err != nil {
		t.Fatal(err)
	}
	grads := gradients(t, m, p, b)
	r := rand.New(rand.NewPCG(5, 5))
	for _, prm := range m.trainable() {
		res, err := fdCheck(prm.Name, prm.Data(), grads[prm.Name], func() (float64, error) { return lossAt(m, p, b) }, samples, tol, r)
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK {
			t.Errorf("%s: gradient of %s is off: relative error %.3g over %d coordinates (tolerance %g)", m.Label, prm.Name, res.RelError, res.Checked, tol)
		}
	}
}

// gradients runs one forward and one backward pass from zeroed gradients
// and returns a copy of every trainable tensor's gradient.
func gradients(t *testing.T, m *Model, p *program, b *Batch) map[string][]float32 {
	t.Helper()
	if _, err := lossAt(m, p, b); err != nil {
		t.Fatal(err)
	}
	for _, prm := range m.trainable() {
		clear(prm.grad)
	}
	if err := p.prog.Backward(); err != nil {
		t.Fatal(err)
	}
	grads := map[string][]float32{}
	for _, prm := range m.trainable() {
		grads[prm.Name] = append([]float32(nil), prm.grad...)
	}
	return grads
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
		{"batchnorm+relu", func() []Layer {
			return []Layer{Conv2d(3, 4, 3, Padding(1), NoBias()).As("c1"), BatchNorm2d(4).As("bn"), ReLU(), Flatten(), Linear(Auto, 10).As("fc")}
		}},
		{"batchnorm+leakyrelu+maxpool", func() []Layer {
			return []Layer{Conv2d(3, 4, 3).As("c1"), BatchNorm2d(4).As("bn"), LeakyReLU(0.1), MaxPool2d(2), Flatten(), Linear(Auto, 10).As("fc")}
		}},
		{"conv, pool, then batchnorm+relu (FurtherCNN)", func() []Layer {
			return []Layer{Conv2d(3, 16, 3, Padding(1), NoBias()).As("c1"), BatchNorm2d(16).As("bn1"), ReLU(),
				Conv2d(16, 16, 3, Padding(1), NoBias()).As("c2"), MaxPool2d(2), BatchNorm2d(16).As("bn2"), ReLU(), MaxPool2d(4), Flatten(), Linear(Auto, 10).As("fc")}
		}},
		{"conv+relu+maxpool leaving out an edge (DropoutCNN's conv6)", func() []Layer {
			return []Layer{Conv2d(3, 8, 3).As("c1"), ReLU(), MaxPool2d(2), Conv2d(8, 16, 3).As("c2"), ReLU(), MaxPool2d(2), Flatten(), Linear(Auto, 10).As("fc")}
		}},
		{"strided conv+leakyrelu+maxpool leaving out edges", func() []Layer {
			return []Layer{Conv2d(3, 8, 3, Stride(2)).As("c1"), LeakyReLU(0.1), MaxPool2d(2), Conv2d(8, 6, 2).As("c2"), ReLU(), MaxPool2d(3), Flatten(), Linear(Auto, 10).As("fc")}
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
			if pf.nodes >= pp.nodes {
				t.Errorf("fusion did not shrink the graph: %d nodes fused, %d plain", pf.nodes, pp.nodes)
			}
			gf, gp := gradients(t, fused, pf, b), gradients(t, plain, pp, b)
			for name, want := range gp {
				if rel := relDiff(gf[name], want); rel > 1e-5 {
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
			y := dropOutput(t, m, layer, b)
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
			if layer.(*dropout).channel {
				draws /= Height * Width
			}
			frac := float64(dropped) / float64(len(y))
			if math.Abs(frac-p) > 4*math.Sqrt(p*(1-p)/draws) {
				t.Errorf("%s dropped %.3f of the units, want about %v", layer, frac, p)
			}
			if !layer.(skipper).skip(false) {
				t.Errorf("%s is not the identity at evaluation", layer)
			}
		}
	}
}

// dropOutput runs a dropout layer's Forward as model m runs it in training.
func dropOutput(t *testing.T, m *Model, layer Layer, b *Batch) []float32 {
	t.Helper()
	pass := &Pass{N: b.Len(), In: InputShape, Out: InputShape, Train: true, layer: "0", drop: m.drop}
	if err := layer.(preparer).prepare(pass); err != nil {
		t.Fatal(err)
	}
	y := make([]float32, len(b.X))
	if err := layer.Forward(pass, y, b.X); err != nil {
		t.Fatal(err)
	}
	return y
}

// TestPoolCrop checks which input a convolution fused with a max-pooling
// shrinks to: the rows and columns whose outputs the windows reach.
func TestPoolCrop(t *testing.T) {
	for _, c := range []struct {
		conv   *conv2d
		in     []int
		pool   int
		crop   bool
		ch, cw int
	}{
		{&conv2d{in: 256, out: 512, kernel: 3, stride: 1}, []int{256, 5, 5}, 2, true, 4, 4},        // DropoutCNN's conv6: 3×3 outputs, 2×2 read
		{&conv2d{in: 128, out: 256, kernel: 3, stride: 1}, []int{128, 12, 12}, 2, false, 0, 0},     // conv5: 10×10, all read
		{&conv2d{in: 3, out: 8, kernel: 3, stride: 2}, []int{3, 12, 11}, 2, true, 9, 9},            // 5×5 outputs, 4×4 read
		{&conv2d{in: 3, out: 8, kernel: 3, stride: 1}, []int{3, 12, 10}, 3, true, 11, 8},           // 10×8 outputs, 9×6 read
		{&conv2d{in: 3, out: 8, kernel: 3, stride: 1, padding: 1}, []int{3, 5, 5}, 2, false, 0, 0}, // padded: left whole
	} {
		got := c.conv.poolCrop(2, c.in, &maxPool2d{size: c.pool, stride: c.pool})
		if (got != nil) != c.crop || got != nil && (got.ch != c.ch || got.cw != c.cw || got.planes != 2*c.in[0] || got.h != c.in[1] || got.w != c.in[2]) {
			t.Errorf("%v on %v, pool %d: crop %+v, want %v %d×%d", c.conv, c.in, c.pool, got, c.crop, c.ch, c.cw)
		}
	}
}

// TestImageRegion checks that a model whose poolings leave out the last
// rows and columns of their inputs runs its graphs on the part of the
// image its scores read, with the scores and the gradients of running on
// the whole image. The layers of the region model: 32 → 30, pooling by 4
// reads 28 of the 30 (7), 7 → 5, pooling by 2 reads 4 of the 5 (2): the
// scores read the top-left 26×26 pixels.
func TestImageRegion(t *testing.T) {
	layers := func() []Layer {
		return []Layer{Conv2d(3, 4, 3).As("c1"), ReLU(), MaxPool2d(4), Dropout(0), Conv2d(4, 8, 3).As("c2"), LeakyReLU(0.1), MaxPool2d(2), Flatten(), Linear(Auto, 10).As("fc")}
	}
	region, err := BuildCNN("region", 5, layers()...)
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := BuildCNN("region", 5, layers()...)
	whole.whole = true
	for _, unfused := range []bool{false, true} {
		region.unfused, whole.unfused = unfused, unfused
		clear(region.programs)
		clear(whole.programs)
		b := randomBatch(3, 21)
		pr, err := region.program(true, 3)
		if err != nil {
			t.Fatal(err)
		}
		pw, _ := whole.program(true, 3)
		if pr.region != [2]int{26, 26} || pw.region != [2]int{} {
			t.Fatalf("regions %v and %v, want 26×26 and the whole image", pr.region, pw.region)
		}
		gr, gw := gradients(t, region, pr, b), gradients(t, whole, pw, b)
		for name, want := range gw {
			if rel := relDiff(gr[name], want); rel > 1e-5 {
				t.Errorf("unfused %v: gradient of %s: region and whole image differ by %.3g (relative)", unfused, name, rel)
			}
		}
		if rel := relDiff(pr.logits, pw.logits); rel > 1e-6 {
			t.Errorf("unfused %v: scores differ by %.3g (relative)", unfused, rel)
		}
	}
	// A padded convolution reads its input whole: no region.
	padded, _ := BuildCNN("padded", 5, Conv2d(3, 4, 3, Padding(1)), MaxPool2d(3), Flatten(), Linear(Auto, 10))
	if _, _, _, ok := padded.imageRegion(); ok {
		t.Error("a model with a padded first convolution runs on a part of the image")
	}
}

// relDiff is ‖got − want‖ / ‖want‖.
func relDiff(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i] - want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	return math.Sqrt(num / math.Max(den, 1e-30))
}
