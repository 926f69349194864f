package lab

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// The safetensors format (Hugging Face's, read by torch_ref.py and
// safetensors.torch): an 8-byte little-endian header length, a JSON header
// naming each tensor's dtype, shape and byte range, then the raw data. It is
// small enough to write by hand, which spares a dependency.

type stEntry struct {
	Dtype   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

type tensorData struct {
	name  string
	shape []int
	data  []float32
}

// writeSafetensors writes float32 tensors atomically: to a temporary file
// that replaces path only once complete.
func writeSafetensors(path string, tensors []tensorData, meta map[string]string) error {
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var off int64
	for _, t := range tensors {
		n := int64(len(t.data)) * 4
		header[t.name] = stEntry{Dtype: "F32", Shape: t.shape, Offsets: [2]int64{off, off + n}}
		off += n
	}
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("lab: saving %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	binary.Write(w, binary.LittleEndian, uint64(len(h)))
	w.Write(h)
	buf := make([]byte, 4)
	for _, t := range tensors {
		for _, v := range t.data {
			binary.LittleEndian.PutUint32(buf, math.Float32bits(v))
			w.Write(buf)
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("lab: saving %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("lab: saving %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// readSafetensors reads every float32 tensor of a safetensors file. Tensors
// of other dtypes (BatchNorm's int64 num_batches_tracked) are skipped.
func readSafetensors(path string) (map[string]tensorData, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("lab: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("lab: %s is not a valid safetensors file: %s", path, fmt.Sprintf(format, a...))
	}
	var n uint64
	if err := binary.Read(f, binary.LittleEndian, &n); err != nil {
		return nil, nil, bad("it is shorter than its 8-byte header length")
	}
	if n > uint64(st.Size())-8 || n > 100<<20 {
		return nil, nil, bad("its header claims %d bytes but the file has %d", n, st.Size())
	}
	hb := make([]byte, n)
	if _, err := io.ReadFull(f, hb); err != nil {
		return nil, nil, bad("truncated header")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hb, &raw); err != nil {
		return nil, nil, bad("header is not JSON: %v", err)
	}
	dataLen := st.Size() - 8 - int64(n)
	var meta map[string]string
	out := map[string]tensorData{}
	for name, msg := range raw {
		if name == "__metadata__" {
			json.Unmarshal(msg, &meta)
			continue
		}
		var e stEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, bad("entry %q: %v", name, err)
		}
		if e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] || e.Offsets[1] > dataLen {
			return nil, nil, bad("tensor %q lies at bytes %v, outside the %d data bytes", name, e.Offsets, dataLen)
		}
		if e.Dtype != "F32" {
			continue
		}
		count := 1
		for _, d := range e.Shape {
			count *= d
		}
		if int64(count)*4 != e.Offsets[1]-e.Offsets[0] {
			return nil, nil, bad("tensor %q of shape %v needs %d bytes, has %d", name, e.Shape, count*4, e.Offsets[1]-e.Offsets[0])
		}
		b := make([]byte, e.Offsets[1]-e.Offsets[0])
		if _, err := f.ReadAt(b, 8+int64(n)+e.Offsets[0]); err != nil {
			return nil, nil, bad("tensor %q: %v", name, err)
		}
		d := make([]float32, count)
		for i := range d {
			d[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		out[name] = tensorData{name: name, shape: e.Shape, data: d}
	}
	return out, meta, nil
}

// Save writes the model's weights and buffers (BatchNorm running
// statistics included) to a safetensors file, with PyTorch's state_dict
// names and shapes: torch_ref.py and model.load_state_dict take it as is.
func (m *Model) Save(path string) error {
	var ts []tensorData
	for _, p := range m.params {
		ts = append(ts, tensorData{name: p.Name, shape: p.Shape, data: p.Data()})
	}
	return writeSafetensors(path, ts, map[string]string{"model": m.Name, "label": m.Label, "format": "pt"})
}

// Load reads weights saved by Save or by PyTorch (state_dict names). Every
// tensor of the model must be in the file with the same shape; the model is
// left unchanged when anything does not fit.
func (m *Model) Load(path string) error {
	ts, _, err := readSafetensors(path)
	if err != nil {
		return err
	}
	// Shape mismatches first: they say most about what went wrong.
	var shapes, missing, extra []string
	for _, p := range m.params {
		t, ok := ts[p.Name]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("tensor %q (shape %v) is missing", p.Name, p.Shape))
		case !slices.Equal(t.shape, p.Shape):
			shapes = append(shapes, fmt.Sprintf("tensor %q has shape %v in the file but %v in the model", p.Name, t.shape, p.Shape))
		}
	}
	for name := range ts {
		if m.Param(name) == nil {
			extra = append(extra, fmt.Sprintf("tensor %q in the file is not part of the model", name))
		}
	}
	slices.Sort(extra)
	if problems := slices.Concat(shapes, missing, extra); len(problems) > 0 {
		return fmt.Errorf("lab: %s does not fit model %s: %s", path, m.Label, joinMax(problems, 5))
	}
	for _, p := range m.params {
		copy(p.Data(), ts[p.Name].data)
	}
	return nil
}

func joinMax(s []string, n int) string {
	if len(s) > n {
		return fmt.Sprintf("%s; and %d more", joinMax(s[:n], n), len(s)-n)
	}
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "; "
		}
		out += x
	}
	return out
}
