package lab

import (
	"fmt"
	"math"
)

// Schedule changes the learning rate over a run: the optimizer's LR times
// Factor. Train evaluates it before every step, so the rate follows the
// schedule within epochs too; it depends only on the position in the run,
// so a resumed run follows it exactly. StepLR, Cosine and OneCycle are the
// lab's; write your own by implementing Schedule.
type Schedule interface {
	// Settings is the schedule's explicit record, part of a run's.
	Settings() Settings
	// Factor is the multiplier of the learning rate at epoch t of a run of
	// epochs; t counts from 0 and runs through fractions within an epoch
	// (step s of n in epoch e is t = e + s/n).
	Factor(t float64, epochs int) float64
}

// StepLR multiplies the learning rate by Gamma every Every epochs, like
// torch.optim.lr_scheduler.StepLR(step_size=Every, gamma=Gamma).
type StepLR struct {
	Every int
	Gamma float64
}

// Settings records "every" and "gamma".
func (s StepLR) Settings() Settings {
	return Settings{Name: "step", Values: map[string]float64{"every": float64(s.Every), "gamma": s.Gamma}}
}

// Factor is Gamma to the number of whole Every-epoch periods done.
func (s StepLR) Factor(t float64, epochs int) float64 {
	return math.Pow(s.Gamma, math.Floor(t/float64(max(s.Every, 1))))
}

func (s StepLR) check() error {
	if s.Every < 1 || !(s.Gamma > 0 && s.Gamma <= 1) {
		return fmt.Errorf("lab: StepLR needs Every ≥ 1 and Gamma in (0, 1]; got %+v", s)
	}
	return nil
}

// Cosine anneals the learning rate from its full value to Min times it
// along half a cosine over the run, like
// torch.optim.lr_scheduler.CosineAnnealingLR(T_max = the run's length,
// eta_min = Min·lr), evaluated at every step. Warmup, when set, first
// raises it linearly from near 0 over that many epochs.
type Cosine struct {
	Min    float64 // the final factor, default 0
	Warmup float64 // epochs of linear warm-up, default 0
}

// Settings records "min" and "warmup".
func (s Cosine) Settings() Settings {
	return Settings{Name: "cosine", Values: map[string]float64{"min": s.Min, "warmup": s.Warmup}}
}

// Factor implements Schedule.
func (s Cosine) Factor(t float64, epochs int) float64 {
	if t < s.Warmup {
		return (t + 1e-3) / (s.Warmup + 1e-3)
	}
	span := float64(epochs) - s.Warmup
	if span <= 0 {
		return 1
	}
	x := min((t-s.Warmup)/span, 1)
	return s.Min + (1-s.Min)*(1+math.Cos(math.Pi*x))/2
}

func (s Cosine) check() error {
	if !(s.Min >= 0 && s.Min <= 1) || !(s.Warmup >= 0) {
		return fmt.Errorf("lab: Cosine needs Min in [0, 1] and Warmup ≥ 0; got %+v", s)
	}
	return nil
}

// OneCycle is the one-cycle policy of torch.optim.lr_scheduler.OneCycleLR
// with cosine annealing, max_lr being the optimizer's LR: the rate rises
// from LR/Div to LR over the first Warmup fraction of the run, then falls
// to LR/(Div·FinalDiv). (PyTorch's policy also cycles the momentum; this
// one leaves it alone.) Zero fields take PyTorch's defaults: Warmup 0.3,
// Div 25, FinalDiv 1e4.
type OneCycle struct {
	Warmup   float64 // fraction of the run spent rising (pct_start)
	Div      float64 // initial rate LR/Div (div_factor)
	FinalDiv float64 // final rate LR/(Div·FinalDiv) (final_div_factor)
}

func (s OneCycle) withDefaults() OneCycle {
	if s.Warmup == 0 {
		s.Warmup = 0.3
	}
	if s.Div == 0 {
		s.Div = 25
	}
	if s.FinalDiv == 0 {
		s.FinalDiv = 1e4
	}
	return s
}

// Settings records "warmup", "div" and "final_div", defaults applied.
func (s OneCycle) Settings() Settings {
	s = s.withDefaults()
	return Settings{Name: "onecycle", Values: map[string]float64{"warmup": s.Warmup, "div": s.Div, "final_div": s.FinalDiv}}
}

// Factor implements Schedule.
func (s OneCycle) Factor(t float64, epochs int) float64 {
	s = s.withDefaults()
	x := min(max(t/float64(max(epochs, 1)), 0), 1)
	lo, end := 1/s.Div, 1/(s.Div*s.FinalDiv)
	cos := func(from, to, f float64) float64 { return to + (from-to)*(1+math.Cos(math.Pi*f))/2 }
	if x < s.Warmup {
		return cos(lo, 1, x/s.Warmup)
	}
	return cos(1, end, (x-s.Warmup)/(1-s.Warmup))
}

func (s OneCycle) check() error {
	d := s.withDefaults()
	if !(d.Warmup > 0 && d.Warmup < 1) || !(d.Div >= 1) || !(d.FinalDiv >= 1) {
		return fmt.Errorf("lab: OneCycle needs Warmup in (0, 1), Div ≥ 1 and FinalDiv ≥ 1; got %+v", s)
	}
	return nil
}

// checkSchedule checks the lab's schedules' settings, and that any
// schedule gives finite positive factors.
func checkSchedule(s Schedule, epochs int) error {
	if c, ok := s.(interface{ check() error }); ok {
		if err := c.check(); err != nil {
			return err
		}
	}
	for _, t := range []float64{0, float64(epochs) / 2, float64(epochs)} {
		if f := s.Factor(t, epochs); !(f >= 0) || math.IsInf(f, 0) {
			return fmt.Errorf("lab: the schedule %s gives the factor %v at epoch %v; factors must be finite and ≥ 0", s.Settings().Name, f, t)
		}
	}
	return nil
}
