package lab

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"golab/lab/internal/nn"
)

// Settings is an explicit record of a component's hyperparameters: of an
// Optimizer, a Schedule or a Transform. A run folder's name and the check
// that a saved run is this one are made from these records, so every
// setting that changes what a component does must be in Values.
type Settings struct {
	Name   string             `json:"name"`             // e.g. "sgd", "cosine", "crop"
	Values map[string]float64 `json:"values,omitempty"` // e.g. {"lr": 0.001, "m": 0.9}
	Parts  []Settings         `json:"parts,omitempty"`  // the parts of a composition (Compose)
}

// String formats the record as it appears in run folder names, for
// example "sgd-lr0.001-m0.9": the name, then each value by key order.
// Zero weight decay and Nesterov off, which the lab's first run folders
// did not record, are left out, so those folders keep their names.
func (s Settings) String() string {
	var b strings.Builder
	b.WriteString(s.Name)
	for _, k := range sortedKeys(s.Values) {
		v := s.Values[k]
		if v == 0 && (k == "wd" || k == "nesterov") {
			continue
		}
		b.WriteString("-" + k)
		if k != "" && k[len(k)-1] >= '0' && k[len(k)-1] <= '9' {
			b.WriteString("=")
		}
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	}
	for _, p := range s.Parts {
		b.WriteString("_" + p.String())
	}
	return b.String()
}

func (s Settings) equal(o Settings) bool {
	if s.Name != o.Name || len(s.Values) != len(o.Values) || len(s.Parts) != len(o.Parts) {
		return false
	}
	for k, v := range s.Values {
		if w, ok := o.Values[k]; !ok || w != v {
			return false
		}
	}
	for i := range s.Parts {
		if !s.Parts[i].equal(o.Parts[i]) {
			return false
		}
	}
	return true
}

// Optimizer describes how the weights move against their gradients. SGD and
// Adam are the lab's; write your own by implementing Optimizer and Updater.
type Optimizer interface {
	// Settings is the optimizer's explicit record. Its value "lr" is the
	// base learning rate, which a Schedule scales.
	Settings() Settings
	// NewUpdater returns the optimizer at work on params, the model's
	// trainable parameters in order, with its state (momentum, moment
	// estimates) at zero.
	NewUpdater(params []*Param) (Updater, error)
}

// Updater is an optimizer at work on a model's parameters.
type Updater interface {
	// Update moves every parameter against its gradient (Param.Grad) with
	// learning rate lr. It leaves the gradients as they are: clearing them
	// is a beat of its own (Stepper.ZeroGrad).
	Update(lr float64) error
	// State returns the tensors a run folder saves to resume the optimizer
	// exactly (nil for none), by name; SetState restores them. The slices
	// may be the updater's own.
	State() map[string][]float32
	SetState(map[string][]float32) error
}

// baseLR is an optimizer's "lr" value.
func baseLR(o Optimizer) (float64, error) {
	lr, ok := o.Settings().Values["lr"]
	if !ok {
		return 0, fmt.Errorf("lab: the optimizer %s has no \"lr\" in its Settings; the learning rate must be there", o.Settings().Name)
	}
	if !(lr > 0) || math.IsInf(lr, 0) {
		return 0, fmt.Errorf("lab: the optimizer's learning rate is %v; it must be > 0", lr)
	}
	return lr, nil
}

// SGD is stochastic gradient descent with momentum, exactly as
// torch.optim.SGD: with g the gradient plus WeightDecay·w, v ← μ·v + g and
// w ← w − lr·v, or with Nesterov w ← w − lr·(g + μ·v).
type SGD struct {
	LR          float64
	Momentum    float64
	WeightDecay float64 // L2 penalty added to the gradient, as torch.optim.SGD's weight_decay
	Nesterov    bool
}

// Settings records lr, momentum "m", weight decay "wd" and "nesterov".
func (o SGD) Settings() Settings {
	return Settings{Name: "sgd", Values: map[string]float64{"lr": o.LR, "m": o.Momentum, "wd": o.WeightDecay, "nesterov": b2f(o.Nesterov)}}
}

// String is the optimizer's settings as run folder names give them.
func (o SGD) String() string { return o.Settings().String() }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// NewUpdater implements Optimizer.
func (o SGD) NewUpdater(params []*Param) (Updater, error) {
	if !(o.LR > 0) || !(o.Momentum >= 0 && o.Momentum < 1) || !(o.WeightDecay >= 0) || o.Nesterov && o.Momentum == 0 {
		return nil, fmt.Errorf("lab: SGD needs a learning rate > 0, a momentum in [0, 1) (> 0 with Nesterov) and a weight decay ≥ 0; got LR %v, Momentum %v, WeightDecay %v", o.LR, o.Momentum, o.WeightDecay)
	}
	s := &sgd{SGD: o, params: params, v: make([][]float32, len(params))}
	for i, p := range params {
		s.v[i] = make([]float32, p.Size())
	}
	return s, nil
}

type sgd struct {
	SGD
	params []*Param
	v      [][]float32
}

func (s *sgd) Update(lr float64) error {
	l, mu, wd := float32(lr), float32(s.Momentum), float32(s.WeightDecay)
	for i, p := range s.params {
		w, g, v := p.Data(), p.Grad(), s.v[i]
		if wd == 0 && !s.Nesterov {
			nn.SGDMomentum(w, v, g, l, mu, false)
			continue
		}
		for j, gj := range g {
			gj += wd * w[j]
			v[j] = mu*v[j] + gj
			if s.Nesterov {
				gj += mu * v[j]
			} else {
				gj = v[j]
			}
			w[j] -= l * gj
		}
	}
	return nil
}

func (s *sgd) State() map[string][]float32 {
	st := map[string][]float32{}
	for i, p := range s.params {
		st["momentum_buffer."+p.Name] = s.v[i]
	}
	return st
}

func (s *sgd) SetState(st map[string][]float32) error {
	if err := checkState(st, s.State()); err != nil {
		return err
	}
	for i, p := range s.params {
		copy(s.v[i], st["momentum_buffer."+p.Name])
	}
	return nil
}

// Adam is the Adam optimizer as torch.optim.Adam; with WeightDecay it is
// AdamW (torch.optim.AdamW): the weights shrink by lr·WeightDecay·w at each
// step, apart from the gradient's moments. Zero betas and epsilon take
// PyTorch's defaults 0.9, 0.999 and 1e-8.
type Adam struct {
	LR           float64
	Beta1, Beta2 float64
	Eps          float64
	WeightDecay  float64 // decoupled, as AdamW
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

// Settings records lr, beta1, beta2, eps and weight decay "wd", defaults
// applied.
func (o Adam) Settings() Settings {
	o = o.withDefaults()
	return Settings{Name: "adam", Values: map[string]float64{"lr": o.LR, "beta1": o.Beta1, "beta2": o.Beta2, "eps": o.Eps, "wd": o.WeightDecay}}
}

// String is the optimizer's settings as run folder names give them.
func (o Adam) String() string { return o.Settings().String() }

// NewUpdater implements Optimizer.
func (o Adam) NewUpdater(params []*Param) (Updater, error) {
	o = o.withDefaults()
	if !(o.LR > 0) || !(o.Beta1 >= 0 && o.Beta1 < 1) || !(o.Beta2 >= 0 && o.Beta2 < 1) || !(o.Eps > 0) || !(o.WeightDecay >= 0) {
		return nil, fmt.Errorf("lab: Adam needs LR > 0, betas in [0, 1), Eps > 0 and WeightDecay ≥ 0; got %+v", o)
	}
	a := &adam{Adam: o, params: params, m: make([][]float32, len(params)), v: make([][]float32, len(params))}
	for i, p := range params {
		a.m[i], a.v[i] = make([]float32, p.Size()), make([]float32, p.Size())
	}
	return a, nil
}

type adam struct {
	Adam
	params []*Param
	m, v   [][]float32
	steps  float64
}

func (a *adam) Update(lr float64) error {
	a.steps++
	b1, b2 := float32(a.Beta1), float32(a.Beta2)
	c1 := 1 - math.Pow(a.Beta1, a.steps)
	c2 := 1 - math.Pow(a.Beta2, a.steps)
	stepSize := float32(lr / c1)
	sqrtC2 := float32(math.Sqrt(c2))
	eps := float32(a.Eps)
	decay := float32(1 - lr*a.WeightDecay)
	for i, p := range a.params {
		w, g := p.Data(), p.Grad()
		m, v := a.m[i], a.v[i]
		for j, gj := range g {
			if a.WeightDecay != 0 {
				w[j] *= decay
			}
			m[j] = b1*m[j] + (1-b1)*gj
			v[j] = b2*v[j] + (1-b2)*gj*gj
			denom := float32(math.Sqrt(float64(v[j])))/sqrtC2 + eps
			w[j] -= stepSize * m[j] / denom
		}
	}
	return nil
}

func (a *adam) State() map[string][]float32 {
	st := map[string][]float32{"step": {float32(a.steps)}}
	for i, p := range a.params {
		st["exp_avg."+p.Name] = a.m[i]
		st["exp_avg_sq."+p.Name] = a.v[i]
	}
	return st
}

func (a *adam) SetState(st map[string][]float32) error {
	if err := checkState(st, a.State()); err != nil {
		return err
	}
	steps := float64(st["step"][0])
	if steps < 0 || steps != math.Trunc(steps) {
		return fmt.Errorf("its step count %v is not a whole number of steps", steps)
	}
	a.steps = steps
	for i, p := range a.params {
		copy(a.m[i], st["exp_avg."+p.Name])
		copy(a.v[i], st["exp_avg_sq."+p.Name])
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
