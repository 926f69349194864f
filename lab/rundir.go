package lab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
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
	rec runRecord
	f   *runfolder.Folder

	best []byte // the weights of the best validation epoch so far (KeepBest)
}

// runRecord is the explicit record of a run: everything that must match for
// a saved run to be resumed. It is the run folder's config.json, and the
// folder's name is made from it.
type runRecord struct {
	Format      int       `json:"format"`
	Model       string    `json:"model"`
	Label       string    `json:"label"`
	Layers      string    `json:"layers"` // fingerprint of the layers and their parameters' shapes
	ModelSeed   uint64    `json:"model_seed"`
	Optimizer   Settings  `json:"optimizer"`
	Schedule    *Settings `json:"schedule"`         // null: a constant learning rate
	Epochs      int       `json:"epochs,omitempty"` // the run's length, which a schedule depends on
	Augment     *Settings `json:"augment"`          // null: none
	KeepBest    bool      `json:"keep_best"`
	BatchSize   int       `json:"batch_size"`
	Seed        uint64    `json:"seed"`
	TrainImages int       `json:"train_images"`
	ValImages   int       `json:"val_images"`
	Data        string    `json:"data"` // fingerprint of the training and validation sets
}

// recordFormat marks config.json files written as runRecord; earlier ones
// (legacyRecord) have no "format".
const recordFormat = 2

// legacyRecord is the config.json of the lab's first run folders, whose
// optimizer was a string such as "sgd-lr0.001-m0.9".
type legacyRecord struct {
	Model       string `json:"model"`
	Label       string `json:"label"`
	ModelSeed   uint64 `json:"model_seed"`
	Optimizer   string `json:"optimizer"`
	BatchSize   int    `json:"batch_size"`
	Seed        uint64 `json:"seed"`
	TrainImages int    `json:"train_images"`
	ValImages   int    `json:"val_images"`
	Data        string `json:"data"`
}

// newRecord makes the record of a run; data is the sets' fingerprint (""
// when only the name is wanted).
func newRecord(m *Model, cfg Config, trainImages, valImages int, data string) runRecord {
	r := runRecord{Format: recordFormat, Model: m.Name, Label: m.Label, Layers: m.fingerprint(), ModelSeed: m.Seed,
		Optimizer: cfg.Optimizer.Settings(), KeepBest: cfg.KeepBest, BatchSize: cfg.BatchSize, Seed: cfg.Seed,
		TrainImages: trainImages, ValImages: valImages, Data: data}
	if cfg.Schedule != nil {
		s := cfg.Schedule.Settings()
		r.Schedule, r.Epochs = &s, cfg.Epochs
	}
	if cfg.Augment != nil {
		s := cfg.Augment.Settings()
		r.Augment = &s
	}
	return r
}

// fingerprint identifies the model's layers and parameter shapes.
func (m *Model) fingerprint() string {
	h := fnv.New64a()
	for _, l := range m.built {
		fmt.Fprintf(h, "%s:%s;", l.name, l.desc)
		for _, p := range l.params {
			fmt.Fprintf(h, "%s%v%v;", p.Name, p.Shape, p.Trainable)
		}
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9.=_-]+`)

// maxName bounds a run folder's name; longer ones end in a hash of the
// whole name.
const maxName = 180

// name is the run folder's name: the record in words.
func (r runRecord) name() string {
	parts := []string{strings.ReplaceAll(r.Label, " ", "_"), r.Optimizer.String()}
	if r.Schedule != nil {
		parts = append(parts, fmt.Sprintf("%s-e%d", r.Schedule, r.Epochs))
	}
	if r.Augment != nil {
		parts = append(parts, r.Augment.String())
	}
	if r.KeepBest {
		parts = append(parts, "best")
	}
	parts = append(parts, fmt.Sprintf("b%d", r.BatchSize), fmt.Sprintf("n%d", r.TrainImages), fmt.Sprintf("seed%d", r.Seed))
	name := unsafeChars.ReplaceAllString(strings.Join(parts, "_"), "")
	if len(name) > maxName {
		h := fnv.New64a()
		h.Write([]byte(name))
		name = fmt.Sprintf("%s-%016x", name[:maxName-17], h.Sum64())
	}
	return name
}

// legacyOptimizer is how the lab's first run folders named an optimizer
// with these settings, or "" when they could not hold it.
func legacyOptimizer(s Settings) string {
	v := s.Values
	switch {
	case s.Name == "sgd" && v["wd"] == 0 && v["nesterov"] == 0:
		return fmt.Sprintf("sgd-lr%g-m%g", v["lr"], v["m"])
	case s.Name == "adam" && v["wd"] == 0 && v["eps"] == 1e-8:
		// Those folders did not record eps; they are read as the default.
		return fmt.Sprintf("adam-lr%g-b%g-%g", v["lr"], v["beta1"], v["beta2"])
	}
	return ""
}

// legacyName is the name the lab's first run folders gave this run, or ""
// when they could not hold it.
func (r runRecord) legacyName() string {
	o := legacyOptimizer(r.Optimizer)
	if o == "" || r.Schedule != nil || r.Augment != nil || r.KeepBest {
		return ""
	}
	label := unsafeChars.ReplaceAllString(strings.ReplaceAll(r.Label, " ", "_"), "")
	return fmt.Sprintf("%s_%s_b%d_n%d_seed%d", label, o, r.BatchSize, r.TrainImages, r.Seed)
}

// RunName is the folder name Train gives a run of model m under cfg on a
// training set of n images: its configuration in words, e.g.
// "DropoutCNN_p=0.5_sgd-lr0.001-m0.9_b32_n49000_seed0", made from the
// explicit record of every setting (Settings of the optimizer, schedule and
// augmentation, KeepBest, batch size, seed).
func RunName(m *Model, cfg Config, n int) string {
	cfg = cfg.withDefaults()
	return newRecord(m, cfg, n, 0, "").name()
}

// openRun opens the run folder of a configuration: for Train (write) it
// makes the folder, takes its lock and applies Retrain; for LoadRun a
// missing folder is ErrNoRun. Callers close it.
func openRun(cfg Config, m *Model, train, val *Dataset, write bool) (*runDir, error) {
	valN := 0
	if val != nil {
		valN = val.Len()
	}
	rec := newRecord(m, cfg, train.Len(), valN, fingerprint(train, val))
	dir := filepath.Join(cfg.RunDir, rec.name())
	if old := rec.legacyName(); old != "" && old != rec.name() {
		// A run of the lab's first folders, under its old name.
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			if st, err := os.Stat(filepath.Join(cfg.RunDir, old)); err == nil && st.IsDir() {
				dir = filepath.Join(cfg.RunDir, old)
			}
		}
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
	r := &runDir{dir: dir, rec: rec, f: f}
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

// checkConfig compares the saved record with the run's, writing it for a
// new run.
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
		b, _ := json.MarshalIndent(r.rec, "", "  ")
		if err := r.f.WriteConfig(append(b, '\n')); err != nil {
			return fmt.Errorf("lab: saving the run's configuration in %s: %w", r.dir, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("lab: reading the run's configuration: %w", err)
	}
	diffs, reason := compareRecord(b, r.rec)
	if reason != "" {
		return r.damaged(runfolder.ConfigFile, reason)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("lab: the run folder %s holds a run with another configuration (%s); use another RunDir, or set Retrain to replace it",
			r.dir, strings.Join(diffs, "; "))
	}
	return nil
}

// compareRecord reads a saved config.json strictly (an object with every
// field) and lists how it differs from the run's record.
func compareRecord(b []byte, now runRecord) (diffs []string, reason string) {
	fields, reason := object(b)
	if reason != "" {
		return nil, reason
	}
	if _, ok := fields["format"]; !ok {
		return compareLegacy(b, fields, now)
	}
	for _, k := range []string{"format", "model", "label", "layers", "model_seed", "optimizer", "schedule", "augment", "keep_best", "batch_size", "seed", "train_images", "val_images", "data"} {
		if _, ok := fields[k]; !ok {
			return nil, fmt.Sprintf("lacks the run's %q", k)
		}
	}
	var saved runRecord
	if err := json.Unmarshal(b, &saved); err != nil {
		return nil, fmt.Sprintf("does not hold a run configuration (%v)", err)
	}
	if saved.Format != recordFormat {
		return nil, fmt.Sprintf("is of format %d, which this version of the lab does not read (it writes %d)", saved.Format, recordFormat)
	}
	settings := func(s *Settings) string {
		if s == nil {
			return "none"
		}
		return s.String()
	}
	same := func(a, b *Settings) bool { return a == nil && b == nil || a != nil && b != nil && a.equal(*b) }
	add := func(differ bool, what string, saved, now any) {
		if differ {
			diffs = append(diffs, fmt.Sprintf("%s: saved %v, now %v", what, saved, now))
		}
	}
	add(saved.Model != now.Model, "model", saved.Model, now.Model)
	add(saved.Label != now.Label, "label", saved.Label, now.Label)
	add(saved.Layers != now.Layers, "layers", "other layers", "these")
	add(saved.ModelSeed != now.ModelSeed, "model seed", saved.ModelSeed, now.ModelSeed)
	add(!saved.Optimizer.equal(now.Optimizer), "optimizer", saved.Optimizer, now.Optimizer)
	add(!same(saved.Schedule, now.Schedule), "schedule", settings(saved.Schedule), settings(now.Schedule))
	add(saved.Epochs != now.Epochs, "epochs of the schedule", saved.Epochs, now.Epochs)
	add(!same(saved.Augment, now.Augment), "augmentation", settings(saved.Augment), settings(now.Augment))
	add(saved.KeepBest != now.KeepBest, "KeepBest", saved.KeepBest, now.KeepBest)
	add(saved.BatchSize != now.BatchSize, "batch size", saved.BatchSize, now.BatchSize)
	add(saved.Seed != now.Seed, "seed", saved.Seed, now.Seed)
	add(saved.TrainImages != now.TrainImages, "training images", saved.TrainImages, now.TrainImages)
	add(saved.ValImages != now.ValImages, "validation images", saved.ValImages, now.ValImages)
	add(saved.Data != now.Data, "data", "other images", "these")
	return diffs, ""
}

// compareLegacy compares a config.json of the lab's first run folders.
func compareLegacy(b []byte, fields map[string]json.RawMessage, now runRecord) (diffs []string, reason string) {
	for _, k := range []string{"model", "label", "model_seed", "optimizer", "batch_size", "seed", "train_images", "val_images", "data"} {
		if _, ok := fields[k]; !ok {
			return nil, fmt.Sprintf("lacks the run's %q", k)
		}
	}
	var saved legacyRecord
	if err := json.Unmarshal(b, &saved); err != nil {
		return nil, fmt.Sprintf("does not hold a run configuration (%v)", err)
	}
	was := legacyRecord{Model: now.Model, Label: now.Label, ModelSeed: now.ModelSeed, Optimizer: legacyOptimizer(now.Optimizer),
		BatchSize: now.BatchSize, Seed: now.Seed, TrainImages: now.TrainImages, ValImages: now.ValImages, Data: now.Data}
	if saved == was && now.Schedule == nil && now.Augment == nil && !now.KeepBest {
		return nil, ""
	}
	return []string{fmt.Sprintf("saved by an earlier version of the lab: %+v; now %s", saved, now.name())}, ""
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

// resume loads the run's last saved epoch into m, opt and h (with best, the
// weights of its best validation epoch), all or nothing: everything is read
// and checked before any of it is used. It reports whether there was a
// saved epoch.
func (r *runDir) resume(m *Model, opt Updater, h *History, best bool) (found bool, err error) {
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
	saved, reason := decodeHistory(e.History, r.rec.Model, r.rec.Label, e.Epochs)
	if reason != "" {
		return false, r.damaged(path(runfolder.HistoryFile), reason)
	}
	vals, err := r.weights(m, e.Weights, path(runfolder.WeightsFile))
	if err != nil {
		return false, err
	}
	if r.rec.KeepBest {
		if e.Best == nil {
			return false, r.damaged(path(runfolder.BestFile), "is missing; a run trained with KeepBest keeps the weights of its best epoch there")
		}
		bv, err := r.weights(m, e.Best, path(runfolder.BestFile))
		if err != nil {
			return false, err
		}
		r.best = e.Best
		if best {
			vals = bv
		}
	}
	st, reason := decodeOptimizer(e.Optimizer)
	if reason != "" {
		return false, r.damaged(path(runfolder.OptimizerFile), reason)
	}
	if err := opt.SetState(st); err != nil {
		return false, r.damaged(path(runfolder.OptimizerFile), "does not fit the optimizer: "+err.Error())
	}
	m.setWeights(vals)
	*h = *saved
	return true, nil
}

// weights decodes and checks a weights file of the run.
func (r *runDir) weights(m *Model, b []byte, file string) ([][]float32, error) {
	wf, err := safetensors.Decode(b)
	if err != nil {
		return nil, r.damaged(file, "is "+err.Error())
	}
	vals, problems := m.fit(wf)
	if len(problems) > 0 {
		return nil, r.damaged(file, fmt.Sprintf("does not fit model %s: %s", m.Label, joinMax(problems, 3)))
	}
	if p := finiteProblem(names(m.params), vals); p != "" {
		return nil, r.damaged(file, p)
	}
	return vals, nil
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

// save commits a finished epoch: weights, optimizer state and History, and
// with keepBest the weights of the best validation epoch so far, in one
// atomic step.
func (r *runDir) save(m *Model, opt Updater, h *History, keepBest bool) error {
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
	e := runfolder.Epoch{Epochs: n, Weights: w, Optimizer: o, History: hb}
	if keepBest {
		// The first epoch of the highest validation accuracy, as
		// History.BestValAcc picks it.
		best := 0
		for i, ep := range h.Epochs {
			if ep.ValAcc > h.Epochs[best].ValAcc {
				best = i
			}
		}
		if best == n-1 || r.best == nil {
			r.best = w
		}
		e.Best = r.best
	}
	if err := r.f.Commit(e); err != nil {
		return fmt.Errorf("lab: saving epoch %d in %s: %w. The folder still holds the run as it was after %d epochs; once the cause is fixed, Train resumes from there",
			n-1, r.dir, err, n-1)
	}
	return nil
}

// encodeState writes an optimizer's state as a safetensors file of flat
// tensors, in name order.
func encodeState(opt Updater) ([]byte, error) {
	st := opt.State()
	ts := make([]safetensors.Float32s, 0, len(st))
	for _, name := range sortedKeys(st) {
		ts = append(ts, safetensors.Float32s{Name: name, Shape: []int{len(st[name])}, Data: st[name]})
	}
	return safetensors.EncodeFloat32(ts, nil)
}
