package main

import (
	"bytes"
	"io"
	"math"
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
		{Model: "cnn", Measure: "train_step", MsPerStep: 18, Source: "golab/lab", goSide: true},
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
		"cnn       train_step golab/lab          best 0.56x  median 0.94x", // 18/32 and 34/36
		"goal ≤ 0.60x: meets",
		"cnn       eval       golab/lab          best 1.33x", // 400/300
		"goal ≤ 0.35x: MISSES",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("ratios output lacks %q:\n%s", want, s)
		}
	}
}

// A measurement's GFLOP/s and fraction of peak follow from its time and
// the model's work.
func TestAnnotate(t *testing.T) {
	w, err := modelWork("cnn")
	if err != nil {
		t.Fatal(err)
	}
	m := measurement{Model: "cnn", Measure: "train_step", MsPerStep: 10}
	annotate(&m, w, 100)
	if want := round1(w.trainStep / 0.01); m.GFLOPS != want || m.PctOfPeak != round1(want) {
		t.Errorf("train step: %.1f GFLOP/s, %.1f %% of peak; want %.1f and %.1f", m.GFLOPS, m.PctOfPeak, want, want)
	}
	e := measurement{Model: "cnn", Measure: "eval", MsPer1000: 500}
	annotate(&e, w, 0)
	if want := round1(w.eval1000 / 0.5); e.GFLOPS != want || e.PctOfPeak != 0 {
		t.Errorf("eval: %.1f GFLOP/s, %.1f %% of peak; want %.1f and none", e.GFLOPS, e.PctOfPeak, want)
	}
	// CNNModel's forward pass is about 38 MFLOP per image.
	if w.eval1000 < 30 || w.eval1000 > 45 {
		t.Errorf("CNNModel: %.1f GFLOP per 1000 images", w.eval1000)
	}
}

// A run's projection: its epochs of 1,532 steps and one validation pass.
func TestProject(t *testing.T) {
	r := assignmentRun{"x", "cnn", 0, 20}
	p := project(r, []float64{60, 50, 55}, []float64{700, 500})
	if want := (1532*50.0 + 500) / 1000; math.Abs(p.epochS-want) > 1e-9 || math.Abs(p.runS-20*want) > 1e-9 {
		t.Errorf("epoch %.3f s, run %.3f s; want %.3f and %.3f", p.epochS, p.runS, want, 20*want)
	}
	total := 0
	for _, r := range assignmentRuns {
		total += r.epochs
	}
	if total != 104 {
		t.Errorf("the assignment's runs add up to %d epochs, want 104", total)
	}
}
