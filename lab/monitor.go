package lab

import "time"

// RunInfo describes a training run as it starts.
type RunInfo struct {
	Label         string // the run's configuration, as in History.Label
	Epochs        int    // epochs the run will have when done
	StartEpoch    int    // first epoch trained now (> 0 when resuming)
	StepsPerEpoch int
	BatchSize     int
	TrainImages   int
	ValImages     int
	Engine        string // what runs the matrix products, e.g. "openblas 0.3.21 (SkylakeX, 1 thread)"
}

// Progress is the state of a run after one training step.
type Progress struct {
	Epoch       int // 0-based
	Step        int // 0-based step within the epoch
	RunningLoss float64
	RunningAcc  float64       // percent
	LR          float64       // the learning rate of the step
	Elapsed     time.Duration // since the run started (this call)
	EpochTime   time.Duration // since the epoch started
}

// Monitor receives a run's progress. Train calls it from the goroutine
// that runs Train; Step is called after every step, so implementations must
// be cheap there and throttle any drawing themselves.
type Monitor interface {
	Begin(info RunInfo)
	Step(p Progress)
	Log(line string) // a seed-format log line, or a note such as "resumed at epoch 3"
	Epoch(h *History)
	End(h *History, err error)
}

// NewLiveMonitor, when set, makes the monitor Train uses by default inside a
// front end (see package golab/frontend). Importing lab/viz sets it to its
// live training view, as importing image/png registers a decoder, so that
// the lab need not import its figures.
var NewLiveMonitor func() Monitor
