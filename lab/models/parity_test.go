package models

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golab/lab"
)

const python = "/usr/bin/python3"

// torchRef returns the path of the PyTorch reference, or skips the test
// where it or PyTorch is missing.
func torchRef(t *testing.T) string {
	t.Helper()
	ref := os.Getenv("TORCH_REF")
	if ref == "" {
		ref = "../../../shared/bench/torch_ref.py"
	}
	if _, err := os.Stat(ref); err != nil {
		t.Skipf("PyTorch reference not found at %s (set TORCH_REF)", ref)
	}
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		t.Skipf("%s -c 'import torch' fails (%v): install python3-torch to run the parity test", python, err)
	}
	return ref
}

// parityData writes a small CIFAR-10 folder for torch_ref.py: the first
// test images of the shared copy when it is there, else random images.
func parityData(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	const rec = 3073
	test := make([]byte, n*rec)
	src := os.Getenv("CIFAR10_DIR")
	if src == "" {
		src = "../../../shared/cifar-10-batches-bin"
	}
	if b, err := os.ReadFile(filepath.Join(src, "test_batch.bin")); err == nil && len(b) >= n*rec {
		copy(test, b[:n*rec])
	} else {
		r := rand.New(rand.NewPCG(1, 1))
		for i := range test {
			test[i] = byte(r.IntN(256))
		}
		for i := range n {
			test[i*rec] = byte(i % 10)
		}
	}
	// 5 × 220 training records: torch_ref.py holds out 1,000 for
	// validation and trains on the 100 left when asked to.
	for i := 1; i <= 5; i++ {
		name := "data_batch_" + string(rune('0'+i)) + ".bin"
		train := make([]byte, 220*rec)
		if b, err := os.ReadFile(filepath.Join(src, name)); err == nil && len(b) >= len(train) {
			copy(train, b)
		} else {
			r := rand.New(rand.NewPCG(2, uint64(i)))
			for j := range train {
				train[j] = byte(r.IntN(256))
			}
			for j := range 220 {
				train[j*rec] = byte(j % 10)
			}
		}
		os.WriteFile(filepath.Join(dir, name), train, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "test_batch.bin"), test, 0o644)
	return dir
}

// TestPyTorchParity checks that the same weights give the same logits in
// the lab and in PyTorch, for all three models, within 1e-4.
func TestPyTorchParity(t *testing.T) {
	ref := torchRef(t)
	const n = 6
	dir := parityData(t, n)
	for _, c := range []struct {
		name  string
		build func() (*lab.Model, error)
	}{
		{"cnn", func() (*lab.Model, error) { return CNNModel(Seed(3)) }},
		{"dropout", func() (*lab.Model, error) { return DropoutCNN(0.5, Seed(4)) }},
		{"improved", func() (*lab.Model, error) { return ImprovedCNN(Seed(5)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := c.build()
			if err != nil {
				t.Fatal(err)
			}
			// Move BatchNorm running statistics away from their initial
			// values, so that evaluation mode is really compared, and
			// double the weights, so that logits are of order 1 rather
			// than 0.05 and 1e-4 is a strict bound.
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
			b := testBatch(t, dir, n)
			// Lab → PyTorch: our weights, their forward pass.
			w := filepath.Join(t.TempDir(), c.name+".safetensors")
			if err := m.Save(w); err != nil {
				t.Fatal(err)
			}
			want := runRef(t, ref, "--data", dir, "--model", c.name, "--load-weights", w, "--epochs", "0", "--logits-of", "6")
			compareLogits(t, "lab weights", m, b, want)

			// PyTorch → lab: weights PyTorch trained (BatchNorm running
			// statistics included), loaded here.
			tw := filepath.Join(t.TempDir(), c.name+"-torch.safetensors")
			want = runRef(t, ref, "--data", dir, "--model", c.name, "--epochs", "1", "--save-weights", tw, "--logits-of", "6")
			if err := m.Load(tw); err != nil {
				t.Fatal(err)
			}
			compareLogits(t, "PyTorch-trained weights", m, b, want)
		})
	}
}

// runRef runs torch_ref.py and returns the logits it prints.
func runRef(t *testing.T, ref string, args ...string) [][]float64 {
	t.Helper()
	out, err := exec.Command(python, append([]string{ref}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("torch_ref.py %v: %v\n%s", args, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		var v struct {
			Logits [][]float64 `json:"logits"`
		}
		if strings.HasPrefix(line, `{"logits"`) && json.Unmarshal([]byte(line), &v) == nil {
			return v.Logits
		}
	}
	t.Fatalf("torch_ref.py %v printed no logits:\n%s", args, out)
	return nil
}

func compareLogits(t *testing.T, what string, m *lab.Model, b *lab.Batch, want [][]float64) {
	t.Helper()
	got, err := lab.Logits(m, b)
	if err != nil {
		t.Fatal(err)
	}
	worst, scale := 0.0, 0.0
	for i := range want {
		for j := range want[i] {
			worst = math.Max(worst, math.Abs(float64(got[i][j])-want[i][j]))
			scale = math.Max(scale, math.Abs(want[i][j]))
		}
	}
	t.Logf("%s, %s: largest logit difference %.2g (largest logit %.3g) over %d images", m.Label, what, worst, scale, len(want))
	if worst > 1e-4 {
		t.Errorf("%s, %s: logits differ from PyTorch's by up to %g (> 1e-4)", m.Label, what, worst)
	}
}

// testBatch reads the first n images of the folder's test batch,
// normalized as torch_ref.py does.
func testBatch(t *testing.T, dir string, n int) *lab.Batch {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "test_batch.bin"))
	if err != nil {
		t.Fatal(err)
	}
	pix := make([]byte, 0, n*lab.ImageBytes)
	labels := make([]uint8, n)
	for i := range n {
		rec := raw[i*3073 : (i+1)*3073]
		labels[i] = rec[0]
		pix = append(pix, rec[1:]...)
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
