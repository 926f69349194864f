package viz

import (
	"encoding/base64"
	"fmt"
	"html"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"golab/frontend"
	"golab/lab"
	"golab/lab/internal/plural"
)

func init() {
	lab.NewLiveMonitor = func() lab.Monitor { return LiveMonitor() }
}

// The live view's pacing: the progress redraws at most once per
// redrawEvery; the curves, which cost more, at most once per redrawEvery
// and no more often than keeps their drawing under curveBudget of the time.
const (
	redrawEvery = time.Second
	curveBudget = 0.003
	traceSteps  = 60 // running-loss points kept per epoch
	logTail     = 3  // log lines shown while training
)

// LiveView is the live training view, a lab.Monitor. Inside the golab
// kernel it keeps one display updated in place: progress bars for the epoch
// and the run, steps per second and time left, the running loss and
// accuracy, and the loss and accuracy curves so far. Its last update holds
// the final curves (also as image/png), the per-epoch table and the log
// lines, collapsed. Outside a kernel it prints the log lines and the table
// as plain text.
//
// Train uses it by default in the kernel (this package registers it as
// lab.NewLiveMonitor); pass viz.LiveMonitor() to choose it explicitly.
type LiveView struct {
	mu  sync.Mutex
	now func() time.Time
	out io.Writer // plain-text output when there is no display

	stats LiveStats
	run
}

// run is the state of one run, cleared by Begin.
type run struct {
	host    frontend.Frontend
	id      string
	shown   bool // the display exists, so later calls update it
	textOut bool // no display: print plain text instead

	begun, ended bool
	info         lab.RunInfo
	start        time.Time

	prog       lab.Progress
	haveProg   bool
	hist       *lab.History
	trace      trace // running values of the current epoch
	traceEpoch int
	logs       []string

	lastDraw    time.Time
	curvesAt    time.Time
	curvesCost  time.Duration
	curvesDirty bool
	curvesB64   string

	err error
}

// LiveStats counts what a LiveView did, to check that it stays cheap.
type LiveStats struct {
	Displays int           // calls to the host's Display
	Renders  int           // curve images drawn
	Spent    time.Duration // time spent drawing and displaying
}

// LiveMonitor returns a new live training view, to pass as Train's monitor
// where the default is not wanted. Each Begin starts a new display.
func LiveMonitor() *LiveView {
	return &LiveView{now: time.Now, out: os.Stdout, run: run{traceEpoch: -1}}
}

// Stats returns what the view did so far.
func (m *LiveView) Stats() LiveStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// DisplayID is the id of the view's display ("" before Begin).
func (m *LiveView) DisplayID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.id
}

// Err is the error of the last failed display, after which the view fell
// back to plain text.
func (m *LiveView) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// String describes the view for text/plain.
func (m *LiveView) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.begun {
		return "LiveView: not started; pass it to Train as its monitor"
	}
	state := "running"
	if m.ended {
		state = "ended"
	}
	return fmt.Sprintf("LiveView %s: %s, display %s, %s", m.title(), state, m.id, plural.N(m.stats.Displays, "update"))
}

// Begin starts the view for a run.
func (m *LiveView) Begin(info lab.RunInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.begun { // a second run: a fresh view and display
		m.run = run{traceEpoch: -1}
	}
	m.begin(info)
	if m.textOut {
		return
	}
	m.update(false)
}

func (m *LiveView) begin(info lab.RunInfo) {
	m.begun = true
	m.info = info
	m.start = m.now()
	m.traceEpoch = -1
	m.host = frontend.Current()
	m.textOut = m.host == nil
	m.id = fmt.Sprintf("golab-train-%016x", rand.Uint64())
}

// Step records a training step and redraws when the last redraw is at
// least a second old.
func (m *LiveView) Step(p lab.Progress) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.begun {
		m.begin(lab.RunInfo{})
	}
	m.prog, m.haveProg = p, true
	m.record(p)
	if m.textOut {
		return
	}
	if m.now().Sub(m.lastDraw) >= redrawEvery {
		m.update(false)
	}
}

// record keeps about traceSteps running values per epoch for the curves.
func (m *LiveView) record(p lab.Progress) {
	if p.Epoch != m.traceEpoch {
		m.trace = trace{}
		m.traceEpoch = p.Epoch
	}
	every := max(1, m.info.StepsPerEpoch/traceSteps)
	if m.info.StepsPerEpoch <= 0 { // unknown epoch length
		every = 50
	}
	if p.Step%every != every-1 && p.Step+1 != m.info.StepsPerEpoch {
		return
	}
	x := float64(p.Epoch-1) + float64(p.Step+1)/float64(max(m.info.StepsPerEpoch, p.Step+1))
	m.trace.x = append(m.trace.x, x)
	m.trace.loss = append(m.trace.loss, p.RunningLoss)
	m.trace.acc = append(m.trace.acc, p.RunningAcc)
	m.curvesDirty = true
}

// Log records a seed-format log line; without a display it prints it.
func (m *LiveView) Log(line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.logs = append(m.logs, line)
	if m.textOut || (!m.begun && frontend.Current() == nil) {
		fmt.Fprintln(m.out, line)
	}
}

// Epoch records a finished epoch and redraws.
func (m *LiveView) Epoch(h *lab.History) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.begun {
		m.begin(lab.RunInfo{})
	}
	m.hist = h
	m.trace = trace{}
	m.curvesDirty = true
	if m.textOut {
		return
	}
	m.update(true)
}

// End draws the final state: the summary, the final curves (as image/png
// too), and the per-epoch table and log collapsed.
func (m *LiveView) End(h *lab.History, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.begun {
		m.begin(lab.RunInfo{})
	}
	m.ended = true
	if h != nil {
		m.hist = h
	}
	if m.textOut {
		fmt.Fprint(m.out, m.summaryText(err))
		return
	}
	start := time.Now()
	var pngData []byte
	if m.hist != nil && len(m.hist.Epochs) > 0 {
		pngData = PlotCurves(m.hist).PNG()
	}
	bundle := map[string]any{
		"text/plain": m.summaryText(err),
		"text/html":  m.finalHTML(pngData, err),
	}
	if pngData != nil {
		bundle["image/png"] = pngData
		m.stats.Renders++
	}
	m.display(bundle)
	m.stats.Spent += time.Since(start)
	if m.textOut { // the display failed: say it in plain text
		fmt.Fprint(m.out, m.summaryText(err))
	}
}

// update redraws the display; epoch forces the curves to be redrawn.
func (m *LiveView) update(epoch bool) {
	start := time.Now()
	now := m.now()
	m.lastDraw = now
	if m.curvesDirty && (epoch || now.Sub(m.curvesAt) >= curveEvery(m.curvesCost)) {
		m.drawCurves()
		m.curvesAt = now
	}
	m.display(map[string]any{
		"text/plain": m.statusText(),
		"text/html":  m.statusHTML(),
	})
	m.stats.Spent += time.Since(start)
}

// curveEvery is how long to wait between curve images that cost cost each,
// to stay under curveBudget of the time.
func curveEvery(cost time.Duration) time.Duration {
	return max(redrawEvery, time.Duration(float64(cost)/curveBudget))
}

// drawCurves renders the curves so far, with the running values of the
// current epoch.
func (m *LiveView) drawCurves() {
	start := time.Now()
	defer func() { m.curvesCost = time.Since(start) }()
	h := m.hist
	if h == nil {
		h = &lab.History{Label: m.info.Label}
	}
	tr := m.trace
	tr.epochs = m.info.Epochs
	loss, acc, _, err := curvePlots([]*lab.History{h}, &tr)
	if err != nil {
		return
	}
	fig := newFigure(curvesW, curvesH, func(f *frame) error {
		drawPanels(f, "", loss, acc)
		return nil
	})
	fig.level = png.BestSpeed
	if b := fig.PNG(); b != nil {
		m.curvesB64 = base64.StdEncoding.EncodeToString(b)
		m.curvesDirty = false
		m.stats.Renders++
	}
}

func (m *LiveView) display(bundle map[string]any) {
	if m.host == nil || m.textOut {
		return
	}
	m.stats.Displays++
	if err := m.host.Display(frontend.Bundle{Data: bundle, ID: m.id, Update: m.shown}); err != nil {
		m.err = fmt.Errorf("viz: live view: %w", err)
		m.textOut = true
		for _, l := range m.logs {
			fmt.Fprintln(m.out, l)
		}
		return
	}
	m.shown = true
}

// progress returns how far the current epoch and the run are, 0 to 1.
func (m *LiveView) progress() (epoch, run float64) {
	if !m.haveProg || m.info.StepsPerEpoch <= 0 {
		return 0, 0
	}
	epoch = min(1, float64(m.prog.Step+1)/float64(m.info.StepsPerEpoch))
	if m.info.Epochs > 0 {
		run = min(1, (float64(m.prog.Epoch)+epoch)/float64(m.info.Epochs))
	}
	return epoch, run
}

// rates returns steps per second in the current epoch and an estimate of
// the time left (negative when unknown).
func (m *LiveView) rates() (stepsPerSec float64, left time.Duration) {
	left = -1
	if !m.haveProg || m.prog.EpochTime <= 0 {
		return 0, left
	}
	stepsPerSec = float64(m.prog.Step+1) / m.prog.EpochTime.Seconds()
	if m.info.StepsPerEpoch <= 0 || m.info.Epochs <= 0 {
		return stepsPerSec, left
	}
	epochFrac, _ := m.progress()
	epochsLeft := float64(m.info.Epochs-m.prog.Epoch-1) + 1 - epochFrac
	if m.prog.Epoch >= m.info.Epochs {
		epochsLeft = 0
	}
	if per, n := m.epochSeconds(); n > 0 { // whole epochs, validation included
		return stepsPerSec, time.Duration(per * epochsLeft * float64(time.Second))
	}
	steps := epochsLeft * float64(m.info.StepsPerEpoch)
	return stepsPerSec, time.Duration(steps / stepsPerSec * float64(time.Second))
}

// epochSeconds is the mean wall time of the epochs this run finished, as
// Train measured them, and their number.
func (m *LiveView) epochSeconds() (mean float64, n int) {
	if m.hist == nil {
		return 0, 0
	}
	var sum float64
	for _, e := range m.hist.Epochs {
		if e.Epoch >= m.info.StartEpoch && e.Seconds > 0 {
			sum += e.Seconds
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// elapsed is the run's time so far: Train's measure when it gave one.
func (m *LiveView) elapsed() time.Duration {
	if m.haveProg && m.prog.Elapsed > 0 {
		return m.prog.Elapsed
	}
	return m.now().Sub(m.start)
}

// runTime is the run's total time at its end: its epochs as Train measured
// them, else the view's own clock.
func (m *LiveView) runTime() time.Duration {
	if mean, n := m.epochSeconds(); n > 0 {
		return time.Duration(mean * float64(n) * float64(time.Second))
	}
	return m.now().Sub(m.start)
}

func (m *LiveView) title() string {
	name := m.info.Label
	if name == "" && m.hist != nil {
		name = runName(m.hist, 0)
	}
	if name == "" {
		name = "training"
	}
	return name
}

func (m *LiveView) epochText() string {
	if !m.haveProg {
		return "starting"
	}
	// Epochs count from 0, as in the log lines, the table and the curves.
	s := fmt.Sprintf("epoch %d", m.prog.Epoch)
	if m.info.Epochs > 0 {
		s += fmt.Sprintf(" of 0–%d", m.info.Epochs-1)
	}
	return s
}

// statusText is the one-line plain-text progress.
func (m *LiveView) statusText() string {
	var b strings.Builder
	b.WriteString(m.title())
	b.WriteString(" | ")
	b.WriteString(m.epochText())
	if !m.haveProg {
		return b.String()
	}
	ep, run := m.progress()
	fmt.Fprintf(&b, " %s %3.0f%%", textBar(ep, 20), 100*ep)
	if m.info.Epochs > 0 {
		fmt.Fprintf(&b, " | run %3.0f%%", 100*run)
	}
	rate, left := m.rates()
	fmt.Fprintf(&b, " | %.1f steps/s", rate)
	if left >= 0 {
		fmt.Fprintf(&b, " | %s left", duration(left))
	}
	fmt.Fprintf(&b, " | loss %.3f acc %.1f%%", m.prog.RunningLoss, m.prog.RunningAcc)
	if m.prog.LR > 0 {
		fmt.Fprintf(&b, " | lr %.3g", m.prog.LR)
	}
	return b.String()
}

func textBar(f float64, n int) string {
	k := int(f*float64(n) + 0.5)
	return "[" + strings.Repeat("#", k) + strings.Repeat("-", n-k) + "]"
}

// duration formats d as 1h02m, 3m05s or 12s.
func duration(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	switch {
	case s >= 3600:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	case s >= 60:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%ds", s)
}

const liveStyle = `font-family:-apple-system,'Segoe UI',Roboto,'Liberation Sans',sans-serif;font-size:13px;line-height:1.45;max-width:800px`

func htmlBar(label string, f float64, right string, c string) string {
	return fmt.Sprintf(`<div style="display:flex;align-items:center;gap:8px;margin:2px 0">`+
		`<span style="width:130px">%s</span>`+
		`<div style="flex:1;height:10px;background:#e8e8e8;border-radius:5px;overflow:hidden">`+
		`<div style="width:%.1f%%;height:100%%;background:%s"></div></div>`+
		`<span style="width:150px;text-align:right;font-variant-numeric:tabular-nums">%s</span></div>`,
		html.EscapeString(label), 100*f, c, html.EscapeString(right))
}

// statusHTML is the display while training.
func (m *LiveView) statusHTML() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="golab-train" style="%s">`, liveStyle)
	fmt.Fprintf(&b, `<div><b>%s</b>`, html.EscapeString(m.title()))
	if m.info.TrainImages > 0 {
		fmt.Fprintf(&b, ` <span style="color:#666">· %d training images, %d for validation, batch %d</span>`,
			m.info.TrainImages, m.info.ValImages, m.info.BatchSize)
	}
	b.WriteString("</div>")
	ep, run := m.progress()
	steps := ""
	if m.haveProg && m.info.StepsPerEpoch > 0 {
		steps = fmt.Sprintf("step %d/%d", m.prog.Step+1, m.info.StepsPerEpoch)
	}
	b.WriteString(htmlBar(m.epochText(), ep, steps, hexColor(series[0])))
	if m.info.Epochs > 0 {
		b.WriteString(htmlBar("run", run, fmt.Sprintf("%.0f%%", 100*run), hexColor(series[2])))
	}
	if m.haveProg {
		rate, left := m.rates()
		fmt.Fprintf(&b, `<div style="font-variant-numeric:tabular-nums">%.1f steps/s`, rate)
		if m.info.BatchSize > 0 {
			fmt.Fprintf(&b, ` · %.0f images/s`, rate*float64(m.info.BatchSize))
		}
		fmt.Fprintf(&b, ` · elapsed %s`, duration(m.elapsed()))
		if left >= 0 {
			fmt.Fprintf(&b, ` · about %s left`, duration(left))
		}
		fmt.Fprintf(&b, `<br>running loss <b>%.3f</b> · running accuracy <b>%.1f%%</b>`, m.prog.RunningLoss, m.prog.RunningAcc)
		if m.prog.LR > 0 {
			fmt.Fprintf(&b, ` · learning rate <b>%.3g</b>`, m.prog.LR)
		}
		if m.hist != nil && len(m.hist.Epochs) > 0 {
			e := m.hist.Epochs[len(m.hist.Epochs)-1]
			fmt.Fprintf(&b, ` · last epoch: validation loss %.3f, accuracy %.1f%%`, e.ValLoss, e.ValAcc)
		}
		b.WriteString("</div>")
	}
	if m.curvesB64 != "" {
		fmt.Fprintf(&b, `<img style="max-width:100%%" alt="loss and accuracy so far" src="data:image/png;base64,%s">`, m.curvesB64)
	}
	if n := len(m.logs); n > 0 {
		b.WriteString(`<pre style="font-size:11px;color:#555;margin:4px 0">`)
		for _, l := range m.logs[max(0, n-logTail):] {
			b.WriteString(html.EscapeString(l))
			b.WriteString("\n")
		}
		b.WriteString("</pre>")
	}
	b.WriteString("</div>")
	return b.String()
}

// summaryLine says how the run ended.
func (m *LiveView) summaryLine(err error) string {
	var b strings.Builder
	b.WriteString(m.title())
	epochs := 0
	if m.hist != nil {
		for _, e := range m.hist.Epochs {
			if e.Epoch >= m.info.StartEpoch {
				epochs++
			}
		}
	}
	if m.info.StartEpoch > 0 {
		fmt.Fprintf(&b, " (resumed at epoch %d)", m.info.StartEpoch)
	}
	if err != nil {
		fmt.Fprintf(&b, ": stopped after %s (%s): %v.", plural.N(epochs, "epoch"), duration(m.runTime()), err)
	} else {
		fmt.Fprintf(&b, ": %s in %s.", plural.N(epochs, "epoch"), duration(m.runTime()))
	}
	if m.hist != nil {
		if acc, ep := m.hist.BestValAcc(); ep >= 0 {
			last := m.hist.Epochs[len(m.hist.Epochs)-1]
			fmt.Fprintf(&b, " Best validation accuracy %.1f%% (epoch %d); last epoch: train loss %.3f, validation loss %.3f, validation accuracy %.1f%%.",
				acc, ep, last.TrainLoss, last.ValLoss, last.ValAcc)
		}
	}
	return b.String()
}

// summaryText is the final plain text: summary, per-epoch table, log lines.
func (m *LiveView) summaryText(err error) string {
	var b strings.Builder
	b.WriteString(m.summaryLine(err))
	b.WriteString("\n")
	if m.hist != nil && len(m.hist.Epochs) > 0 {
		b.WriteString(m.hist.Table())
	}
	if !m.textOut {
		for _, l := range m.logs {
			b.WriteString(l)
			b.WriteString("\n")
		}
	}
	return b.String()
}

// finalHTML is the last state of the display.
func (m *LiveView) finalHTML(pngData []byte, err error) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="golab-train" style="%s">`, liveStyle)
	color := "#222"
	if err != nil {
		color = hexColor(bad)
	}
	fmt.Fprintf(&b, `<div style="color:%s">%s</div>`, color, html.EscapeString(m.summaryLine(err)))
	if pngData != nil {
		fmt.Fprintf(&b, `<img style="max-width:100%%" alt="loss and accuracy" src="data:image/png;base64,%s">`,
			base64.StdEncoding.EncodeToString(pngData))
	}
	b.WriteString(`<details><summary style="cursor:pointer">per-epoch table and log`)
	fmt.Fprintf(&b, ` (%s)</summary>`, plural.N(len(m.logs), "line"))
	if m.hist != nil && len(m.hist.Epochs) > 0 {
		b.WriteString(m.hist.HTML())
	}
	b.WriteString(`<pre style="font-size:11px">`)
	for _, l := range m.logs {
		b.WriteString(html.EscapeString(l))
		b.WriteString("\n")
	}
	b.WriteString("</pre></details></div>")
	return b.String()
}
