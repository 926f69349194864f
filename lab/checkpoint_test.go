package lab

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golab/lab/internal/safetensors"
)

// torchNet is the network of testdata/torch_state_dict.py.
func torchNet(t *testing.T) *Model {
	t.Helper()
	m, err := BuildCNN("torchnet", 1, Conv2d(3, 4, 3, Stride(2)), BatchNorm2d(4), ReLU(), MaxPool2d(3), Flatten(), Linear(Auto, 10))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLoadsPyTorchStateDicts loads files written by
// safetensors.torch.save_file(model.state_dict()) in every float dtype,
// with BatchNorm's int64 num_batches_tracked, and checks the logits against
// PyTorch's.
func TestLoadsPyTorchStateDicts(t *testing.T) {
	x := make([]float32, 2*ImageBytes)
	for i := range x {
		x[i] = float32((i*37)%101)/50 - 1
	}
	batch := &Batch{X: x, Labels: []int{0, 0}}
	for _, dt := range []string{"f32", "f16", "bf16", "f64"} {
		path := filepath.Join("testdata", "torch_"+dt+".safetensors")
		m := torchNet(t)
		if err := m.Load(path); err != nil {
			t.Fatalf("%s: %v", dt, err)
		}
		f, err := safetensors.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var want [][]float64
		if err := json.Unmarshal([]byte(f.Metadata["logits"]), &want); err != nil {
			t.Fatal(err)
		}
		got, err := Logits(m, batch)
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for i := range want {
			for j := range want[i] {
				worst = math.Max(worst, math.Abs(float64(got[i][j])-want[i][j]))
			}
		}
		if worst > 1e-5 {
			t.Errorf("%s: logits differ from PyTorch's by up to %g", dt, worst)
		}
	}
}

// withTensor rewrites a safetensors file with one tensor replaced or added.
func withTensor(t *testing.T, src string, tn safetensors.Tensor) string {
	t.Helper()
	f, err := safetensors.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for _, x := range f.Tensors {
		if x.Name != tn.Name {
			ts = append(ts, x)
		}
	}
	b, err := safetensors.Encode(append(ts, tn), nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	os.WriteFile(path, b, 0o644)
	return path
}

func TestLoadNamesOtherDtypes(t *testing.T) {
	src := filepath.Join("testdata", "torch_f32.safetensors")
	i32 := make([]byte, 40)
	for _, c := range []struct {
		name   string
		tensor safetensors.Tensor
		want   string
	}{
		{"an I32 weight", safetensors.Tensor{Name: "5.bias", Dtype: "I32", Shape: []int{10}, Data: i32},
			`tensor "5.bias" has dtype I32, which cannot be read as float32 (golab converts F32, F16, BF16 and F64)`},
		{"an F8 weight", safetensors.Tensor{Name: "5.bias", Dtype: "F8_E4M3", Shape: []int{10}, Data: make([]byte, 10)},
			`tensor "5.bias" has dtype F8_E4M3`},
		{"a float batch count", safetensors.Tensor{Name: "1.num_batches_tracked", Dtype: "F32", Shape: []int{}, Data: make([]byte, 4)},
			`"1.num_batches_tracked" is F32 of shape [], where PyTorch's num_batches_tracked is one integer (I64)`},
		{"an extra integer tensor", safetensors.Tensor{Name: "9.num_batches_tracked", Dtype: "I64", Shape: []int{}, Data: make([]byte, 8)},
			`tensor "9.num_batches_tracked" (I64, shape []) in the file is not part of the model`},
	} {
		path := withTensor(t, src, c.tensor)
		m := torchNet(t)
		before := append([]float32(nil), m.Param("5.bias").Data()...)
		err := m.Load(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "missing") {
			t.Errorf("%s: err = %v\nwant it to say %q, and nothing missing", c.name, err, c.want)
		}
		if !equalF32(before, m.Param("5.bias").Data()) {
			t.Errorf("%s: the failed Load changed the model", c.name)
		}
	}
}

func TestLoadBadFiles(t *testing.T) {
	dir := t.TempDir()
	n := 0
	raw := func(header string, data int) string {
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
		b = append(append(b, header...), make([]byte, data)...)
		n++
		p := filepath.Join(dir, fmt.Sprintf("f%d.safetensors", n))
		os.WriteFile(p, b, 0o644)
		return p
	}
	for _, c := range []struct {
		name, path, want string
	}{
		{"a directory", dir, "is a directory"},
		{"a missing file", filepath.Join(dir, "none.safetensors"), "the checkpoint " + filepath.Join(dir, "none.safetensors") + " does not exist"},
		{"a header that is a list", raw(`[1,2]`, 0), "its header is JSON but an array"},
		{"a header that is null", raw(`null`, 0), "its header is JSON but null"},
		{"negative dimensions", raw(`{"5.bias":{"dtype":"F32","shape":[-2,-5],"data_offsets":[0,40]}}`, 40), "negative dimension"},
		{"overflowing dimensions", raw(`{"5.bias":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}`, 0), "more values than any file can hold"},
		{"a truncated file", raw(`{"5.bias":{"dtype":"F32","shape":[10],"data_offsets":[0,40]}}`, 12), "outside the file's 12 data bytes (truncated?)"},
	} {
		m := torchNet(t)
		err := m.Load(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "lab: ") {
			t.Errorf("%s: err = %v, want it to say %q", c.name, err, c.want)
		}
	}
}
