package models

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golab/bench/torchref"
	"golab/lab"
)

// The tests here compare the lab with golab's own PyTorch reference
// (bench/torchref), run by $TORCH_PYTHON or the first Python found with
// torch (torchref.FindPython). Without one they skip, saying which Pythons
// were tried; with $TORCH_PYTHON set to an unusable Python they fail.

// torchPython returns a Python that imports all of modules, or skips.
func torchPython(t *testing.T, modules ...string) string {
	t.Helper()
	py, err := torchref.FindPython(modules...)
	if torchref.IsNotFound(err) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return py
}

// runRef runs torchref.py and returns the JSON lines it prints.
func runRef(t *testing.T, python string, args ...string) []map[string]json.RawMessage {
	t.Helper()
	out, err := torchref.Run(python, args...)
	if err != nil {
		t.Fatal(err)
	}
	return jsonLines(t, out)
}

func jsonLines(t *testing.T, out []byte) []map[string]json.RawMessage {
	t.Helper()
	var lines []map[string]json.RawMessage
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func field[T any](t *testing.T, m map[string]json.RawMessage, key string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(m[key], &v); err != nil {
		t.Fatalf("field %q of %v: %v", key, m, err)
	}
	return v
}

var builders = []struct {
	name  string
	build func(seed uint64) (*lab.Model, error)
}{
	{"cnn", func(s uint64) (*lab.Model, error) { return CNNModel(Seed(s)) }},
	{"dropout", func(s uint64) (*lab.Model, error) { return DropoutCNN(0.5, Seed(s)) }},
	{"improved", func(s uint64) (*lab.Model, error) { return ImprovedCNN(Seed(s)) }},
}

// cifarSource is where test images come from: $CIFAR10_DIR or the shared
// copy beside the checkout; random images stand in when neither is there.
func cifarSource() string {
	if d := os.Getenv("CIFAR10_DIR"); d != "" {
		return d
	}
	return "../../../shared/cifar-10-batches-bin"
}

// writeRecords writes n CIFAR-10 records (label byte + 3,072 pixels) to
// path: the first n of the named batch file of the CIFAR-10 copy when it is
// there, else random ones drawn with seed.
func writeRecords(t *testing.T, path, batch string, n int, seed uint64) {
	t.Helper()
	const rec = 1 + lab.ImageBytes
	b := make([]byte, n*rec)
	if src, err := os.ReadFile(filepath.Join(cifarSource(), batch)); err == nil && len(src) >= len(b) {
		copy(b, src)
	} else {
		r := rand.New(rand.NewPCG(seed, 1))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		for i := range n {
			b[i*rec] = byte(i % 10)
		}
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readBatch reads a records file as a batch, normalized as the lab trains.
func readBatch(t *testing.T, path string) *lab.Batch {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const rec = 1 + lab.ImageBytes
	n := len(raw) / rec
	pix := make([]byte, 0, n*lab.ImageBytes)
	labels := make([]uint8, n)
	for i := range n {
		labels[i] = raw[i*rec]
		pix = append(pix, raw[i*rec+1:(i+1)*rec]...)
	}
	d, err := lab.NewDataset("test", lab.DefaultClasses, pix, labels)
	if err != nil {
		t.Fatal(err)
	}
	if d, err = d.Normalize(lab.CIFARMean, lab.CIFARStd); err != nil {
		t.Fatal(err)
	}
	positions := make([]int, n)
	for i := range positions {
		positions[i] = i
	}
	return d.Batch(positions, nil)
}

// perturb moves BatchNorm's running statistics away from their initial
// values, so that evaluation mode is really compared, and doubles the
// weights, so that logits are of order 1 rather than 0.05 and 1e-4 is a
// strict bound.
func perturb(m *lab.Model) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, p := range m.Params() {
		stat := strings.HasSuffix(p.Name, "running_mean") || strings.HasSuffix(p.Name, "running_var")
		for i := range p.Data() {
			if stat {
				p.Data()[i] = 0.2 + r.Float32()
			} else if strings.HasSuffix(p.Name, "weight") && len(p.Shape) > 1 {
				p.Data()[i] *= 2
			}
		}
	}
}

// compareLogits checks the lab's logits on b against want: the largest
// difference must be within 1e-4 of the largest logit (logits of order 1
// here, from doubled weights; 0.05 from freshly trained ones).
func compareLogits(t *testing.T, what string, m *lab.Model, b *lab.Batch, want [][]float64) float64 {
	t.Helper()
	got, err := lab.Logits(m, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows of logits from the lab, %d from PyTorch", what, len(got), len(want))
	}
	worst, scale := 0.0, 0.0
	for i := range want {
		for j := range want[i] {
			worst = math.Max(worst, math.Abs(float64(got[i][j])-want[i][j]))
			scale = math.Max(scale, math.Abs(want[i][j]))
		}
	}
	t.Logf("%s, %s: largest logit difference %.2g (largest logit %.3g) over %d images", m.Label, what, worst, scale, len(want))
	if scale < 1e-3 {
		t.Errorf("%s, %s: PyTorch's logits are all below 1e-3; the comparison would say nothing", m.Label, what)
	}
	if worst > 1e-4*scale {
		t.Errorf("%s, %s: logits differ from PyTorch's by up to %g, more than 1e-4 of the largest logit %g", m.Label, what, worst, scale)
	}
	return worst
}

// TestPyTorchParity checks that the same weights give the same logits in
// the lab and in PyTorch, for all three models, within 1e-4: the lab's
// weights in PyTorch, and weights PyTorch trained (BatchNorm running
// statistics included) in the lab.
func TestPyTorchParity(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the PyTorch parity tests run in the full go test")
	}
	py := torchPython(t, "torch")
	dir := t.TempDir()
	images := filepath.Join(dir, "images.bin")
	writeRecords(t, images, "test_batch.bin", 6, 1)
	b := readBatch(t, images)
	// A small training folder: 5 × 40 records, of which torchref.py holds
	// out 100 for validation and trains one epoch on the 100 left.
	data := filepath.Join(dir, "data")
	os.Mkdir(data, 0o755)
	for i := 1; i <= 5; i++ {
		name := fmt.Sprintf("data_batch_%d.bin", i)
		writeRecords(t, filepath.Join(data, name), name, 40, uint64(1+i))
	}

	// Lab → PyTorch: our weights, their forward pass.
	labModels, lines := labWeightsInPyTorch(t, py, dir, images, 3)
	for _, l := range lines {
		name := field[string](t, l, "model")
		compareLogits(t, "lab weights in PyTorch", labModels[name], b, field[[][]float64](t, l, "logits"))
	}

	// PyTorch → lab: weights PyTorch trained, loaded here.
	for _, c := range builders {
		t.Run(c.name, func(t *testing.T) {
			tw := filepath.Join(dir, c.name+"-torch.safetensors")
			lines := runRef(t, py, "train", "--data", data, "--model", c.name, "--epochs", "1", "--val", "100",
				"--no-test", "--save-weights", tw, "--logits-of", images)
			if len(lines) != 1 {
				t.Fatalf("torchref.py train printed %d logits lines, want 1", len(lines))
			}
			m := labModels[c.name]
			if err := m.Load(tw); err != nil {
				t.Fatal(err)
			}
			compareLogits(t, "PyTorch-trained weights", m, b, field[[][]float64](t, lines[0], "logits"))
		})
	}
}

// labWeightsInPyTorch saves the three models (seeds seed, seed+1, seed+2,
// perturbed) in dir and returns them with the JSON lines of torchref.py
// logits on images for their files, one run for all three; extra goes
// before the files (e.g. --loader official).
func labWeightsInPyTorch(t *testing.T, py, dir, images string, seed uint64, extra ...string) (map[string]*lab.Model, []map[string]json.RawMessage) {
	t.Helper()
	ms := map[string]*lab.Model{}
	args := append([]string{"logits", "--images", images}, extra...)
	for i, c := range builders {
		m, err := c.build(seed + uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		perturb(m)
		w := filepath.Join(dir, c.name+".safetensors")
		if err := m.Save(w); err != nil {
			t.Fatal(err)
		}
		ms[c.name] = m
		args = append(args, c.name+"="+w)
	}
	lines := runRef(t, py, args...)
	if len(lines) != len(builders) {
		t.Fatalf("torchref.py logits printed %d results for %d weights files", len(lines), len(builders))
	}
	return ms, lines
}

// TestPyTorchStateDict checks that the reference's state_dict names and
// shapes are the lab's parameter names and shapes, in the same order, with
// BatchNorm's num_batches_tracked the only tensor the lab does not keep.
func TestPyTorchStateDict(t *testing.T) {
	py := torchPython(t, "torch")
	out, err := torchref.Run(py, "state-dict", "cnn", "dropout", "improved")
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Name  string `json:"name"`
		Shape []int  `json:"shape"`
		Dtype string `json:"dtype"`
	}
	var sd map[string][]entry
	if err := json.Unmarshal(out, &sd); err != nil {
		t.Fatalf("state-dict output: %v\n%s", err, out)
	}
	for _, c := range builders {
		m, err := c.build(0)
		if err != nil {
			t.Fatal(err)
		}
		var torch []entry
		for _, e := range sd[c.name] {
			if strings.HasSuffix(e.Name, ".num_batches_tracked") {
				if e.Dtype != "int64" {
					t.Errorf("%s: %s is %s, want int64", c.name, e.Name, e.Dtype)
				}
				continue
			}
			torch = append(torch, e)
		}
		var ours []entry
		for _, p := range m.Params() {
			if !strings.HasSuffix(p.Name, ".num_batches_tracked") {
				ours = append(ours, entry{p.Name, p.Shape, "float32"})
			}
		}
		if len(torch) != len(ours) {
			t.Errorf("%s: PyTorch has %d tensors besides num_batches_tracked, the lab %d", c.name, len(torch), len(ours))
		}
		for i := range min(len(torch), len(ours)) {
			if a, b := torch[i], ours[i]; a.Name != b.Name || !slices.Equal(a.Shape, b.Shape) || a.Dtype != b.Dtype {
				t.Errorf("%s: tensor %d is %s %v %s in PyTorch but %s %v %s in the lab", c.name, i, a.Name, a.Shape, a.Dtype, b.Name, b.Shape, b.Dtype)
			}
		}
	}
}
