package lab

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"

	"golab/lab/internal/atomicfile"
	"golab/lab/internal/safetensors"
)

// Save writes the model's weights and buffers (BatchNorm running
// statistics included) to a safetensors file, with PyTorch's state_dict
// names and shapes, replacing path atomically.
//
// safetensors.torch.load_file reads it, and model.load_state_dict(sd,
// strict=True) takes it. golab does not count batches, so the file has no
// BatchNorm num_batches_tracked; PyTorch's BatchNorm supplies the count
// itself when a state_dict without version metadata (as load_file returns)
// lacks it (checked with PyTorch 1.13). The count only matters to a
// BatchNorm built with momentum=None.
func (m *Model) Save(path string) error {
	b, err := m.encodeWeights()
	if err != nil {
		return err
	}
	if err := (atomicfile.FS{}).WriteFile(path, b); err != nil {
		return fmt.Errorf("lab: saving %s: %w", path, err)
	}
	return nil
}

func (m *Model) encodeWeights() ([]byte, error) {
	ts := make([]safetensors.Float32s, len(m.params))
	for i, p := range m.params {
		ts[i] = safetensors.Float32s{Name: p.Name, Shape: p.Shape, Data: p.Data()}
	}
	b, err := safetensors.EncodeFloat32(ts, map[string]string{"model": m.Name, "label": m.Label, "format": "pt"})
	if err != nil {
		return nil, fmt.Errorf("lab: encoding the weights of %s: %w", m.Label, err)
	}
	return b, nil
}

// Load reads weights saved by Save or by PyTorch
// (safetensors.torch.save_file(model.state_dict(), path)). Every tensor of
// the model must be in the file with the same shape; F16, BF16 and F64
// tensors are converted to float32, BatchNorm's integer
// num_batches_tracked is accepted and ignored, and a tensor of any other
// dtype is refused by name. The model is left unchanged when anything does
// not fit.
func (m *Model) Load(path string) error {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("lab: the checkpoint %w", err)
		}
		return fmt.Errorf("lab: %w", err)
	}
	vals, problems := m.fit(f)
	if len(problems) > 0 {
		return fmt.Errorf("lab: %s does not fit model %s: %s", path, m.Label, joinMax(problems, 5))
	}
	m.setWeights(vals)
	return nil
}

func (m *Model) setWeights(vals [][]float32) {
	for i, p := range m.params {
		copy(p.Data(), vals[i])
	}
}

// fit matches a file's tensors to the model's: it returns the values of
// each of m.params, or what does not fit.
func (m *Model) fit(f *safetensors.File) (vals [][]float32, problems []string) {
	// Shape mismatches first: they say most about what went wrong.
	var shapes, dtypes, missing, extra []string
	vals = make([][]float32, len(m.params))
	for i, p := range m.params {
		t, ok := f.Tensor(p.Name)
		if !ok {
			missing = append(missing, fmt.Sprintf("tensor %q (shape %v) is missing", p.Name, p.Shape))
			continue
		}
		if !slices.Equal(t.Shape, p.Shape) {
			shapes = append(shapes, fmt.Sprintf("tensor %q has shape %v in the file but %v in the model", p.Name, t.Shape, p.Shape))
			continue
		}
		v, err := t.Float32()
		if err != nil {
			dtypes = append(dtypes, err.Error())
			continue
		}
		vals[i] = v
	}
	bn := map[string]bool{}
	for i, l := range m.layers {
		if c, ok := l.(counter); ok {
			bn[m.built[i].name+"."+c.batchCount()] = true
		}
	}
	for _, t := range f.Tensors {
		switch {
		case m.Param(t.Name) != nil:
		case bn[t.Name]:
			// PyTorch's batch count: one integer, which golab does not use.
			if _, err := t.Int64(); err != nil || t.Len() != 1 {
				dtypes = append(dtypes, fmt.Sprintf("tensor %q is %s of shape %v, where PyTorch's num_batches_tracked is one integer (I64)", t.Name, t.Dtype, t.Shape))
			}
		default:
			extra = append(extra, fmt.Sprintf("tensor %q (%s, shape %v) in the file is not part of the model", t.Name, t.Dtype, t.Shape))
		}
	}
	slices.Sort(extra)
	problems = slices.Concat(shapes, dtypes, missing, extra)
	if len(problems) > 0 {
		return nil, problems
	}
	return vals, nil
}

// finiteProblem names the first tensor holding a NaN or an infinity.
func finiteProblem(names []string, vals [][]float32) string {
	for i, v := range vals {
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Sprintf("holds %v in tensor %q", x, names[i])
			}
		}
	}
	return ""
}

func joinMax(s []string, n int) string {
	if len(s) > n {
		return fmt.Sprintf("%s; and %d more", strings.Join(s[:n], "; "), len(s)-n)
	}
	return strings.Join(s, "; ")
}
