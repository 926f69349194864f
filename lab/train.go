package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"time"

	"golab/frontend"
	"golab/lab/internal/blas"
	"golab/lab/internal/plural"
)

// Config sets up a training run. The zero value gives the assignment's
// settings: 20 epochs, batch 32, SGD with learning rate 0.001 and momentum
// 0.9, cross-entropy loss, a log line every 200 steps.
type Config struct {
	Epochs    int       // default 20
	BatchSize int       // default 32
	Optimizer Optimizer // default SGD{LR: 0.001, Momentum: 0.9}
	Seed      uint64    // seeds the shuffling, the dropout masks and the augmentation
	LogEvery  int       // steps between log lines; default 200

	// Schedule, when set, scales the optimizer's learning rate over the
	// run (StepLR, Cosine, OneCycle). Default: constant.
	Schedule Schedule
	// Augment, when set, transforms every training batch (RandomCrop,
	// RandomHorizontalFlip, Compose).
	Augment Transform
	// KeepBest makes the run folder also keep the weights of the epoch
	// with the best validation accuracy, which LoadRun returns with
	// LoadBest. Train itself leaves the model with the last epoch's.
	KeepBest bool

	// RunDir, when set, makes the run survive restarts: Train keeps the
	// run in a folder below RunDir named after its configuration, saves
	// weights, optimizer state and History there after every epoch, and
	// resumes from the last saved epoch when called again with the same
	// configuration. A finished run is returned at once.
	RunDir string
	// Retrain discards a saved run in RunDir and trains from scratch.
	Retrain bool
	// LoadBest makes LoadRun load the weights of the best validation epoch
	// of a run trained with KeepBest, instead of the last epoch's.
	LoadBest bool

	// Context stops training when cancelled. Default: the running cell's
	// context inside the golab kernel (cancelled by an interrupt),
	// else none.
	Context context.Context
	// Monitor receives progress. Default: the live view inside the kernel,
	// plain text lines elsewhere.
	Monitor Monitor
	// Out is where the plain-text monitor prints; default os.Stdout.
	Out io.Writer
}

func (c Config) withDefaults() Config {
	if c.Epochs == 0 {
		c.Epochs = 20
	}
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.Optimizer == nil {
		c.Optimizer = SGD{LR: 0.001, Momentum: 0.9}
	}
	if c.LogEvery == 0 {
		c.LogEvery = 200
	}
	if c.Context == nil {
		c.Context = frontend.Context()
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
	if c.Monitor == nil {
		if frontend.Current() != nil && NewLiveMonitor != nil {
			c.Monitor = NewLiveMonitor()
		} else {
			c.Monitor = TextMonitor(c.Out)
		}
	}
	return c
}

func (c Config) check() error {
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("lab: Train: Epochs is %d; it must be at least 1", c.Epochs)
	case c.BatchSize < 1:
		return fmt.Errorf("lab: Train: BatchSize is %d; it must be at least 1", c.BatchSize)
	case c.LogEvery < 1:
		return fmt.Errorf("lab: Train: LogEvery is %d; it must be at least 1", c.LogEvery)
	}
	if _, err := baseLR(c.Optimizer); err != nil {
		return err
	}
	if c.Schedule != nil {
		if err := checkSchedule(c.Schedule, c.Epochs); err != nil {
			return err
		}
	}
	return nil
}

// lrAt is the learning rate at step of steps in epoch.
func (c Config) lrAt(base float64, epoch, step, steps int) float64 {
	if c.Schedule == nil {
		return base
	}
	return base * c.Schedule.Factor(float64(epoch)+float64(step)/float64(steps), c.Epochs)
}

// Train trains the model on train, checking accuracy on val (which may be
// nil) after every epoch, and returns the History of the run. Each step is
// the five beats of a training loop (see Stepper): forward, zero grad,
// backward, update, log.
//
//	data, _ := lab.LoadCIFAR("")
//	all, _ := data.Train.Normalize(lab.CIFARMean, lab.CIFARStd)
//	train, val, _ := all.Split(1000, 0)
//	model, _ := models.CNNModel()
//	history, err := lab.Train(model, train, val, lab.Config{
//		Epochs:    20,
//		Optimizer: lab.SGD{LR: 0.001, Momentum: 0.9},
//		RunDir:    "runs", // resume after an interrupt; return a finished run at once
//	})
//
// If the run is interrupted (its context cancelled), Train returns the
// History of the finished epochs together with an error that wraps
// context.Canceled; the model keeps the weights of its last completed step.
// If the loss becomes NaN or infinite, Train stops with an error naming the
// step and returns the History so far.
func Train(m *Model, train, val *Dataset, cfg Config) (*History, error) {
	if m == nil || train == nil {
		return nil, errors.New("lab: Train needs a model and a training set")
	}
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if train.Len() == 0 {
		return nil, errors.New("lab: Train: the training set is empty")
	}
	if cfg.KeepBest && (val == nil || val.Len() == 0) {
		return nil, errors.New("lab: Train: KeepBest keeps the weights of the best validation epoch, so it needs a validation set")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	defer keepHeapTight()()

	st, err := newStepper(m, cfg.Optimizer)
	if err != nil {
		return nil, err
	}
	h := &History{Model: m.Name, Label: m.Label}
	var run *runDir
	if cfg.RunDir != "" {
		if run, err = openRun(cfg, m, train, val, true); err != nil {
			return nil, err
		}
		defer run.close()
		if _, err := run.resume(m, st.opt, h, false); err != nil {
			return nil, err
		}
		if len(h.Epochs) >= cfg.Epochs {
			cfg.Monitor.Log(fmt.Sprintf("Run %s has finished %s: loaded its weights and History (set Retrain to train it again).", run.dir, plural.N(len(h.Epochs), "epoch")))
			cfg.Monitor.End(h, nil)
			return h, nil
		}
	}

	n := train.Len()
	steps := (n + cfg.BatchSize - 1) / cfg.BatchSize
	valN := 0
	if val != nil {
		valN = val.Len()
	}
	cfg.Monitor.Begin(RunInfo{Label: m.Label, Epochs: cfg.Epochs, StartEpoch: len(h.Epochs), StepsPerEpoch: steps,
		BatchSize: cfg.BatchSize, TrainImages: n, ValImages: valN, Engine: Engine()})
	if run != nil && len(h.Epochs) > 0 {
		cfg.Monitor.Log(fmt.Sprintf("Resuming run %s at epoch %d (%s of %d done).", run.dir, len(h.Epochs), plural.N(len(h.Epochs), "epoch"), cfg.Epochs))
	}
	err = m.trainEpochs(train, val, cfg, st, h, run, steps)
	cfg.Monitor.End(h, err)
	return h, err
}

// trainGCPercent is the garbage collector's target while Train runs: the
// heap may grow 2 % past the live data before a collection, instead of
// Go's default 100 %. A run's live data (the images, the graphs' buffers,
// the weights, their gradients and momenta) is large and fixed, and a step
// leaves little garbage (about 40 KB), so the default would let a long
// run's memory creep to twice what it uses; at 2 % a collection comes
// every hundred steps or so and costs a few milliseconds (the buffers hold
// no pointers: there is little to mark).
const trainGCPercent = 2

// keepHeapTight sets the collector's target for a training run, unless the
// user chose one with GOGC, and returns the function that restores it.
func keepHeapTight() func() {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	prev := debug.SetGCPercent(trainGCPercent)
	return func() { debug.SetGCPercent(prev) }
}

// LoadRun loads the run that Train would resume or return for this
// configuration (cfg.RunDir must be set), without training: the model gets
// the weights of the run's last saved epoch (with cfg.LoadBest, of its best
// validation epoch, for a run trained with KeepBest), and the History of
// its saved epochs is returned, which may be fewer than cfg.Epochs if the
// run is not finished. With no epoch saved it returns an error wrapping
// ErrNoRun; a run folder that cannot be read back gives one wrapping
// ErrDamagedRun, and the model is left unchanged. LoadRun never changes a
// run folder beyond removing what a crash left behind: Retrain is for
// Train.
func LoadRun(m *Model, train, val *Dataset, cfg Config) (*History, error) {
	if m == nil || train == nil {
		return nil, errors.New("lab: LoadRun needs a model and the training set of the run")
	}
	if cfg.RunDir == "" {
		return nil, errors.New("lab: LoadRun needs cfg.RunDir, the folder the run was saved in")
	}
	cfg = cfg.withDefaults()
	if cfg.LoadBest && !cfg.KeepBest {
		return nil, errors.New("lab: LoadRun: LoadBest loads the weights a run trained with KeepBest kept; set KeepBest too, as the run had it")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	opt, err := cfg.Optimizer.NewUpdater(m.trainable())
	if err != nil {
		return nil, err
	}
	run, err := openRun(cfg, m, train, val, false)
	if err != nil {
		return nil, err
	}
	defer run.close()
	h := &History{Model: m.Name, Label: m.Label}
	found, err := run.resume(m, opt, h, cfg.LoadBest)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("lab: %w in %s (train it first)", ErrNoRun, run.dir)
	}
	return h, nil
}

// trainEpochs is the training loop. Callers hold m.mu.
func (m *Model) trainEpochs(train, val *Dataset, cfg Config, st *Stepper, h *History, run *runDir, steps int) error {
	start := time.Now()
	base, _ := baseLR(cfg.Optimizer)
	var batch Batch
	positions := make([]int, cfg.BatchSize)
	n := train.Len()
	for epoch := len(h.Epochs); epoch < cfg.Epochs; epoch++ {
		epochStart := time.Now()
		// Shuffle, dropout and augmentation draw from streams fixed by
		// (seed, epoch), so a resumed run continues exactly as an
		// uninterrupted one.
		order := rand.New(rand.NewPCG(cfg.Seed, uint64(epoch))).Perm(n)
		m.drop.reseed(cfg.Seed^0xd209, uint64(epoch))
		augment := rand.New(rand.NewPCG(cfg.Seed^0xa06e, uint64(epoch)))
		var sumLoss float64
		var correct, seen int
		var lr float64
		for step := range steps {
			if err := cfg.Context.Err(); err != nil {
				return fmt.Errorf("lab: training interrupted in epoch %d at step %d; the History holds %s and the model the weights after the last completed step: %w", epoch, step, plural.N(len(h.Epochs), "finished epoch"), err)
			}
			lo, hi := step*cfg.BatchSize, min((step+1)*cfg.BatchSize, n)
			pos := positions[:hi-lo]
			copy(pos, order[lo:hi])
			train.Batch(pos, &batch)
			if cfg.Augment != nil {
				if err := cfg.Augment.Apply(&batch, augment); err != nil {
					return err
				}
			}
			lr = cfg.lrAt(base, epoch, step, steps)
			fail := func(err error) error { return fmt.Errorf("lab: epoch %d, step %d: %w", epoch, step, err) }

			// The five beats of a step.
			loss, err := st.forward(&batch) // 1. forward: the loss and the logits
			if err != nil {
				return fail(err)
			}
			if !finite(loss) {
				return fmt.Errorf("lab: the loss became %v in epoch %d at step %d; the learning rate may be too high, or the inputs not normalized. The History holds %s", loss, epoch, step, plural.N(len(h.Epochs), "finished epoch"))
			}
			st.clearForBackward()                 // 2. zero the gradients (as the backward pass writes them)
			if err := st.backward(); err != nil { // 3. backward: the gradients
				return fail(err)
			}
			st.lr = lr
			if err := st.update(); err != nil { // 4. update the weights
				return fail(err)
			}
			sumLoss += loss * float64(len(pos)) // 5. log
			correct += st.correct
			seen += len(pos)
			pr := Progress{Epoch: epoch, Step: step, RunningLoss: sumLoss / float64(seen), RunningAcc: 100 * float64(correct) / float64(seen),
				LR: lr, Elapsed: time.Since(start), EpochTime: time.Since(epochStart)}
			cfg.Monitor.Step(pr)
			if step%cfg.LogEvery == 0 {
				sl := StepLog{Epoch: epoch, Step: step, RunningLoss: pr.RunningLoss, RunningAcc: pr.RunningAcc}
				h.Steps = append(h.Steps, sl)
				cfg.Monitor.Log(sl.String())
			}
		}
		es := EpochStats{Epoch: epoch, TrainLoss: sumLoss / float64(seen), TrainAcc: 100 * float64(correct) / float64(seen)}
		if cfg.Schedule != nil {
			es.LR = lr
		}
		if val != nil && val.Len() > 0 {
			r, err := m.evaluate(cfg.Context, val, false)
			if err != nil {
				return fmt.Errorf("lab: validation after epoch %d: %w", epoch, err)
			}
			es.ValLoss, es.ValAcc = r.Loss, r.Accuracy
		}
		es.Seconds = time.Since(epochStart).Seconds()
		es.ImagesPerSec = float64(n) / es.Seconds
		h.Epochs = append(h.Epochs, es)
		if val != nil {
			cfg.Monitor.Log(fmt.Sprintf("Validation accuracy: %.1f %%  (epoch %.1f s, %.0f images/s)", es.ValAcc, es.Seconds, es.ImagesPerSec))
		} else {
			cfg.Monitor.Log(fmt.Sprintf("Epoch %d done  (%.1f s, %.0f images/s)", epoch, es.Seconds, es.ImagesPerSec))
		}
		if run != nil {
			if err := run.save(m, st.opt, h, cfg.KeepBest); err != nil {
				return err
			}
			// The save's encoded files (33 MB for ImprovedCNN) are garbage
			// now, but the runtime would keep their memory until the next
			// save reuses it, on top of what evaluating the test set maps
			// after the last epoch: hand it back. A collection of the
			// run's pointer-free buffers takes milliseconds.
			debug.FreeOSMemory()
		}
		cfg.Monitor.Epoch(h)
	}
	return nil
}

// countCorrect counts the rows of logits whose largest score is the label.
func countCorrect(logits []float32, labels []int, k int) int {
	c := 0
	for i, l := range labels {
		if argmax(logits[i*k:(i+1)*k]) == l {
			c++
		}
	}
	return c
}

func argmax(s []float32) int {
	best := 0
	for i, v := range s {
		if v > s[best] {
			best = i
		}
	}
	return best
}

// TextMonitor returns a Monitor that prints the seed-format log lines to w,
// for use outside a notebook.
func TextMonitor(w io.Writer) Monitor { return textMonitor{w} }

type textMonitor struct{ w io.Writer }

func (t textMonitor) Begin(info RunInfo) {
	fmt.Fprintf(t.w, "Training %s: %s of %s (batch %d, %d training and %s) on %s\n",
		info.Label, plural.N(info.Epochs, "epoch"), plural.N(info.StepsPerEpoch, "step"), info.BatchSize, info.TrainImages,
		plural.N(info.ValImages, "validation image"), info.Engine)
}
func (t textMonitor) Step(Progress)    {}
func (t textMonitor) Log(line string)  { fmt.Fprintln(t.w, line) }
func (t textMonitor) Epoch(h *History) {}
func (t textMonitor) End(h *History, err error) {
	if err != nil {
		fmt.Fprintf(t.w, "Stopped: %v\n", err)
		return
	}
	if acc, ep := h.BestValAcc(); ep >= 0 {
		fmt.Fprintf(t.w, "Finished Training: best validation accuracy %.1f %% (epoch %d), %.0f s\n", acc, ep, h.Seconds())
	} else {
		fmt.Fprintln(t.w, "Finished Training")
	}
}

// Engine says what runs the lab's matrix products: OpenBLAS (and which
// kernels) or the pure-Go fallback, and why.
func Engine() string { return blas.Impl() }
