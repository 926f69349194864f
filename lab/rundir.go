package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// runDir is the folder of one training run: its configuration, and after
// every epoch the weights, the optimizer state and the History.
type runDir struct {
	dir string
	cfg runConfig
}

// ErrNoRun is the error of LoadRun when no epoch of the run is saved.
var ErrNoRun = errors.New("no saved run")

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

const (
	runConfigFile = "config.json"
	runWeights    = "weights.safetensors"
	runOptimizer  = "optimizer.safetensors"
	runHistory    = "history.json"
)

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9.=_-]+`)

// RunName is the folder name Train gives a run of model m under cfg on a
// training set of n images: the configuration in words, e.g.
// "DropoutCNN_p=0.5_sgd-lr0.001-m0.9_b32_n49000_seed0".
func RunName(m *Model, cfg Config, n int) string {
	cfg = cfg.withDefaults()
	label := unsafeChars.ReplaceAllString(strings.ReplaceAll(m.Label, " ", "_"), "")
	return fmt.Sprintf("%s_%s_b%d_n%d_seed%d", label, cfg.Optimizer, cfg.BatchSize, n, cfg.Seed)
}

// openRun opens the run folder of a configuration, making it when create
// is set; without create, a missing folder is ErrNoRun.
func openRun(cfg Config, m *Model, train, val *Dataset, create bool) (*runDir, error) {
	dir := filepath.Join(cfg.RunDir, RunName(m, cfg, train.Len()))
	rc := runConfig{Model: m.Name, Label: m.Label, ModelSeed: m.Seed, Optimizer: cfg.Optimizer.String(), BatchSize: cfg.BatchSize,
		Seed: cfg.Seed, TrainImages: train.Len(), Data: fingerprint(train, val)}
	if val != nil {
		rc.ValImages = val.Len()
	}
	r := &runDir{dir: dir, cfg: rc}
	if cfg.Retrain {
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("lab: removing the old run %s: %w", dir, err)
		}
	}
	if !create {
		if _, err := os.Stat(filepath.Join(dir, runHistory)); err != nil {
			return nil, fmt.Errorf("lab: %w in %s (train it first)", ErrNoRun, dir)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: making the run folder: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, runConfigFile))
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		b, _ := json.MarshalIndent(rc, "", "  ")
		if err := writeFileAtomic(filepath.Join(dir, runConfigFile), b); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("lab: reading the run's configuration: %w", err)
	default:
		var saved runConfig
		if err := json.Unmarshal(b, &saved); err != nil {
			return nil, fmt.Errorf("lab: the run folder %s has a damaged %s (%v); set Retrain to start it again", dir, runConfigFile, err)
		}
		if saved != rc {
			return nil, fmt.Errorf("lab: the run folder %s holds a run with another configuration (saved %+v, now %+v); use another RunDir, or set Retrain to replace it", dir, saved, rc)
		}
	}
	return r, nil
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

// resume loads a saved run into m, opt and h. It reports whether the run
// already has all the epochs cfg asks for.
func (r *runDir) resume(m *Model, opt solver, h *History, cfg Config) (done bool, err error) {
	b, err := os.ReadFile(filepath.Join(r.dir, runHistory))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lab: reading the run's History: %w", err)
	}
	var saved History
	if err := json.Unmarshal(b, &saved); err != nil {
		return false, fmt.Errorf("lab: the run folder %s has a damaged %s (%v); set Retrain to start it again", r.dir, runHistory, err)
	}
	if err := m.Load(filepath.Join(r.dir, runWeights)); err != nil {
		return false, err
	}
	st, _, err := readSafetensors(filepath.Join(r.dir, runOptimizer))
	if err != nil {
		return false, err
	}
	flat := map[string][]float32{}
	for k, v := range st {
		flat[k] = v.data
	}
	if err := opt.setState(flat); err != nil {
		return false, fmt.Errorf("lab: resuming %s: %w", r.dir, err)
	}
	*h = saved
	return len(h.Epochs) >= cfg.Epochs, nil
}

// save records a finished epoch. The History is written last: it is what
// marks the epoch as saved.
func (r *runDir) save(m *Model, opt solver, h *History) error {
	if err := m.Save(filepath.Join(r.dir, runWeights)); err != nil {
		return err
	}
	var ts []tensorData
	for name, v := range opt.state() {
		ts = append(ts, tensorData{name: name, shape: []int{len(v)}, data: v})
	}
	if err := writeSafetensors(filepath.Join(r.dir, runOptimizer), ts, nil); err != nil {
		return err
	}
	b, err := h.MarshalIndent()
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(r.dir, runHistory), b)
}

func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("lab: saving %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("lab: saving %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
