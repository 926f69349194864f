package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// file builds a file from a header given as text and a data section.
func file(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestRoundTrip(t *testing.T) {
	in := []Tensor{
		FromFloat32("b", []int{2, 3}, []float32{1, -2, 3.5, 0, float32(math.Inf(1)), 1e-30}),
		FromFloat32("a", []int{}, []float32{7}),
		FromFloat32("empty", []int{0, 4}, nil),
		{Name: "count", Dtype: "I64", Shape: []int{}, Data: binary.LittleEndian.AppendUint64(nil, 12345)},
	}
	b, err := Encode(in, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(b); (8+n)%8 != 0 {
		t.Errorf("data starts at %d, not 8-byte aligned", 8+n)
	}
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["format"] != "pt" || len(f.Tensors) != 4 {
		t.Fatalf("decoded %d tensors, metadata %v", len(f.Tensors), f.Metadata)
	}
	for i, want := range in {
		got, ok := f.Tensor(want.Name)
		if !ok {
			t.Fatalf("tensor %q lost", want.Name)
		}
		if f.Tensors[i].Name != want.Name {
			t.Errorf("tensor %d is %q, want %q: data order not kept", i, f.Tensors[i].Name, want.Name)
		}
		if got.Dtype != want.Dtype || len(got.Shape) != len(want.Shape) || string(got.Data) != string(want.Data) {
			t.Errorf("tensor %q came back as %+v", want.Name, got)
		}
	}
	v, _ := f.Tensors[0].Float32()
	if v[2] != 3.5 || !math.IsInf(float64(v[4]), 1) {
		t.Errorf("F32 values %v", v)
	}
	n, err := f.Tensors[3].Int64()
	if err != nil || n[0] != 12345 {
		t.Errorf("I64 value %v, %v", n, err)
	}
	if _, err := f.Tensors[3].Float32(); !errors.As(err, new(*DtypeError)) || !strings.Contains(err.Error(), `"count" has dtype I64`) {
		t.Errorf("I64 read as float32: %v", err)
	}
}

func TestConversions(t *testing.T) {
	u16 := func(v ...uint16) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint16(b, x)
		}
		return b
	}
	nan := float32(math.NaN())
	for _, c := range []struct {
		dtype string
		data  []byte
		want  []float32
	}{
		// 1, -2, 65504 (largest), 2⁻¹⁴ (smallest normal), 2⁻²⁴ (smallest
		// subnormal), -0, +Inf, NaN, 0.333251953125 (0x3555)
		{"F16", u16(0x3c00, 0xc000, 0x7bff, 0x0400, 0x0001, 0x8000, 0x7c00, 0x7e00, 0x3555),
			[]float32{1, -2, 65504, 1.0 / (1 << 14), 1.0 / (1 << 24), float32(math.Copysign(0, -1)), float32(math.Inf(1)), nan, 0.333251953125}},
		{"BF16", u16(0x3f80, 0xc040, 0x7f80, 0x3eab), []float32{1, -3, float32(math.Inf(1)), 0.333984375}},
		{"F64", binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, math.Float64bits(0.1)), math.Float64bits(-1e-50)),
			[]float32{0.1, float32(math.Copysign(0, -1))}},
	} {
		tn := Tensor{Name: "w", Dtype: c.dtype, Shape: []int{len(c.want)}, Data: c.data}
		got, err := tn.Float32()
		if err != nil {
			t.Fatalf("%s: %v", c.dtype, err)
		}
		for i, w := range c.want {
			if math.Float32bits(got[i]) != math.Float32bits(w) && !(w != w && got[i] != got[i]) {
				t.Errorf("%s value %d: got %v (%#x), want %v (%#x)", c.dtype, i, got[i], math.Float32bits(got[i]), w, math.Float32bits(w))
			}
		}
	}
	big := Tensor{Name: "huge", Dtype: "F64", Shape: []int{1}, Data: binary.LittleEndian.AppendUint64(nil, math.Float64bits(1e300))}
	if _, err := big.Float32(); err == nil || !strings.Contains(err.Error(), `"huge"`) || !strings.Contains(err.Error(), "float32's range") {
		t.Errorf("F64 beyond float32: %v", err)
	}
	for _, dt := range []string{"I32", "U8", "BOOL", "F8_E4M3"} {
		tn := Tensor{Name: "x", Dtype: dt, Shape: []int{1}, Data: make([]byte, sizes[dt])}
		if _, err := tn.Float32(); err == nil || !strings.Contains(err.Error(), `tensor "x" has dtype `+dt) {
			t.Errorf("%s as float32: %v", dt, err)
		}
	}
}

func TestDamagedFiles(t *testing.T) {
	four := make([]byte, 4)
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "0 bytes, fewer than the 8"},
		{"seven bytes", make([]byte, 7), "7 bytes, fewer than the 8"},
		{"header past the end", file(`{}`, nil)[:9], "only 1 bytes follow"},
		{"header over the limit", binary.LittleEndian.AppendUint64(nil, MaxHeader+1), "limit"},
		{"header length 2^64-1", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "limit"},
		{"not JSON", file(`{"a":`, nil), "not valid JSON"},
		{"not JSON at all", file(`<html>`, nil), "not JSON"},
		{"JSON array", file(`[1,2]`, nil), "JSON but an array"},
		{"JSON string", file(`"x"`, nil), "JSON but a string"},
		{"JSON null", file(`null`, nil), "JSON but null"},
		{"JSON number", file(`12`, nil), "JSON but a number"},
		{"entry not an object", file(`{"w":[1]}`, nil), `entry of tensor "w" is [1]`},
		{"no dtype", file(`{"w":{"shape":[1],"data_offsets":[0,4]}}`, four), `"w" has no dtype`},
		{"unknown dtype", file(`{"w":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}}`, four), `dtype "F7", which is not a safetensors dtype`},
		{"no shape", file(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, four), `shape (missing)`},
		{"shape of strings", file(`{"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}`, four), `not a list of integers`},
		{"fractional shape", file(`{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, four), `not a list of integers`},
		{"negative dimension", file(`{"w":{"dtype":"F32","shape":[-1,-4],"data_offsets":[0,16]}}`, make([]byte, 16)), "negative dimension"},
		{"overflowing shape", file(`{"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}}`, nil), "more values than any file can hold"},
		{"shape beyond int64", file(`{"w":{"dtype":"F32","shape":[1e30],"data_offsets":[0,4]}}`, four), "not a list of integers"},
		{"one offset", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, four), "not two integers"},
		{"offsets past the end", file(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, four), "outside the file's 4 data bytes"},
		{"negative offset", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, four), "outside"},
		{"size mismatch", file(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, four), "needs 8 bytes but its data_offsets give 4"},
		{"gap", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "bytes [0, 4) of its data belong to no tensor"},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, four), "overlaps"},
		{"trailing bytes", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 6)), "last 2 bytes belong to no tensor"},
		{"metadata not strings", file(`{"__metadata__":{"epoch":3}}`, nil), "__metadata__ is not an object of strings"},
	} {
		_, err := Decode(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to say %q", c.name, err, c.want)
		}
		if err != nil && !errors.As(err, new(*FormatError)) {
			t.Errorf("%s: %T is not a *FormatError", c.name, err)
		}
	}
}

func TestReadFileNamesThePath(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(dir); err == nil || !strings.Contains(err.Error(), dir+" is not a valid safetensors file: it is a directory") {
		t.Errorf("directory: %v", err)
	}
	missing := filepath.Join(dir, "none.safetensors")
	if _, err := ReadFile(missing); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	short := filepath.Join(dir, "short.safetensors")
	os.WriteFile(short, []byte{1, 2}, 0o644)
	if _, err := ReadFile(short); err == nil || !strings.HasPrefix(err.Error(), short+" is not a valid safetensors file: it has 2 bytes") {
		t.Errorf("short file: %v", err)
	}
}

// FuzzDecode checks that no input makes Decode panic or return tensors
// whose data does not match their dtype and shape, and that what it accepts
// encodes back to a file that decodes the same.
func FuzzDecode(f *testing.F) {
	good, _ := Encode([]Tensor{FromFloat32("w", []int{2, 2}, []float32{1, 2, 3, 4}),
		{Name: "n", Dtype: "I64", Shape: []int{}, Data: make([]byte, 8)},
		{Name: "h", Dtype: "F16", Shape: []int{1}, Data: []byte{0, 0x3c}}}, map[string]string{"k": "v"})
	f.Add(good)
	f.Add(file(`{"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}}`, nil))
	f.Add(file(`{"w":{"dtype":"BF16","shape":[-1,-2],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(file(`null`, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(b)
		if err != nil {
			if !errors.As(err, new(*FormatError)) {
				t.Fatalf("error %v is a %T, not a *FormatError", err, err)
			}
			return
		}
		for _, tn := range file.Tensors {
			if len(tn.Data) != tn.Len()*sizes[tn.Dtype] {
				t.Fatalf("tensor %q: %d bytes for %d values of %s", tn.Name, len(tn.Data), tn.Len(), tn.Dtype)
			}
			if _, err := tn.Float32(); err != nil && !errors.As(err, new(*DtypeError)) && tn.Dtype != "F64" {
				t.Fatalf("tensor %q: %v", tn.Name, err)
			}
		}
		again, err := Encode(file.Tensors, file.Metadata)
		if err != nil {
			t.Fatalf("re-encoding an accepted file: %v", err)
		}
		back, err := Decode(again)
		if err != nil || len(back.Tensors) != len(file.Tensors) {
			t.Fatalf("re-encoded file does not decode the same: %v", err)
		}
	})
}

// TestEncodeFloat32 checks that EncodeFloat32 writes the file Encode writes
// of the same values, and refuses values that do not fill their shape.
func TestEncodeFloat32(t *testing.T) {
	in := []Float32s{
		{"b", []int{2, 3}, []float32{1, -2, 3.5, 0, float32(math.Inf(1)), 1e-30}},
		{"a", []int{}, []float32{7}},
		{"empty", []int{0, 4}, nil},
	}
	var ts []Tensor
	for _, f := range in {
		ts = append(ts, FromFloat32(f.Name, f.Shape, f.Data))
	}
	meta := map[string]string{"format": "pt"}
	want, err := Encode(ts, meta)
	if err != nil {
		t.Fatal(err)
	}
	got, err := EncodeFloat32(in, meta)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("EncodeFloat32: %q, %v; want Encode's %q", got, err, want)
	}
	in[0].Data = in[0].Data[:5]
	if _, err := EncodeFloat32(in, nil); err == nil || !strings.Contains(err.Error(), `"b"`) {
		t.Errorf("five values for a 2×3 tensor: %v, want an error that names it", err)
	}
}
