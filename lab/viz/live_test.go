package viz

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"testing"
	"time"

	"golab/lab"
)

// simulate runs a fake training of epochs×steps through m, each step
// taking stepTime on the clock and each validation valTime, logging every
// logEvery steps in the seed's format. It returns the history and the log.
func simulate(m lab.Monitor, clock *fakeClock, epochs, steps int, stepTime, valTime time.Duration, logEvery int) (*lab.History, []string) {
	info := lab.RunInfo{Label: "DropoutCNN p=0.5", Epochs: epochs, StepsPerEpoch: steps, BatchSize: 32, TrainImages: steps * 32, ValImages: 5000}
	m.Begin(info)
	h := &lab.History{Model: "DropoutCNN", Label: info.Label}
	var logs []string
	start := clock.t
	for e := range epochs {
		epochStart := clock.t
		for s := range steps {
			clock.advance(stepTime)
			loss := 2.3 / (1 + float64(e) + float64(s)/float64(steps))
			acc := 100 - 90/(1+float64(e)+float64(s)/float64(steps))
			m.Step(lab.Progress{Epoch: e, Step: s, RunningLoss: loss, RunningAcc: acc,
				Elapsed: clock.t.Sub(start), EpochTime: clock.t.Sub(epochStart)})
			if (s+1)%logEvery == 0 {
				l := lab.StepLog{Epoch: e, Step: s + 1, RunningLoss: loss, RunningAcc: acc}
				h.Steps = append(h.Steps, l)
				logs = append(logs, l.String())
				m.Log(l.String())
			}
		}
		clock.advance(valTime)
		x := float64(e + 1)
		h.Epochs = append(h.Epochs, lab.EpochStats{Epoch: e, TrainLoss: 2.3 / (1 + x), TrainAcc: 100 - 90/(1+x),
			ValLoss: 2.4 / (1 + x), ValAcc: 95 - 90/(1+x), Seconds: clock.t.Sub(epochStart).Seconds()})
		m.Epoch(h)
	}
	m.End(h, nil)
	return h, logs
}

func TestLiveViewUpdatesOneDisplayInPlace(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	fh := &fakeHost{clock: clock}
	useHost(t, fh)
	m := LiveMonitor()
	m.now = clock.now
	var out bytes.Buffer
	m.out = &out

	// 3 epochs of 2,000 steps of 10 ms: 60 s of training, 6,000 steps.
	const epochs, steps = 3, 2000
	_, logs := simulate(m, clock, epochs, steps, 10*time.Millisecond, 2*time.Second, 500)
	calls := fh.calls
	if len(calls) < 10 {
		t.Fatalf("%d displays for a 66-second run; want several updates", len(calls))
	}
	// At most one per second of run time, plus one per epoch, Begin and End.
	if limit := 66 + epochs + 2; len(calls) > limit {
		t.Fatalf("%d displays for 6,000 steps over 66 s; want at most %d (throttled to about one a second)", len(calls), limit)
	}
	id := calls[0].id
	if id == "" || calls[0].update {
		t.Errorf("first display: id %q, update %v; want a named new display", id, calls[0].update)
	}
	for i, c := range calls[1:] {
		if c.id != id || !c.update {
			t.Fatalf("display %d: id %q update %v; want updates of %q", i+1, c.id, c.update, id)
		}
	}
	if m.DisplayID() != id {
		t.Errorf("DisplayID() = %q; the display used %q", m.DisplayID(), id)
	}
	// Step-driven updates are at least a second apart: count the updates
	// that came sooner than that after the previous one. Only Epoch and End
	// may do so, at most once each.
	soon := 0
	for i := 1; i < len(calls); i++ {
		if calls[i].at.Sub(calls[i-1].at) < redrawEvery {
			soon++
		}
	}
	if soon > epochs+1 {
		t.Errorf("%d updates came within a second of the previous one; only Epoch and End may", soon)
	}
	for i, c := range calls[:len(calls)-1] {
		if _, ok := c.bundle["text/html"].(string); !ok {
			t.Errorf("update %d has no text/html", i)
		}
		if s, _ := c.bundle["text/plain"].(string); s == "" {
			t.Errorf("update %d has no text/plain", i)
		}
	}
	mid := calls[len(calls)/2].bundle["text/html"].(string)
	for _, want := range []string{"steps/s", "left", "running loss", "epoch 1 of 0–2", "data:image/png;base64,"} {
		if !strings.Contains(mid, want) {
			t.Errorf("an update during the run lacks %q", want)
		}
	}
	if plain := calls[len(calls)/2].bundle["text/plain"].(string); !strings.Contains(plain, "epoch 1 of 0–2") {
		t.Errorf("text/plain during the run = %q; want the epoch", plain)
	}

	last := calls[len(calls)-1].bundle
	b, ok := last["image/png"].([]byte)
	if !ok {
		t.Fatalf("the last update has no image/png []byte: keys %v", keys(last))
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the final image/png does not decode: %v", err)
	}
	checkNotBlank(t, img, 0.02)
	final := last["text/html"].(string)
	plain := last["text/plain"].(string)
	if !strings.Contains(final, "<details>") {
		t.Error("the final HTML does not collapse the log in <details>")
	}
	for _, l := range logs {
		if !strings.Contains(final, l) || !strings.Contains(plain, l) {
			t.Fatalf("log line %q is missing from the final update", l)
		}
	}
	if !strings.Contains(plain, "Best validation accuracy") || !strings.Contains(plain, "train_loss") {
		t.Errorf("the final text/plain lacks the summary or the per-epoch table:\n%s", plain)
	}
	if out.Len() != 0 {
		t.Errorf("the live view printed %q while it had a display", out.String())
	}
	st := m.Stats()
	t.Logf("%d displays, stats %+v", len(calls), st)
	if st.Displays != len(calls) || st.Renders < epochs || st.Renders > len(calls) {
		t.Errorf("Stats() = %+v with %d displays", st, len(calls))
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestLiveViewWithoutDisplayPrintsText(t *testing.T) {
	useHost(t, nil)
	clock := &fakeClock{t: time.Unix(0, 0)}
	m := LiveMonitor()
	m.now = clock.now
	var out bytes.Buffer
	m.out = &out
	_, logs := simulate(m, clock, 2, 100, 10*time.Millisecond, time.Second, 50)
	text := out.String()
	for _, l := range logs {
		if !strings.Contains(text, l+"\n") {
			t.Errorf("log line %q was not printed", l)
		}
	}
	if !strings.Contains(text, "Best validation accuracy") || !strings.Contains(text, "val_acc") {
		t.Errorf("the summary and table were not printed:\n%s", text)
	}
	if n := strings.Count(text, "\n"); n > len(logs)+10 {
		t.Errorf("%d lines printed for %d log lines; want no progress flood", n, len(logs))
	}
	if m.Stats().Displays != 0 {
		t.Errorf("%d displays without a host", m.Stats().Displays)
	}
}

func TestLiveViewFallsBackWhenDisplayFails(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	fh := &fakeHost{clock: clock, fail: errors.New("kernel gone")}
	useHost(t, fh)
	m := LiveMonitor()
	m.now = clock.now
	var out bytes.Buffer
	m.out = &out
	_, logs := simulate(m, clock, 2, 100, 10*time.Millisecond, time.Second, 50)
	if m.Err() == nil || !strings.Contains(m.Err().Error(), "kernel gone") {
		t.Errorf("Err() = %v; want the display error", m.Err())
	}
	if got := m.Stats().Displays; got != 1 {
		t.Errorf("%d display attempts; want to stop after the first failure", got)
	}
	for _, l := range logs {
		if !strings.Contains(out.String(), l) {
			t.Errorf("after the display failed, log line %q was not printed", l)
		}
	}
}

func TestLiveViewEndWithError(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	fh := &fakeHost{clock: clock}
	useHost(t, fh)
	m := LiveMonitor()
	m.now = clock.now
	m.Begin(lab.RunInfo{Label: "x", Epochs: 5, StepsPerEpoch: 10})
	m.Step(lab.Progress{Epoch: 0, Step: 0, RunningLoss: 2.3, RunningAcc: 10, EpochTime: time.Millisecond})
	m.End(nil, errors.New("interrupted"))
	last := fh.calls[len(fh.calls)-1].bundle
	if s := last["text/plain"].(string); !strings.Contains(s, "stopped after 0 epochs") || !strings.Contains(s, "interrupted") {
		t.Errorf("final text = %q; want how it stopped", s)
	}
	if _, ok := last["image/png"]; ok {
		t.Error("a run with no finished epoch has no curves to show, yet image/png is set")
	}
}

func TestLiveViewSecondRunGetsNewDisplay(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	fh := &fakeHost{clock: clock}
	useHost(t, fh)
	m := LiveMonitor()
	m.now = clock.now
	simulate(m, clock, 1, 10, time.Millisecond, time.Millisecond, 5)
	first := m.DisplayID()
	n := len(fh.calls)
	simulate(m, clock, 1, 10, time.Millisecond, time.Millisecond, 5)
	if m.DisplayID() == first {
		t.Error("a second run reuses the first run's display")
	}
	if fh.calls[n].update {
		t.Error("a second run's first display is an update")
	}
	if s := m.String(); !strings.Contains(s, "ended") || !strings.Contains(s, m.DisplayID()) {
		t.Errorf("String() = %q; want the state and the display id", s)
	}
}

func TestCurveBudget(t *testing.T) {
	if got := curveEvery(time.Millisecond); got != redrawEvery {
		t.Errorf("curveEvery(1ms) = %v; want %v", got, redrawEvery)
	}
	// A 30 ms image may be drawn every 10 s at most, to stay under 0.3%.
	if got := curveEvery(30 * time.Millisecond); got != 10*time.Second {
		t.Errorf("curveEvery(30ms) = %v; want 10s", got)
	}
}

func TestLiveMonitorIsRegistered(t *testing.T) {
	if lab.NewLiveMonitor == nil {
		t.Fatal("lab.NewLiveMonitor is nil; viz must register its live view at init")
	}
	if _, ok := lab.NewLiveMonitor().(*LiveView); !ok {
		t.Errorf("lab.NewLiveMonitor() is %T; want *viz.LiveView", lab.NewLiveMonitor())
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		12 * time.Second:                "12s",
		3*time.Minute + 5*time.Second:   "3m05s",
		time.Hour + 2*time.Minute + 400: "1h02m",
	} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %q; want %q", d, got, want)
		}
	}
}

func TestLiveViewToleratesMissingInfo(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	fh := &fakeHost{clock: clock}
	useHost(t, fh)
	m := LiveMonitor()
	m.now = clock.now
	// No Begin, no epoch length, no epoch count: Train should not do this,
	// but the view must still draw and end.
	for s := range 3000 {
		clock.advance(5 * time.Millisecond)
		m.Step(lab.Progress{Epoch: 0, Step: s, RunningLoss: 1, RunningAcc: 50, EpochTime: time.Duration(s+1) * 5 * time.Millisecond})
	}
	m.Epoch(&lab.History{Epochs: []lab.EpochStats{{TrainLoss: 1, ValLoss: 1.1, TrainAcc: 50, ValAcc: 45}}})
	m.End(nil, nil)
	if len(fh.calls) < 5 || len(fh.calls) > 20 {
		t.Errorf("%d displays for 15 s of steps; want about one a second", len(fh.calls))
	}
	if len(m.trace.x) > 0 {
		t.Errorf("the running values were not cleared at the epoch's end")
	}
	if _, ok := fh.calls[len(fh.calls)-1].bundle["image/png"]; !ok {
		t.Error("the final update lacks the curves")
	}
}

// Epochs count from 0 everywhere golab shows one: the seed's log lines, the
// History's table, BestValAcc, the live view's progress and summary, and
// the curves' x axis, where epoch e's point is at x = e and its running
// values lead up to it.
func TestOneEpochNumbering(t *testing.T) {
	m, fh, clock := hostedView(t)
	const epochs, steps = 3, 40
	info := lab.RunInfo{Label: "CNNModel", Epochs: epochs, StepsPerEpoch: steps, BatchSize: 32, TrainImages: steps * 32}
	m.Begin(info)
	h := &lab.History{Model: "CNNModel", Label: "CNNModel"}
	var logs []string
	for e := range epochs {
		for s := range steps {
			clock.advance(100 * time.Millisecond)
			m.Step(lab.Progress{Epoch: e, Step: s, RunningLoss: 2, RunningAcc: 20, EpochTime: time.Duration(s+1) * 100 * time.Millisecond})
			if s == 0 {
				logs = append(logs, lab.StepLog{Epoch: e, Step: s, RunningLoss: 2, RunningAcc: 20}.String())
			}
		}
		if got, want := m.trace.x[len(m.trace.x)-1], float64(e); got != want {
			t.Errorf("epoch %d's running values end at x = %g, want %g (where its point is drawn)", e, got, want)
		}
		if e == 0 && m.trace.x[0] >= 0 {
			t.Errorf("epoch 0's running values start at x = %g; they lead up to x = 0", m.trace.x[0])
		}
		if s := m.statusText(); !strings.Contains(s, fmt.Sprintf("epoch %d of 0–%d", e, epochs-1)) {
			t.Errorf("the progress during epoch %d reads %q", e, s)
		}
		valAcc := []float64{30, 50, 40}[e]
		h.Epochs = append(h.Epochs, lab.EpochStats{Epoch: e, TrainLoss: 2, ValLoss: 2, TrainAcc: 20, ValAcc: valAcc, Seconds: 4})
		m.Epoch(h)
	}
	m.End(h, nil)

	if logs[0] != "epoch: 0, steps: 0, train_loss: 2.000, running_acc: 20.0 %" {
		t.Errorf("the first log line is %q; the seed's format starts at epoch 0", logs[0])
	}
	acc, best := h.BestValAcc()
	if acc != 50 || best != 1 {
		t.Fatalf("BestValAcc() = %g, %d; want 50, 1", acc, best)
	}
	rows := strings.Split(strings.TrimSpace(h.Table()), "\n")[2:]
	for e, r := range rows {
		if f := strings.Fields(r); f[0] != fmt.Sprint(e) {
			t.Errorf("table row %d starts with %q, want %d", e, f[0], e)
		}
	}
	final := fh.calls[len(fh.calls)-1].bundle["text/plain"].(string)
	if !strings.Contains(final, "3 epochs in") || !strings.Contains(final, "Best validation accuracy 50.0% (epoch 1)") {
		t.Errorf("the live view's summary does not name epoch 1 as the best:\n%s", final)
	}
	if html := h.HTML(); !strings.Contains(html, "<td><b>1</b></td>") {
		t.Errorf("History.HTML does not mark epoch 1 as the best:\n%s", html)
	}
	loss, _ := PlotCurves(h).Plots()
	if loss.X.Min != 0 || loss.X.Max != float64(epochs-1) {
		t.Errorf("the curves' x axis runs from %g to %g, want 0 to %d", loss.X.Min, loss.X.Max, epochs-1)
	}
	for _, tk := range epochTicks(-1, 19) {
		if tk.Value < 0 {
			t.Errorf("tick %g below epoch 0", tk.Value)
		}
	}
	if ticks := epochTicks(-1, 4); ticks[0].Value != 0 || ticks[0].Label != "0" {
		t.Errorf("the first tick of the live view's axis is %+v, want epoch 0", ticks[0])
	}
}

func TestOneEpochIsSingular(t *testing.T) {
	h := &lab.History{Label: "x", Epochs: []lab.EpochStats{{Epoch: 0, ValAcc: 10}}}
	if s := PlotCurves(h).String(); strings.Contains(s, "1 epochs") || !strings.Contains(s, "1 epoch") {
		t.Errorf("Curves.String() = %q", s)
	}
	m, fh, _ := hostedView(t)
	m.Begin(lab.RunInfo{Label: "x", Epochs: 1, StepsPerEpoch: 1})
	m.Step(lab.Progress{Epoch: 0, Step: 0, RunningLoss: 2, RunningAcc: 10, EpochTime: time.Millisecond})
	m.Log("one line")
	m.Epoch(h)
	m.End(h, nil)
	last := fh.calls[len(fh.calls)-1].bundle
	for _, k := range []string{"text/plain", "text/html"} {
		if s := last[k].(string); strings.Contains(s, "1 epochs") || strings.Contains(s, "1 lines") || !strings.Contains(s, "1 epoch in") {
			t.Errorf("%s of a 1-epoch run:\n%s", k, s)
		}
	}
}

// hostedView returns a live view on a fake kernel host and clock.
func hostedView(t *testing.T) (*LiveView, *fakeHost, *fakeClock) {
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	fh := &fakeHost{clock: clock}
	useHost(t, fh)
	m := LiveMonitor()
	m.now = clock.now
	return m, fh, clock
}

// TestLiveViewShowsLearningRate checks that a run with a schedule shows its
// learning rate as it goes.
func TestLiveViewShowsLearningRate(t *testing.T) {
	m, fh, clock := hostedView(t)
	m.Begin(lab.RunInfo{Label: "onecycle", Epochs: 2, StepsPerEpoch: 100, BatchSize: 32})
	for s := range 100 {
		clock.advance(50 * time.Millisecond)
		m.Step(lab.Progress{Epoch: 0, Step: s, RunningLoss: 1, RunningAcc: 50, LR: 0.0123})
	}
	last := fh.calls[len(fh.calls)-1].bundle
	if html, _ := last["text/html"].(string); !strings.Contains(html, "learning rate <b>0.0123</b>") {
		t.Errorf("the live view does not show the learning rate:\n%s", html)
	}
	if txt, _ := last["text/plain"].(string); !strings.Contains(txt, "lr 0.0123") {
		t.Errorf("the plain text does not show the learning rate:\n%s", txt)
	}
}
