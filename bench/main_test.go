package main

import (
	"bytes"
	"fmt"
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

// TestRatios checks the verdicts: best of rounds against the goal, per
// model and measure, for each Go source against each PyTorch.
func TestRatios(t *testing.T) {
	all := []measurement{
		{Model: "cnn", Measure: "train_step", MsPerStep: 18, Source: "golab/lab", goSide: true},
		{Model: "cnn", Measure: "train_step", MsPerStep: 50, Source: "golab/lab", goSide: true},
		{Model: "cnn", Measure: "train_step", MsPerStep: 40, Impl: "pytorch 1.13.0", Threads: 2, Source: "bench/torchref"},
		{Model: "cnn", Measure: "train_step", MsPerStep: 32, Impl: "pytorch 1.13.0", Threads: 2, Source: "bench/torchref"},
		{Model: "cnn", Measure: "train_step", MsPerStep: 20, Impl: "pytorch 2.15.0", Threads: 2, Source: "bench/torchref"},
		{Model: "cnn", Measure: "eval", MsPer1000: 400, Source: "golab/lab", goSide: true},
		{Model: "cnn", Measure: "eval", MsPer1000: 300, Impl: "pytorch 1.13.0", Threads: 2, Source: "bench/torchref"},
		{Model: "cnn", Measure: "eval", MsPer1000: 500, Impl: "pytorch 2.15.0", Threads: 2, Source: "bench/torchref"},
		{Model: "cnn", Measure: "eval", MsPer1000: 1200, Impl: "pytorch 2.15.0", Threads: 2, Source: "bench/torchref"},
	}
	s := capture(t, func() { printRatios(all, []string{"cnn"}) })
	old, new, _ := strings.Cut(s, " against pytorch 2.15.0, 2 threads:")
	if !strings.Contains(old, " against pytorch 1.13.0, 2 threads:") {
		t.Fatalf("ratios output lacks a section per PyTorch:\n%s", s)
	}
	for _, c := range []struct{ section, want string }{
		{old, "cnn       train_step golab/lab          best 0.56x  median 0.94x"}, // 18/32 and 34/36
		{old, "goal ≤ 0.60x: meets"},
		{old, "cnn       eval       golab/lab          best 1.33x"}, // 400/300
		{old, "goal ≤ 0.35x: MISSES"},
		{new, "cnn       train_step golab/lab          best 0.90x  median 1.70x"}, // 18/20 and 34/20
		{new, "goal ≤ 0.60x: MISSES"},
		{new, "cnn       eval       golab/lab          best 0.80x  median 0.47x"}, // 400/500 and 400/850
	} {
		if !strings.Contains(c.section, c.want) {
			t.Errorf("ratios output lacks %q:\n%s", c.want, s)
		}
	}
}

// capture returns what f prints on standard output.
func capture(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var out bytes.Buffer
		io.Copy(&out, r)
		done <- out.String()
	}()
	defer func() { os.Stdout = stdout }()
	f()
	w.Close()
	return <-done
}

// The efficiency table has a line per Go package and per PyTorch, each
// placed against the peak on its own thread count.
func TestEfficiency(t *testing.T) {
	w, err := modelWork("cnn")
	if err != nil {
		t.Fatal(err)
	}
	peaks := map[int]float64{1: 50, 2: 100}
	var all []measurement
	for _, m := range []measurement{
		{Model: "cnn", Measure: "train_step", MsPerStep: 20, Threads: 2, Source: "golab/lab", goSide: true},
		{Model: "cnn", Measure: "train_step", MsPerStep: 10, Threads: 2, Source: "golab/lab", goSide: true},
		{Model: "cnn", Measure: "train_step", MsPerStep: 40, Threads: 2, Impl: "pytorch 1.13.0", Source: "bench/torchref"},
		{Model: "cnn", Measure: "train_step", MsPerStep: 40, Threads: 1, Impl: "pytorch 2.15.0", Source: "bench/torchref"},
	} {
		annotate(&m, w, peaks[m.Threads])
		all = append(all, m)
	}
	s := capture(t, func() { printEfficiency(all, []string{"cnn"}, peaks) })
	gf := func(ms float64) float64 { return round1(w.trainStep / (ms / 1000)) }
	for _, want := range []string{
		fmt.Sprintf("golab/lab                    %7.1f GFLOP/s  %5.1f %% of peak", gf(10), round1(100*gf(10)/100)),
		fmt.Sprintf("pytorch 1.13.0, 2 threads    %7.1f GFLOP/s  %5.1f %% of peak", gf(40), round1(100*gf(40)/100)),
		fmt.Sprintf("pytorch 2.15.0, 1 threads    %7.1f GFLOP/s  %5.1f %% of peak", gf(40), round1(100*gf(40)/50)),
		"50 GFLOP/s on 1, 100 GFLOP/s on 2",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("efficiency output lacks %q:\n%s", want, s)
		}
	}
}

// The assignment's table and JSON lines have golab's projection and each
// PyTorch's, with golab's time over it.
func TestPrintAssignment(t *testing.T) {
	n := len(assignmentRuns)
	goS, a, b := make([]sample, n), make([]sample, n), make([]sample, n)
	for i := range n {
		goS[i] = sample{[]float64{30, 20}, []float64{400}}
		a[i] = sample{[]float64{40}, []float64{800}}
		b[i] = sample{[]float64{10}, []float64{100}}
	}
	s := capture(t, func() {
		printAssignment(goS, [][]sample{a, b}, []string{"pytorch 1.13.0, 2 threads", "pytorch 2.15.0, 2 threads"})
	})
	goH := float64(totalEpochs()) * (float64(epochSteps)*20 + 400) / 1000 / 3600
	aH := float64(totalEpochs()) * (float64(epochSteps)*40 + 800) / 1000 / 3600
	for _, want := range []string{
		"# PyTorch A: pytorch 1.13.0, 2 threads",
		"# PyTorch B: pytorch 2.15.0, 2 threads",
		fmt.Sprintf("whole assignment on golab: %.2f h, goal ≤ 2.5 h: meets", goH),
		fmt.Sprintf(`"golab_hours":%v`, round3(goH)),
		fmt.Sprintf(`{"pytorch":"pytorch 1.13.0, 2 threads","hours":%v,"golab_over_pytorch":%v}`, round3(aH), round3(goH/aH)),
	} {
		if !strings.Contains(s, want) {
			t.Errorf("assignment output lacks %q:\n%s", want, s)
		}
	}
	if c := strings.Count(s, `"measure":"assignment_run"`); c != n {
		t.Errorf("%d run lines, want %d:\n%s", c, n, s)
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
