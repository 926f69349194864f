package lab

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	G "gorgonia.org/gorgonia"

	"golab/lab/internal/graph"
)

// GradResult is GradCheck's verdict on one gradient.
type GradResult struct {
	Name     string  // "input", or the parameter's name
	Checked  int     // coordinates compared
	RelError float64 // ‖g_fd − g‖ / ‖g_fd‖ over those coordinates
	OK       bool
}

// GradReport is GradCheck's verdict on every gradient of a layer.
type GradReport []GradResult

// String renders the report as a small table.
func (r GradReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-16s %8s %12s\n", "gradient", "checked", "rel. error")
	for _, g := range r {
		verdict := "ok"
		if !g.OK {
			verdict = "WRONG"
		}
		fmt.Fprintf(&b, "%-16s %8d %12.2e  %s\n", g.Name, g.Checked, g.RelError, verdict)
	}
	return b.String()
}

// Finite-difference settings, shared by GradCheck and the lab's own
// gradient tests.
const (
	fdEps     = 1e-3 // the step of the central differences
	fdSamples = 40   // coordinates checked per tensor
	fdTol     = 2e-2 // relative error allowed per tensor
	fdAbs     = 1e-4 // RMS error below which a (truly zero) gradient passes
)

// fdCheck compares the gradient g of loss with respect to w with central
// finite differences on up to samples coordinates. The error is measured
// per tensor, as ‖g_fd − g‖ / ‖g_fd‖, so that one coordinate whose step
// crosses a kink of ReLU or max-pooling does not fail the check, while any
// wrong formula or scaling does. A gradient that is truly zero (a bias
// followed by BatchNorm) is judged by its absolute error instead, float32
// rounding being all it has.
func fdCheck(name string, w, g []float32, loss func() (float64, error), samples int, tol float64, r *rand.Rand) (GradResult, error) {
	var num, den float64
	n := min(samples, len(w))
	for s := range n {
		i := s
		if len(w) > samples {
			i = r.IntN(len(w))
		}
		old := w[i]
		w[i] = old + fdEps
		lp, err := loss()
		if err != nil {
			w[i] = old
			return GradResult{}, err
		}
		w[i] = old - fdEps
		lm, err := loss()
		w[i] = old
		if err != nil {
			return GradResult{}, err
		}
		fd := (lp - lm) / (2 * fdEps)
		num += (fd - float64(g[i])) * (fd - float64(g[i]))
		den += fd * fd
	}
	rel := math.Sqrt(num / math.Max(den, 1e-30))
	rms := math.Sqrt(num / float64(max(n, 1)))
	ok := !math.IsNaN(rel) && (rel <= tol || rms <= fdAbs)
	return GradResult{Name: name, Checked: n, RelError: rel, OK: ok}, nil
}

// GradCheck checks a layer's Backward against its Forward, the way the lab
// checks its own layers. It builds the layer alone, in training mode, for a
// batch of 2 inputs of per-image shape in (for example 8, 6, 6) drawn from
// a normal distribution, with its parameters initialised by its Setup; it
// takes the loss L = Σ r·y with fixed random weights r, and compares the
// gradients that Backward gives for the input and for every parameter with
// central finite differences of L, on up to 40 coordinates of each.
//
// It returns the report, and an error naming the first gradient that is
// off. A layer that draws random numbers (Pass.Rand) gets the same draws at
// every run of its Forward.
func GradCheck(l Layer, in ...int) (GradReport, error) {
	if l == nil {
		return nil, fmt.Errorf("lab: GradCheck needs a layer")
	}
	const n = 2
	s := &Setup{name: "layer", rng: rand.New(rand.NewPCG(1, 0x1a1e))}
	out, err := setupLayer(l, s, in)
	if err != nil {
		return nil, fmt.Errorf("lab: GradCheck of %s on input %v: %w", describe(l), in, err)
	}
	desc := describe(l)
	b := graph.NewBuilder(true, nil)
	x, xd := b.Input("x", append([]int{n}, in...), true)
	drop := &dropSource{}
	pass := &Pass{N: n, In: in, Out: out, Train: true, layer: s.name, params: s.params, drop: drop}
	if pr, ok := l.(preparer); ok {
		if err := pr.prepare(pass); err != nil {
			return nil, fmt.Errorf("lab: GradCheck of %s: %w", desc, err)
		}
	}
	inputs := G.Nodes{x}
	var trainable []*Param
	for _, p := range s.params {
		if p.Trainable {
			inputs = append(inputs, b.Param(p.Name, p.Shape, p.Data(), p.grad))
			trainable = append(trainable, p)
		}
	}
	y, err := b.Apply(layerKernel(l, pass, s.name, desc, append([]int{n}, out...)), inputs...)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(2, 3))
	for i := range xd {
		xd[i] = float32(r.NormFloat64())
	}
	weights := make([]float32, n*size(out))
	for i := range weights {
		weights[i] = float32(2*r.Float64() - 1)
	}
	probe := graph.Kernel{
		Name: "probe",
		Forward: func(o []float32, in [][]float32) error {
			var sum float64
			for i, v := range in[0] {
				sum += float64(weights[i]) * float64(v)
			}
			o[0] = float32(sum)
			return nil
		},
		Backward: func(din [][]float32, dy, _ []float32, _ [][]float32) error {
			for i, w := range weights {
				din[0][i] = w * dy[0]
			}
			return nil
		},
	}
	loss, err := b.Apply(probe, y)
	if err != nil {
		return nil, err
	}
	prog, err := b.Compile(loss, y)
	if err != nil {
		return nil, fmt.Errorf("lab: GradCheck of %s: %w", desc, err)
	}
	defer prog.Close()
	yd := b.Value(y)
	forward := func() (float64, error) {
		drop.reseed(42, 42)
		if err := prog.Forward(); err != nil {
			return 0, err
		}
		var sum float64
		for i, v := range yd {
			sum += float64(weights[i]) * float64(v)
		}
		return sum, nil
	}
	// The analytic gradients.
	if _, err := forward(); err != nil {
		return nil, fmt.Errorf("lab: GradCheck of %s: Forward: %w", desc, err)
	}
	for _, p := range trainable {
		clear(p.grad)
	}
	if err := prog.Backward(); err != nil {
		return nil, fmt.Errorf("lab: GradCheck of %s: Backward: %w", desc, err)
	}
	grads := map[string][]float32{"input": append([]float32(nil), prog.Grad(x)...)}
	for _, p := range trainable {
		grads[short(p)] = append([]float32(nil), p.grad...)
	}
	// The finite differences.
	var report GradReport
	sample := rand.New(rand.NewPCG(5, 5))
	check := func(name string, w []float32) error {
		res, err := fdCheck(name, w, grads[name], forward, fdSamples, fdTol, sample)
		if err != nil {
			return fmt.Errorf("lab: GradCheck of %s: Forward: %w", desc, err)
		}
		report = append(report, res)
		return nil
	}
	if err := check("input", xd); err != nil {
		return report, err
	}
	for _, p := range trainable {
		if err := check(short(p), p.Data()); err != nil {
			return report, err
		}
	}
	for _, g := range report {
		if !g.OK {
			return report, fmt.Errorf("lab: GradCheck of %s: the gradient of %s is off: relative error %.3g over %d coordinates (tolerance %g)\n%s",
				desc, g.Name, g.RelError, g.Checked, fdTol, report)
		}
	}
	return report, nil
}

// short is a parameter's name within its layer.
func short(p *Param) string { return p.Name[strings.IndexByte(p.Name, '.')+1:] }
