package lab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"

	"golab/lab/internal/runfolder"
	"golab/lab/internal/safetensors"
)

// ErrNoRun is the error of LoadRun when no epoch of the run is saved.
var ErrNoRun = errors.New("no saved run")

// ErrDamagedRun is wrapped by the errors of Train and LoadRun when a run
// folder cannot be read back: a file is missing, truncated, changed since
// it was saved, or does not agree with the run. The error names the file;
// Retrain starts the run again.
var ErrDamagedRun = errors.New("damaged run folder")

// damagedError is an ErrDamagedRun naming the file and the way out.
type damagedError struct {
	dir, file, reason string
}

func (e *damagedError) Error() string {
	return fmt.Sprintf("lab: the run folder %s is damaged: %s %s. Set Retrain: true in the Config to train the run again from scratch (or move the folder away to keep what it holds)",
		e.dir, e.file, e.reason)
}

func (e *damagedError) Unwrap() error { return ErrDamagedRun }

// runFault, set by tests, is called before every file operation of a run
// folder (the fault hook of runfolder.Options).
var runFault func(op, path string) error

// runDir is the folder of one training run (internal/runfolder): its
// configuration, and the state after the last saved epoch.
type runDir struct {
	dir string
	cfg runConfig
	f   *runfolder.Folder
}

// runConfig is what must match for a saved run to be resumed.
type runConfig struct {
	Model       string `json:"model"`
	Label       string `json:"label"`
	ModelSeed   uint64 `json:"model_seed"`
	Optimizer   string `json:"optimizer"`
	BatchSize   int    `json:"batch_size"`
	Seed        uint64 `json:"seed"`
	TrainImages int    `json:"train_images"`
	ValImages   int    `json:"val_images"`
	Data        string `json:"data"` // fingerprint of the training and validation sets
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9.=_-]+`)

// RunName is the folder name Train gives a run of model m under cfg on a
// training set of n images: the configuration in words, e.g.
// "DropoutCNN_p=0.5_sgd-lr0.001-m0.9_b32_n49000_seed0".
func RunName(m *Model, cfg Config, n int) string {
	cfg = cfg.withDefaults()
	label := unsafeChars.ReplaceAllString(strings.ReplaceAll(m.Label, " ", "_"), "")
	return fmt.Sprintf("%s_%s_b%d_n%d_seed%d", label, cfg.Optimizer, cfg.BatchSize, n, cfg.Seed)
}

// openRun opens the run folder of a configuration: for Train (write) it
// makes the folder, takes its lock and applies Retrain; for LoadRun a
// missing folder is ErrNoRun. Callers close it.
func openRun(cfg Config, m *Model, train, val *Dataset, write bool) (*runDir, error) {
	dir := filepath.Join(cfg.RunDir, RunName(m, cfg, train.Len()))
	rc := runConfig{Model: m.Name, Label: m.Label, ModelSeed: m.Seed, Optimizer: cfg.Optimizer.String(), BatchSize: cfg.BatchSize,
		Seed: cfg.Seed, TrainImages: train.Len(), Data: fingerprint(train, val)}
	if val != nil {
		rc.ValImages = val.Len()
	}
	f, err := runfolder.Open(dir, runfolder.Options{Write: write, Fault: runFault})
	switch {
	case err == nil:
	case !write && errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("lab: %w in %s (train it first)", ErrNoRun, dir)
	case errors.Is(err, runfolder.ErrBusy):
		return nil, fmt.Errorf("lab: %s: %w; wait for that training to end (or interrupt it), or use another RunDir", dir, err)
	default:
		return nil, fmt.Errorf("lab: opening the run folder %s: %w", dir, err)
	}
	r := &runDir{dir: dir, cfg: rc, f: f}
	if err := r.checkConfig(write, cfg.Retrain); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func (r *runDir) close() { r.f.Close() }

func (r *runDir) damaged(file, reason string) error {
	return &damagedError{dir: r.dir, file: file, reason: reason}
}

// checkConfig compares the saved configuration with the run's, writing it
// for a new run.
func (r *runDir) checkConfig(write, retrain bool) error {
	if write && retrain {
		if err := r.f.Reset(); err != nil {
			return fmt.Errorf("lab: removing the old run in %s: %w", r.dir, err)
		}
	}
	b, err := r.f.ReadConfig()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		e, lerr := r.f.Latest()
		if e != nil || lerr != nil {
			return r.damaged(runfolder.ConfigFile, "is missing")
		}
		if !write {
			return fmt.Errorf("lab: %w in %s (train it first)", ErrNoRun, r.dir)
		}
		b, _ := json.MarshalIndent(r.cfg, "", "  ")
		if err := r.f.WriteConfig(append(b, '\n')); err != nil {
			return fmt.Errorf("lab: saving the run's configuration in %s: %w", r.dir, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("lab: reading the run's configuration: %w", err)
	}
	saved, reason := parseConfig(b)
	if reason != "" {
		return r.damaged(runfolder.ConfigFile, reason)
	}
	if saved != r.cfg {
		return fmt.Errorf("lab: the run folder %s holds a run with another configuration (saved %+v, now %+v); use another RunDir, or set Retrain to replace it", r.dir, saved, r.cfg)
	}
	return nil
}

// parseConfig reads config.json strictly: an object with every field.
func parseConfig(b []byte) (runConfig, string) {
	var c runConfig
	fields, reason := object(b)
	if reason != "" {
		return c, reason
	}
	for _, k := range []string{"model", "label", "model_seed", "optimizer", "batch_size", "seed", "train_images", "val_images", "data"} {
		if _, ok := fields[k]; !ok {
			return c, fmt.Sprintf("lacks the run's %q", k)
		}
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Sprintf("does not hold a run configuration (%v)", err)
	}
	return c, ""
}

// object decodes a JSON object into its fields, or says why it is not one.
func object(b []byte) (map[string]json.RawMessage, string) {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return nil, "is empty"
	}
	if t[0] != '{' {
		var v any
		if err := json.Unmarshal(t, &v); err != nil {
			return nil, fmt.Sprintf("is not JSON (%v)", err)
		}
		return nil, fmt.Sprintf("holds %s, not a JSON object", clipJSON(t))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(t, &fields); err != nil {
		return nil, fmt.Sprintf("is not valid JSON (%v)", err)
	}
	return fields, ""
}

func clipJSON(b []byte) string {
	s := string(b)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// fingerprint identifies the images and labels of the sets, so that a run
// is never resumed on other data.
func fingerprint(sets ...*Dataset) string {
	h := fnv.New64a()
	for _, d := range sets {
		if d == nil {
			continue
		}
		fmt.Fprintf(h, "%s:%d:", d.Name, d.Len())
		for i := range d.Len() {
			img := d.Image(i)
			h.Write([]byte{byte(d.Label(i)), img[0], img[1500], img[3071]})
		}
		if d.norm != nil {
			fmt.Fprintf(h, "%v", *d.norm)
		}
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// resume loads the run's last saved epoch into m, opt and h, all or
// nothing: everything is read and checked before any of it is used. It
// reports whether there was a saved epoch.
func (r *runDir) resume(m *Model, opt solver, h *History) (found bool, err error) {
	e, err := r.f.Latest()
	var de *runfolder.DamagedError
	switch {
	case errors.As(err, &de):
		return false, r.damaged(de.File, de.Reason)
	case err != nil:
		return false, fmt.Errorf("lab: reading the run folder %s: %w", r.dir, err)
	case e == nil:
		return false, nil
	}
	path := func(name string) string {
		if e.Dir == "" {
			return name
		}
		return e.Dir + "/" + name
	}
	saved, reason := decodeHistory(e.History, r.cfg.Model, r.cfg.Label, e.Epochs)
	if reason != "" {
		return false, r.damaged(path(runfolder.HistoryFile), reason)
	}
	wf, err := safetensors.Decode(e.Weights)
	if err != nil {
		return false, r.damaged(path(runfolder.WeightsFile), "is "+err.Error())
	}
	vals, problems := m.fit(wf)
	if len(problems) > 0 {
		return false, r.damaged(path(runfolder.WeightsFile), fmt.Sprintf("does not fit model %s: %s", m.Label, joinMax(problems, 3)))
	}
	if p := finiteProblem(names(m.params), vals); p != "" {
		return false, r.damaged(path(runfolder.WeightsFile), p)
	}
	st, reason := decodeOptimizer(e.Optimizer)
	if reason != "" {
		return false, r.damaged(path(runfolder.OptimizerFile), reason)
	}
	if err := opt.setState(st); err != nil {
		return false, r.damaged(path(runfolder.OptimizerFile), "does not fit the optimizer: "+err.Error())
	}
	m.setWeights(vals)
	*h = *saved
	return true, nil
}

func decodeOptimizer(b []byte) (map[string][]float32, string) {
	f, err := safetensors.Decode(b)
	if err != nil {
		return nil, "is " + err.Error()
	}
	st := map[string][]float32{}
	for _, t := range f.Tensors {
		v, err := t.Float32()
		if err != nil {
			return nil, "does not fit the optimizer: " + err.Error()
		}
		st[t.Name] = v
	}
	return st, ""
}

// save commits a finished epoch: weights, optimizer state and History, in
// one atomic step.
func (r *runDir) save(m *Model, opt solver, h *History) error {
	w, err := m.encodeWeights()
	if err != nil {
		return err
	}
	o, err := encodeState(opt)
	if err != nil {
		return fmt.Errorf("lab: encoding the optimizer state: %w", err)
	}
	hb, err := h.MarshalIndent()
	if err != nil {
		return fmt.Errorf("lab: encoding the History: %w", err)
	}
	n := len(h.Epochs)
	if err := r.f.Commit(runfolder.Epoch{Epochs: n, Weights: w, Optimizer: o, History: hb}); err != nil {
		return fmt.Errorf("lab: saving epoch %d in %s: %w. The folder still holds the run as it was after %d epochs; once the cause is fixed, Train resumes from there",
			n-1, r.dir, err, n-1)
	}
	return nil
}

// encodeState writes an optimizer's state as a safetensors file of flat
// tensors, in name order.
func encodeState(opt solver) ([]byte, error) {
	st := opt.state()
	ts := make([]safetensors.Tensor, 0, len(st))
	for _, name := range sortedKeys(st) {
		ts = append(ts, safetensors.FromFloat32(name, []int{len(st[name])}, st[name]))
	}
	return safetensors.Encode(ts, nil)
}
