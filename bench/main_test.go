package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestRatios checks the verdicts: best of rounds against the goal, per model
// and measure, for each Go source against PyTorch.
func TestRatios(t *testing.T) {
	all := []measurement{
		{Model: "cnn", Measure: "train_step", MsPerStep: 30, Source: "golab/lab", goSide: true},
		{Model: "cnn", Measure: "train_step", MsPerStep: 50, Source: "golab/lab", goSide: true},
		{Model: "cnn", Measure: "train_step", MsPerStep: 40, Source: "torch_ref.py"},
		{Model: "cnn", Measure: "train_step", MsPerStep: 32, Source: "torch_ref.py"},
		{Model: "cnn", Measure: "eval", MsPer1000: 400, Source: "golab/lab", goSide: true},
		{Model: "cnn", Measure: "eval", MsPer1000: 300, Source: "torch_eval.py"},
	}
	r, w, _ := os.Pipe()
	stdout := os.Stdout
	os.Stdout = w
	printRatios(all, []string{"cnn"})
	w.Close()
	os.Stdout = stdout
	var out bytes.Buffer
	io.Copy(&out, r)
	s := out.String()
	for _, want := range []string{
		"cnn       train_step golab/lab          best 0.94x  median 1.11x", // 30/32 and 40/36
		"goal ≤ 1.0x: meets",
		"cnn       eval       golab/lab          best 1.33x", // 400/300
		"goal ≤ 1.0x: MISSES",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("ratios output lacks %q:\n%s", want, s)
		}
	}
}
