package lab

import (
	"errors"
	"fmt"

	"golab/lab/internal/nn"
)

// Stepper trains a model one step at a time, with each beat of a step a
// call of its own, as in PyTorch's loop:
//
//	loss, err := st.Forward(batch) // 1. forward: the loss and the logits
//	st.ZeroGrad()                  // 2. zero the gradients
//	err = st.Backward()            // 3. backward: the gradient of every weight
//	err = st.Update()              // 4. move the weights (the optimizer's step)
//	fmt.Println(loss, st.Correct()) // 5. log
//
// Forward and Backward are separate passes of two programs over one graph:
// Backward reads what Forward left and runs no forward op again. Gradients
// add up over Backward calls until ZeroGrad clears them. Step does the four
// beats at once. Train runs the same beats. A Stepper updates its model in
// place.
type Stepper struct {
	m   *Model
	opt Updater
	lr  float64

	prog    *program // of the last Forward
	fwd     bool     // a Forward since the last Update, not yet differentiated
	correct int      // images of the last Forward's batch classified right
}

// NewStepper returns a Stepper for m with cfg's optimizer (SGD with the
// assignment's settings by default) at its learning rate.
func NewStepper(m *Model, cfg Config) (*Stepper, error) {
	if m == nil {
		return nil, errors.New("lab: NewStepper needs a model")
	}
	cfg = cfg.withDefaults()
	if _, err := baseLR(cfg.Optimizer); err != nil {
		return nil, err
	}
	return newStepper(m, cfg.Optimizer)
}

func newStepper(m *Model, o Optimizer) (*Stepper, error) {
	lr, err := baseLR(o)
	if err != nil {
		return nil, err
	}
	u, err := o.NewUpdater(m.trainable())
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, fmt.Errorf("lab: the optimizer %s returned no Updater", o.Settings().Name)
	}
	return &Stepper{m: m, opt: u, lr: lr}, nil
}

// Forward runs the model on a batch in training mode (dropout on,
// BatchNorm on the batch's statistics) and returns the batch's mean
// cross-entropy loss; Logits and Correct give the class scores.
func (s *Stepper) Forward(b *Batch) (loss float64, err error) {
	if b == nil || b.Len() == 0 || len(b.X) != b.Len()*ImageBytes {
		return 0, errors.New("lab: Forward needs a non-empty batch of whole images")
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.forward(b)
}

func (s *Stepper) forward(b *Batch) (float64, error) {
	s.fwd = false
	p, err := s.m.program(true, b.Len())
	if err != nil {
		return 0, err
	}
	if err := p.forward(b); err != nil {
		return 0, err
	}
	s.prog, s.fwd = p, true
	s.correct = countCorrect(p.logits, b.Labels, s.m.Classes())
	return p.lossValue(), nil
}

// Logits returns the class scores of the last Forward, one row per image.
func (s *Stepper) Logits() [][]float32 {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.prog == nil {
		return nil
	}
	k := s.m.Classes()
	out := make([][]float32, len(s.prog.logits)/k)
	for i := range out {
		out[i] = append([]float32(nil), s.prog.logits[i*k:(i+1)*k]...)
	}
	return out
}

// Correct is how many images of the last Forward's batch the model
// classified right.
func (s *Stepper) Correct() int { return s.correct }

// ZeroGrad clears the gradient of every weight (Param.Grad), as PyTorch's
// optimizer.zero_grad(). Without it, Backward adds to the gradients of the
// steps before.
func (s *Stepper) ZeroGrad() {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.zeroGrad()
}

func (s *Stepper) zeroGrad() {
	for _, p := range s.m.params {
		nn.Clear(p.grad)
	}
}

// clearForBackward has the backward pass that follows at once, under the
// model's lock, write the gradients as if they had been cleared: the lab's
// layers write every value of their parameters' gradients (layerKernel
// clears them first for layers written outside the lab), so clearing them
// here too would be a wasted pass over every gradient (17 MB for
// ImprovedCNN, in every step).
func (s *Stepper) clearForBackward() {
	s.m.scratch.AssumeClear()
}

// Backward computes the gradient of the last Forward's loss with respect to
// every weight and adds it to Param.Grad. It needs a Forward since the last
// Update, and differentiates it once.
func (s *Stepper) Backward() error {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.backward()
}

func (s *Stepper) backward() error {
	if !s.fwd || s.prog == nil {
		return errors.New("lab: Backward needs a Forward first: it differentiates the loss of the last Forward, once, before the weights are updated")
	}
	s.fwd = false
	return s.prog.prog.Backward()
}

// Update moves the weights against their gradients with the optimizer, at
// the current learning rate (LR).
func (s *Stepper) Update() error {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.update()
}

func (s *Stepper) update() error {
	s.fwd = false // the activations no longer match the weights
	return s.opt.Update(s.lr)
}

// LR is the learning rate Update uses: the optimizer's, until SetLR.
func (s *Stepper) LR() float64 { return s.lr }

// SetLR sets the learning rate of the next Updates, for a schedule written
// by hand (Train follows Config.Schedule itself).
func (s *Stepper) SetLR(lr float64) { s.lr = lr }

// Step trains on one batch: Forward, ZeroGrad, Backward and Update. It
// returns the batch's mean loss and how many of its images the model
// classified correctly before the update. A loss that is not finite is
// returned without an update.
func (s *Stepper) Step(b *Batch) (loss float64, correct int, err error) {
	if b == nil || b.Len() == 0 || len(b.X) != b.Len()*ImageBytes {
		return 0, 0, errors.New("lab: Step needs a non-empty batch of whole images")
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if loss, err = s.forward(b); err != nil || !finite(loss) {
		return loss, 0, err
	}
	s.clearForBackward()
	if err = s.backward(); err != nil {
		return 0, 0, err
	}
	if err = s.update(); err != nil {
		return 0, 0, err
	}
	return loss, s.correct, nil
}
