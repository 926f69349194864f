package viz

import (
	"testing"
	"time"

	"golab/lab"
)

// The render benchmarks draw each figure from scratch and encode its PNG.

func BenchmarkShowImages4(b *testing.B) {
	d := synthDataset(b, 16)
	for b.Loop() {
		ShowImages(d, 0, 1, 2, 3).PNG()
	}
}

func BenchmarkShowImages16Predicted(b *testing.B) {
	d := synthDataset(b, 16)
	pos := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	pred := make([]int, 16)
	for b.Loop() {
		ShowImages(d, pos...).Predicted(pred).PNG()
	}
}

func BenchmarkPlotCurves1(b *testing.B) {
	h := synthHistory("p=0.5", 20, 0.5)
	for b.Loop() {
		PlotCurves(h).PNG()
	}
}

func BenchmarkPlotCurves3(b *testing.B) {
	hs := []*lab.History{synthHistory("p=0.2", 20, 0.2), synthHistory("p=0.5", 20, 0.5), synthHistory("p=0.8", 20, 0.8)}
	for b.Loop() {
		PlotCurves(hs...).PNG()
	}
}

func BenchmarkProbTable(b *testing.B) {
	probs, truth := synthProbs(4, 10)
	for b.Loop() {
		t := ProbTable(probs, truth, testClasses)
		t.PNG()
		_ = t.HTML()
	}
}

func BenchmarkProbBars(b *testing.B) {
	d := synthDataset(b, 4)
	imgs, _ := Images(d, 0, 1, 2, 3)
	probs, truth := synthProbs(4, 10)
	for b.Loop() {
		ProbBars(probs, truth, testClasses, imgs).PNG()
	}
}

func BenchmarkConfusion(b *testing.B) {
	var t10, p10 []int
	for i := range 10000 {
		t10 = append(t10, i%10)
		p10 = append(p10, (i%10+i%7/3)%10)
	}
	for b.Loop() {
		Confusion(t10, p10, testClasses).PNG()
	}
}

// BenchmarkLiveCurves is one redraw of the live view's curves (mid-run:
// 5 epochs done and a running trace), as drawn during training.
func BenchmarkLiveCurves(b *testing.B) {
	m := LiveMonitor()
	m.info = lab.RunInfo{Label: "p=0.5", Epochs: 10, StepsPerEpoch: 1000}
	m.hist = synthHistory("p=0.5", 5, 0.5)
	for s := range 500 {
		m.record(lab.Progress{Epoch: 5, Step: s, RunningLoss: 1, RunningAcc: 50})
	}
	for b.Loop() {
		m.drawCurves()
	}
}

// BenchmarkLiveUpdate is one progress update without new curves: the HTML
// with the cached curve image, sent to a host that drops it.
func BenchmarkLiveUpdate(b *testing.B) {
	fh := &fakeHost{}
	m := LiveMonitor()
	m.host, m.shown = fh, true
	m.info = lab.RunInfo{Label: "p=0.5", Epochs: 10, StepsPerEpoch: 1000, BatchSize: 32}
	m.hist = synthHistory("p=0.5", 5, 0.5)
	m.record(lab.Progress{Epoch: 5, Step: 10, RunningLoss: 1, RunningAcc: 50})
	m.drawCurves()
	m.prog, m.haveProg = lab.Progress{Epoch: 5, Step: 10, EpochTime: time.Second}, true
	for b.Loop() {
		m.update(false)
		fh.calls = fh.calls[:0]
	}
}

// BenchmarkLiveStep is the cost of Step between redraws.
func BenchmarkLiveStep(b *testing.B) {
	m := LiveMonitor()
	m.begun, m.textOut = true, false
	m.host = &fakeHost{}
	m.lastDraw = time.Now().Add(time.Hour) // never due
	m.info = lab.RunInfo{Epochs: 10, StepsPerEpoch: 1 << 30}
	p := lab.Progress{RunningLoss: 1, RunningAcc: 50}
	for b.Loop() {
		p.Step++
		m.Step(p)
	}
}
