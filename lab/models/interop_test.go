package models

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golab/bench/torchref"
	"golab/lab"
)

// Interoperability of checkpoints with the official safetensors library
// (safetensors.torch), both ways, for the three models. They need a Python
// with torch and safetensors: `make test` provides one (TORCH_PYTHON).

// TestSafetensorsFromPyTorch loads files that safetensors.torch.save_file
// wrote from a PyTorch state_dict (ImprovedCNN's with BatchNorm's int64
// num_batches_tracked; floating tensors in F32, F16, BF16 and F64) and
// checks the logits against PyTorch's on the same values; a tensor of a
// dtype the lab cannot use is refused with its name and dtype, or, for a
// float dtype, converted.
func TestSafetensorsFromPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the PyTorch interop tests run in the full go test")
	}
	py := torchPython(t, "torch", "safetensors")
	dir := t.TempDir()
	images := filepath.Join(dir, "images.bin")
	writeRecords(t, images, "test_batch.bin", 6, 1)
	b := readBatch(t, images)

	cmd := exec.Command(py, "testdata/st_export.py", "--torchref", torchref.Dir(), "--out", dir, "--images", images)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("st_export.py: %v\n%s", err, stderr.String())
	}
	lines := jsonLines(t, out)
	if len(lines) != 1+3*4+2 {
		t.Fatalf("st_export.py printed %d lines, want %d:\n%s", len(lines), 1+3*4+2, out)
	}
	t.Logf("written by torch %s, safetensors %s", field[string](t, lines[0], "torch"), field[string](t, lines[0], "safetensors"))
	build := map[string]func(uint64) (*lab.Model, error){}
	for _, c := range builders {
		build[c.name] = c.build
	}
	for _, l := range lines[1:] {
		name, dtype, file := field[string](t, l, "model"), field[string](t, l, "dtype"), field[string](t, l, "file")
		t.Run(name+"/"+dtype, func(t *testing.T) {
			m, err := build[name](99)
			if err != nil {
				t.Fatal(err)
			}
			if _, bad := l["unsupported"]; bad {
				checkRefused(t, m, file, field[string](t, l, "unsupported"), dtype, l)
				return
			}
			if err := m.Load(file); err != nil {
				t.Fatalf("loading %s (%s tensors, written by safetensors.torch.save_file): %v", filepath.Base(file), dtype, err)
			}
			compareLogits(t, dtype+" file from safetensors.torch", m, b, field[[][]float64](t, l, "logits"))
		})
	}
}

// checkRefused checks that loading a file with tensor in an unusable dtype
// fails naming both and leaves the model as it was, or, where the lab
// converts the dtype (a float one), that the tensor holds the file's value.
func checkRefused(t *testing.T, m *lab.Model, file, tensor, dtype string, l map[string]json.RawMessage) {
	t.Helper()
	before := map[string][]float32{}
	for _, p := range m.Params() {
		before[p.Name] = slices.Clone(p.Data())
	}
	err := m.Load(file)
	if err == nil {
		want, ok := l["value"]
		if !ok {
			t.Fatalf("%s: a %s tensor %q loaded without complaint; it should be refused", filepath.Base(file), dtype, tensor)
		}
		v := field[float64](t, l, "value")
		for i, x := range m.Param(tensor).Data() {
			if float64(x) != v {
				t.Fatalf("%s: %s converted from %s holds %v at %d, want %s", filepath.Base(file), tensor, dtype, x, i, want)
			}
		}
		t.Logf("%s: the %s tensor %q was converted to float32", filepath.Base(file), dtype, tensor)
		return
	}
	msg := err.Error()
	t.Logf("refused: %v", err)
	if !strings.Contains(msg, tensor) || !strings.Contains(msg, dtype) {
		t.Errorf("the error should name the tensor %q and its dtype %s: %v", tensor, dtype, err)
	}
	if strings.Contains(msg, "missing") {
		t.Errorf("the %s tensor %q is in the file; the error should not call it missing: %v", dtype, tensor, err)
	}
	for _, p := range m.Params() {
		if !slices.Equal(p.Data(), before[p.Name]) {
			t.Errorf("a refused Load changed %s", p.Name)
		}
	}
}

// TestSafetensorsToPyTorch saves the three models with model.Save and loads
// the files with safetensors.torch.load_file and load_state_dict(strict=True)
// (torchref.py logits --loader official), where only num_batches_tracked may
// be absent, and checks PyTorch's logits against the lab's.
func TestSafetensorsToPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the PyTorch interop tests run in the full go test")
	}
	py := torchPython(t, "torch", "safetensors")
	dir := t.TempDir()
	images := filepath.Join(dir, "images.bin")
	writeRecords(t, images, "test_batch.bin", 6, 2)
	b := readBatch(t, images)
	ms, lines := labWeightsInPyTorch(t, py, dir, images, 30, "--loader", "official")
	for _, l := range lines {
		name := field[string](t, l, "model")
		m := ms[name]
		if loader := field[string](t, l, "loader"); loader != "safetensors.torch" {
			t.Errorf("%s: read with %s, not the official library", name, loader)
		}
		dtypes := field[[]string](t, l, "dtypes")
		if !slices.Equal(dtypes, []string{"F32"}) && !slices.Equal(dtypes, []string{"F32", "I64"}) {
			t.Errorf("%s: the file holds dtypes %v; golab writes F32 (and I64 counters)", name, dtypes)
		}
		if meta := field[map[string]string](t, l, "metadata"); meta["model"] != m.Name {
			t.Errorf("%s: metadata %v, want model %q", name, meta, m.Name)
		}
		if absent := field[[]string](t, l, "absent_counters"); len(absent) > 0 {
			t.Logf("%s: golab's file has no %s; load_state_dict(strict=True) took the file as it is", m.Label, strings.Join(absent, ", "))
		}
		compareLogits(t, "lab file read by safetensors.torch", m, b, field[[][]float64](t, l, "logits"))
	}
}
