package lab

import (
	"errors"
	"fmt"
	"math"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"golab/lab/internal/nn"
)

// Optimizer describes how Train updates the weights. SGD and Adam are the
// two the lab offers.
type Optimizer interface {
	// String names the optimizer and its settings, e.g. "sgd-lr0.001-m0.9";
	// it is part of a run folder's name.
	String() string
	newSolver(params []*Param) (solver, error)
}

// solver is a gorgonia.Solver whose state can be saved and restored, so a
// run can resume where it stopped. gorgonia's own solvers keep their state
// (momentum, moment estimates) private, which rules resuming out.
type solver interface {
	G.Solver
	state() map[string][]float32
	setState(map[string][]float32) error
}

// SGD is stochastic gradient descent with momentum, exactly as
// torch.optim.SGD: v ← μ·v + g, w ← w − lr·v.
type SGD struct {
	LR       float64
	Momentum float64
}

func (o SGD) String() string { return fmt.Sprintf("sgd-lr%g-m%g", o.LR, o.Momentum) }

func (o SGD) newSolver(params []*Param) (solver, error) {
	if !(o.LR > 0) || !(o.Momentum >= 0 && o.Momentum < 1) {
		return nil, fmt.Errorf("lab: SGD needs a learning rate > 0 and a momentum in [0, 1); got LR %v, Momentum %v", o.LR, o.Momentum)
	}
	s := &sgd{SGD: o, names: names(params), v: make([][]float32, len(params))}
	for i, p := range params {
		s.v[i] = make([]float32, p.Size())
	}
	return s, nil
}

type sgd struct {
	SGD
	names []string
	v     [][]float32
}

// Step applies one update from the gradients gorgonia accumulated, then
// zeroes them for the next step.
func (s *sgd) Step(model []G.ValueGrad) error {
	if len(model) != len(s.v) {
		return fmt.Errorf("lab: optimizer built for %d tensors got %d", len(s.v), len(model))
	}
	lr, mu := float32(s.LR), float32(s.Momentum)
	for i, vg := range model {
		w, g, err := weightGrad(vg)
		if err != nil {
			return err
		}
		nn.SGDMomentum(w, s.v[i], g, lr, mu, true)
	}
	return nil
}

func (s *sgd) state() map[string][]float32 {
	st := map[string][]float32{}
	for i, n := range s.names {
		st["momentum_buffer."+n] = s.v[i]
	}
	return st
}

func (s *sgd) setState(st map[string][]float32) error {
	if err := checkState(st, s.state()); err != nil {
		return err
	}
	for i, n := range s.names {
		copy(s.v[i], st["momentum_buffer."+n])
	}
	return nil
}

// Adam is the Adam optimizer as torch.optim.Adam (no weight decay). Zero
// betas and epsilon take PyTorch's defaults 0.9, 0.999 and 1e-8.
type Adam struct {
	LR           float64
	Beta1, Beta2 float64
	Eps          float64
}

func (o Adam) withDefaults() Adam {
	if o.Beta1 == 0 {
		o.Beta1 = 0.9
	}
	if o.Beta2 == 0 {
		o.Beta2 = 0.999
	}
	if o.Eps == 0 {
		o.Eps = 1e-8
	}
	return o
}

func (o Adam) String() string {
	o = o.withDefaults()
	return fmt.Sprintf("adam-lr%g-b%g-%g", o.LR, o.Beta1, o.Beta2)
}

func (o Adam) newSolver(params []*Param) (solver, error) {
	o = o.withDefaults()
	if !(o.LR > 0) || !(o.Beta1 >= 0 && o.Beta1 < 1) || !(o.Beta2 >= 0 && o.Beta2 < 1) || !(o.Eps > 0) {
		return nil, fmt.Errorf("lab: Adam needs LR > 0, betas in [0, 1) and Eps > 0; got %+v", o)
	}
	a := &adam{Adam: o, names: names(params), m: make([][]float32, len(params)), v: make([][]float32, len(params))}
	for i, p := range params {
		a.m[i], a.v[i] = make([]float32, p.Size()), make([]float32, p.Size())
	}
	return a, nil
}

type adam struct {
	Adam
	names []string
	m, v  [][]float32
	steps float64
}

func (a *adam) Step(model []G.ValueGrad) error {
	if len(model) != len(a.m) {
		return fmt.Errorf("lab: optimizer built for %d tensors got %d", len(a.m), len(model))
	}
	a.steps++
	b1, b2 := float32(a.Beta1), float32(a.Beta2)
	c1 := 1 - math.Pow(a.Beta1, a.steps)
	c2 := 1 - math.Pow(a.Beta2, a.steps)
	stepSize := float32(a.LR / c1)
	sqrtC2 := float32(math.Sqrt(c2))
	eps := float32(a.Eps)
	for i, vg := range model {
		w, g, err := weightGrad(vg)
		if err != nil {
			return err
		}
		m, v := a.m[i], a.v[i]
		for j, gj := range g {
			m[j] = b1*m[j] + (1-b1)*gj
			v[j] = b2*v[j] + (1-b2)*gj*gj
			denom := float32(math.Sqrt(float64(v[j])))/sqrtC2 + eps
			w[j] -= stepSize * m[j] / denom
			g[j] = 0
		}
	}
	return nil
}

func (a *adam) state() map[string][]float32 {
	st := map[string][]float32{"step": {float32(a.steps)}}
	for i, n := range a.names {
		st["exp_avg."+n] = a.m[i]
		st["exp_avg_sq."+n] = a.v[i]
	}
	return st
}

func (a *adam) setState(st map[string][]float32) error {
	if err := checkState(st, a.state()); err != nil {
		return err
	}
	steps := float64(st["step"][0])
	if steps < 0 || steps != math.Trunc(steps) {
		return fmt.Errorf("its step count %v is not a whole number of steps", steps)
	}
	a.steps = steps
	for i, n := range a.names {
		copy(a.m[i], st["exp_avg."+n])
		copy(a.v[i], st["exp_avg_sq."+n])
	}
	return nil
}

func names(params []*Param) []string {
	out := make([]string, len(params))
	for i, p := range params {
		out[i] = p.Name
	}
	return out
}

// checkState makes sure a saved optimizer state holds exactly the tensors
// of want, each of the same size and finite, before any of it is used.
func checkState(st, want map[string][]float32) error {
	var missing, wrong, extra []string
	for name, w := range want {
		v, ok := st[name]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("it has no tensor %q", name))
		case len(v) != len(w):
			wrong = append(wrong, fmt.Sprintf("its tensor %q has %d values, the model needs %d", name, len(v), len(w)))
		default:
			for _, x := range v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					wrong = append(wrong, fmt.Sprintf("its tensor %q holds %v", name, x))
					break
				}
			}
		}
	}
	for name := range st {
		if _, ok := want[name]; !ok {
			extra = append(extra, fmt.Sprintf("its tensor %q is not part of this optimizer's state", name))
		}
	}
	slices.Sort(missing)
	slices.Sort(wrong)
	slices.Sort(extra)
	if problems := slices.Concat(wrong, missing, extra); len(problems) > 0 {
		return errors.New(joinMax(problems, 3))
	}
	return nil
}

// weightGrad returns the float32 data of a parameter and of its gradient.
func weightGrad(vg G.ValueGrad) (w, g []float32, err error) {
	wt, ok := vg.Value().(*tensor.Dense)
	if !ok {
		return nil, nil, fmt.Errorf("lab: parameter value is a %T, not a tensor", vg.Value())
	}
	gv, err := vg.Grad()
	if err != nil {
		return nil, nil, fmt.Errorf("lab: parameter %v has no gradient: %w", vg, err)
	}
	gt, ok := gv.(*tensor.Dense)
	if !ok {
		return nil, nil, fmt.Errorf("lab: gradient is a %T, not a tensor", gv)
	}
	return wt.Data().([]float32), gt.Data().([]float32), nil
}
