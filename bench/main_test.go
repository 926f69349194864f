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

// TestRatios checks the verdicts: best of rounds against the goal, per
// model and measure, for each Go source against each PyTorch.
func TestRatios(t *testing.T) {
	all := []measurement{
		{Model: "cnn", Measure: "train_step", MsPerStep: 30, Source: "golab/lab", goSide: true},
		{Model: "cnn", Measure: "train_step", MsPerStep: 50, Source: "golab/lab", goSide: true},
		{Model: "cnn", Measure: "train_step", MsPerStep: 40, Impl: "pytorch 1.13.0", Threads: 2, Source: "bench/torchref"},
		{Model: "cnn", Measure: "train_step", MsPerStep: 32, Impl: "pytorch 1.13.0", Threads: 2, Source: "bench/torchref"},
		{Model: "cnn", Measure: "train_step", MsPerStep: 20, Impl: "pytorch 2.15.0", Threads: 2, Source: "bench/torchref"},
		{Model: "cnn", Measure: "eval", MsPer1000: 400, Source: "golab/lab", goSide: true},
		{Model: "cnn", Measure: "eval", MsPer1000: 300, Impl: "pytorch 1.13.0", Threads: 2, Source: "bench/torchref"},
		{Model: "cnn", Measure: "eval", MsPer1000: 500, Impl: "pytorch 2.15.0", Threads: 2, Source: "bench/torchref"},
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
	old, new, _ := strings.Cut(s, " against pytorch 2.15.0, 2 threads:")
	if !strings.Contains(old, " against pytorch 1.13.0, 2 threads:") {
		t.Fatalf("ratios output lacks a section per PyTorch:\n%s", s)
	}
	for _, c := range []struct{ section, want string }{
		{old, "cnn       train_step golab/lab          best 0.94x  median 1.11x"}, // 30/32 and 40/36
		{old, "goal ≤ 1.0x: meets"},
		{old, "cnn       eval       golab/lab          best 1.33x"}, // 400/300
		{old, "goal ≤ 1.0x: MISSES"},
		{new, "cnn       train_step golab/lab          best 1.50x  median 2.00x"}, // 30/20 and 40/20
		{new, "cnn       eval       golab/lab          best 0.80x"},               // 400/500
	} {
		if !strings.Contains(c.section, c.want) {
			t.Errorf("ratios output lacks %q:\n%s", c.want, s)
		}
	}
}
