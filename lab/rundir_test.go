package lab

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golab/lab/internal/runfolder"
	"golab/lab/internal/safetensors"
)

// runSetup is a small run with every kind of state: weights, BatchNorm
// buffers, dropout masks and momentum.
type runSetup struct {
	train, val *Dataset
	cfg        Config
}

func newRunSetup(t testing.TB, dir string) runSetup {
	cfg := quiet()
	cfg.Seed, cfg.BatchSize, cfg.RunDir, cfg.Epochs = 5, 16, dir, 3
	return runSetup{train: fixture(t, 64, 1), val: fixture(t, 16, 2), cfg: cfg}
}

func (s runSetup) model(t testing.TB) *Model {
	return smallModel(t, 2, BatchNorm2d(8).As("bn"), Dropout(0.2))
}

func (s runSetup) folder(t testing.TB) string {
	return filepath.Join(s.cfg.RunDir, RunName(s.model(t), s.cfg, s.train.Len()))
}

// trainTo trains the run to the given number of epochs.
func (s runSetup) trainTo(t testing.TB, epochs int) (*History, *Model, error) {
	m := s.model(t)
	cfg := s.cfg
	cfg.Epochs = epochs
	h, err := Train(m, s.train, s.val, cfg)
	return h, m, err
}

// checkpoint reads a run folder's commit record.
func checkpoint(t testing.TB, run string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(run, runfolder.Checkpoint))
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// rewrite replaces a file of the committed epoch and updates its checksum,
// as a crafted or buggy folder would have it: what is checked then is the
// content, not the checksum.
func rewrite(t testing.TB, run, name string, data []byte) {
	t.Helper()
	rec := checkpoint(t, run)
	dir := rec["dir"].(string)
	if err := os.WriteFile(filepath.Join(run, dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	rec["files"].(map[string]any)[name] = map[string]any{"bytes": len(data), "sha256": hex.EncodeToString(sum[:])}
	b, _ := json.Marshal(rec)
	if err := os.WriteFile(filepath.Join(run, runfolder.Checkpoint), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// toLegacy turns a run folder into the layout of earlier golab versions:
// the three files at the top, no checkpoint.
func toLegacy(t testing.TB, run string) {
	t.Helper()
	dir := checkpoint(t, run)["dir"].(string)
	for _, name := range []string{runfolder.WeightsFile, runfolder.OptimizerFile, runfolder.HistoryFile} {
		if err := os.Rename(filepath.Join(run, dir, name), filepath.Join(run, name)); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(filepath.Join(run, dir))
	os.Remove(filepath.Join(run, runfolder.Checkpoint))
	os.Remove(filepath.Join(run, ".lock"))
}

func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func sameWeights(a, b *Model) bool {
	for i, p := range a.Params() {
		if !equalF32(p.Data(), b.Params()[i].Data()) {
			return false
		}
	}
	return true
}

// TestOldRunFoldersLoad checks that a run saved by earlier versions (the
// three files at the top of the folder) loads and resumes, and that the
// next save moves it to the new layout.
func TestOldRunFoldersLoad(t *testing.T) {
	s := newRunSetup(t, t.TempDir())
	want, whole, err := newRunSetup(t, t.TempDir()).trainTo(t, 3)
	if err != nil {
		t.Fatal(err)
	}
	two, m2, err := s.trainTo(t, 2)
	if err != nil {
		t.Fatal(err)
	}
	run := s.folder(t)
	toLegacy(t, run)
	loaded := s.model(t)
	h, err := LoadRun(loaded, s.train, s.val, s.cfg)
	if err != nil || !sameFigures(h, two) || !sameWeights(loaded, m2) {
		t.Fatalf("LoadRun of an old folder: %v", err)
	}
	got, m, err := s.trainTo(t, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !sameFigures(got, want) || !sameWeights(m, whole) {
		t.Fatalf("resuming an old folder differs from the uninterrupted run:\n%s\n%s", got.Table(), want.Table())
	}
	entries, _ := os.ReadDir(run)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != ".lock checkpoint.json config.json epochs-0003" {
		t.Errorf("after resuming, the old folder holds %v", names)
	}
}

// TestDamagedRunFolders damages a saved run in every way the fault probe
// tried and more, in the new layout and in the old one, and checks that
// Train and LoadRun both refuse it with an error naming the file and the
// way out, leave the model alone, and that Retrain recovers.
func TestDamagedRunFolders(t *testing.T) {
	base := t.TempDir()
	s := newRunSetup(t, base)
	if _, _, err := s.trainTo(t, 2); err != nil {
		t.Fatal(err)
	}
	saved := s.folder(t)
	// Files to put in place of the saved ones.
	other, _ := BuildCNN("small", 2, Conv2d(3, 4, 3, Stride(2)).As("conv1"), ReLU(), MaxPool2d(2), BatchNorm2d(4).As("bn"), Dropout(0.2),
		Flatten(), Linear(Auto, 32).As("fc"), ReLU(), Linear(32, 10).As("out"))
	otherWeights, _ := other.encodeWeights()
	m := s.model(t)
	nanModel := s.model(t)
	nanModel.Param("fc.bias").Data()[3] = float32(math.NaN())
	nanWeights, _ := nanModel.encodeWeights()
	partial := []safetensors.Tensor{safetensors.FromFloat32("conv1.weight", m.Param("conv1.weight").Shape, m.Param("conv1.weight").Data())}
	partialWeights, _ := safetensors.Encode(partial, nil)
	adam, _ := Adam{LR: 0.01}.NewUpdater(m.trainable())
	adamState, _ := encodeState(adam)
	sgdOther, _ := SGD{LR: 0.001, Momentum: 0.9}.NewUpdater(other.trainable())
	otherState, _ := encodeState(sgdOther)
	i32 := []safetensors.Tensor{{Name: "momentum_buffer.fc.bias", Dtype: "I32", Shape: []int{1}, Data: make([]byte, 4)}}
	i32State, _ := safetensors.Encode(i32, nil)

	hist := func(epochs string) []byte {
		return []byte(`{"model":"small","label":"small","epochs":[` + epochs + `],"steps":[]}`)
	}
	ep := func(n int, extra string) string {
		return `{"epoch":` + itoa(n) + `,"train_loss":1.5,"train_acc":40,"val_loss":1.6,"val_acc":38,"seconds":0.1,"images_per_s":600` + extra + `}`
	}
	type damage struct {
		name string
		file string // the file the error must name
		do   func(t *testing.T, run string, legacy bool)
	}
	put := func(name string, data []byte) func(t *testing.T, run string, legacy bool) {
		return func(t *testing.T, run string, legacy bool) {
			if legacy {
				os.WriteFile(filepath.Join(run, name), data, 0o644)
			} else {
				rewrite(t, run, name, data)
			}
		}
	}
	remove := func(name string) func(t *testing.T, run string, legacy bool) {
		return func(t *testing.T, run string, legacy bool) {
			p := filepath.Join(run, name)
			if !legacy && name != runfolder.ConfigFile {
				p = filepath.Join(run, checkpoint(t, run)["dir"].(string), name)
			}
			os.Remove(p)
		}
	}
	truncate := func(name string) func(t *testing.T, run string, legacy bool) {
		return func(t *testing.T, run string, legacy bool) {
			p := filepath.Join(run, name)
			if !legacy {
				p = filepath.Join(run, checkpoint(t, run)["dir"].(string), name)
			}
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}
	}
	const H, W, O, C = runfolder.HistoryFile, runfolder.WeightsFile, runfolder.OptimizerFile, runfolder.ConfigFile
	cases := []damage{
		{"history null", H, put(H, []byte("null"))},
		{"history {}", H, put(H, []byte("{}"))},
		{"history empty", H, put(H, nil)},
		{"history a list", H, put(H, []byte("[1,2]"))},
		{"history a string", H, put(H, []byte(`"x"`))},
		{"history not JSON", H, put(H, []byte(`{"model":`))},
		{"history of empty epochs", H, put(H, []byte(`{"epochs":[{},{}]}`))},
		{"history of five empty epochs", H, put(H, []byte(`{"epochs":[{},{},{},{},{}]}`))},
		{"history with empty epochs of the run", H, put(H, hist(`{},{}`))},
		{"history without epochs", H, put(H, hist(``))},
		{"history epochs null", H, put(H, []byte(`{"model":"small","label":"small","epochs":null}`))},
		{"history of another model", H, put(H, []byte(`{"model":"CNNModel","label":"CNNModel","epochs":[`+ep(0, "")+`,`+ep(1, "")+`]}`))},
		{"history of another label", H, put(H, []byte(`{"model":"small","label":"small p=0.5","epochs":[`+ep(0, "")+`,`+ep(1, "")+`]}`))},
		{"history epochs numbered 0, 0", H, put(H, hist(ep(0, "")+","+ep(0, "")))},
		{"history epochs numbered 1, 2", H, put(H, hist(ep(1, "")+","+ep(2, "")))},
		{"history epochs out of order", H, put(H, hist(ep(1, "")+","+ep(0, "")))},
		{"history epoch without val_acc", H, put(H, hist(ep(0, "")+`,{"epoch":1,"train_loss":1.5,"train_acc":40,"val_loss":1.6,"seconds":0.1,"images_per_s":600}`))},
		{"history accuracy 130 %", H, put(H, hist(ep(0, "")+","+strings.Replace(ep(1, ""), `"val_acc":38`, `"val_acc":130`, 1)))},
		{"history negative loss", H, put(H, hist(ep(0, "")+","+strings.Replace(ep(1, ""), `"train_loss":1.5`, `"train_loss":-1`, 1)))},
		{"history figure a string", H, put(H, hist(ep(0, "")+","+strings.Replace(ep(1, ""), `"seconds":0.1`, `"seconds":"fast"`, 1)))},
		{"history step outside its epochs", H, put(H, []byte(`{"model":"small","label":"small","epochs":[`+ep(0, "")+`,`+ep(1, "")+`],"steps":[{"epoch":7,"step":0,"train_loss":1,"running_acc":10}]}`))},
		{"weights missing", W, remove(W)},
		{"weights truncated", W, truncate(W)},
		{"weights empty", W, put(W, nil)},
		{"weights not safetensors", W, put(W, []byte("this is not a checkpoint at all"))},
		{"weights of another shape", W, put(W, otherWeights)},
		{"weights lacking tensors", W, put(W, partialWeights)},
		{"weights with NaN", W, put(W, nanWeights)},
		{"optimizer missing", O, remove(O)},
		{"optimizer truncated", O, truncate(O)},
		{"optimizer not safetensors", O, put(O, []byte("{}"))},
		{"optimizer of another model", O, put(O, otherState)},
		{"optimizer of another kind", O, put(O, adamState)},
		{"optimizer of integers", O, put(O, i32State)},
		{"config null", C, func(t *testing.T, run string, _ bool) { os.WriteFile(filepath.Join(run, C), []byte("null"), 0o644) }},
		{"config {}", C, func(t *testing.T, run string, _ bool) { os.WriteFile(filepath.Join(run, C), []byte("{}"), 0o644) }},
		{"config not JSON", C, func(t *testing.T, run string, _ bool) { os.WriteFile(filepath.Join(run, C), []byte("{{"), 0o644) }},
		{"config missing", C, remove(C)},
	}
	// Damage only the new layout can have.
	newOnly := []damage{
		{"checkpoint not JSON", runfolder.Checkpoint, func(t *testing.T, run string, _ bool) {
			os.WriteFile(filepath.Join(run, runfolder.Checkpoint), []byte("{"), 0o644)
		}},
		{"checkpoint null", runfolder.Checkpoint, func(t *testing.T, run string, _ bool) {
			os.WriteFile(filepath.Join(run, runfolder.Checkpoint), []byte("null"), 0o644)
		}},
		{"history changed after saving", H, func(t *testing.T, run string, _ bool) {
			os.WriteFile(filepath.Join(run, checkpoint(t, run)["dir"].(string), H), hist(ep(0, "")+","+ep(1, "")), 0o644)
		}},
		{"history with more epochs than saved", H, put(H, hist(ep(0, "")+","+ep(1, "")+","+ep(2, "")))},
		{"epoch folder missing", W, func(t *testing.T, run string, _ bool) {
			os.RemoveAll(filepath.Join(run, checkpoint(t, run)["dir"].(string)))
		}},
		{"history.json put at the top", H, func(t *testing.T, run string, _ bool) {
			os.WriteFile(filepath.Join(run, H), []byte("null"), 0o644)
		}},
	}
	for _, layout := range []string{"new", "old"} {
		list := cases
		if layout == "new" {
			list = append(append([]damage{}, cases...), newOnly...)
		}
		for _, c := range list {
			t.Run(layout+"/"+c.name, func(t *testing.T) {
				dir := t.TempDir()
				s := newRunSetup(t, dir)
				run := s.folder(t)
				copyDir(t, saved, run)
				if layout == "old" {
					toLegacy(t, run)
				}
				c.do(t, run, layout == "old")
				for _, call := range []string{"Train", "LoadRun"} {
					m := s.model(t)
					fresh := s.model(t)
					var err error
					if call == "Train" {
						_, err = Train(m, s.train, s.val, s.cfg)
					} else {
						_, err = LoadRun(m, s.train, s.val, s.cfg)
					}
					if !errors.Is(err, ErrDamagedRun) {
						t.Fatalf("%s: err = %v, want ErrDamagedRun", call, err)
					}
					msg := err.Error()
					if !strings.Contains(msg, c.file) || !strings.Contains(msg, "Set Retrain") || !strings.Contains(msg, run) {
						t.Errorf("%s: the error does not name the folder, the file %s and the way out:\n%s", call, c.file, msg)
					}
					if !sameWeights(m, fresh) {
						t.Errorf("%s changed the model's weights although it failed", call)
					}
				}
				// Retrain is the way out.
				cfg := s.cfg
				cfg.Retrain, cfg.Epochs = true, 1
				h, err := Train(s.model(t), s.train, s.val, cfg)
				if err != nil || len(h.Epochs) != 1 {
					t.Errorf("Retrain after the damage: %v", err)
				}
			})
		}
	}
}

func itoa(n int) string { return string(rune('0' + n)) }
