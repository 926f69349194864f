// Command vizfigs writes every figure type of package viz to files, for the
// screenshots in docs/ and for looking at the figures outside a notebook.
//
//	go run ./lab/viz/cmd/vizfigs -out docs/figures \
//	    -history runs/p02.json,runs/p05.json,runs/p08.json \
//	    -predictions runs/predictions.json
//
// Images come from the CIFAR-10 test batch in -cifar (default $CIFAR10_DIR).
// -live-train N trains CNNModel N epochs on that data through the live view
// and pictures its display mid-run and at the end.
// -history takes History JSON files (History.MarshalIndent), the first also
// drawn alone and replayed through the live view. -predictions takes
//
//	{"truth": [...], "pred": [...],     // every evaluated test image, for the confusion matrix
//	 "sample": [...],                   // a few positions in test_batch.bin to show
//	 "probs": [[...], ...]}             // the softmax row of each sample image
//
// With -demo, inputs that are not given are made up, and say so in their
// labels; without it, figures that lack their input are skipped. The live
// view is written as HTML pages (mid-run and final); with -chromium naming
// a Chromium binary, they are also screenshot to PNG.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golab/frontend"
	"golab/lab"
	"golab/lab/models"
	"golab/lab/viz"
)

var (
	chromium   string
	liveEpochs int
)

type predictions struct {
	Truth  []int       `json:"truth"`
	Pred   []int       `json:"pred"`
	Sample []int       `json:"sample"`
	Probs  [][]float32 `json:"probs"`
}

func main() {
	out := flag.String("out", "docs/figures", "folder to write the figures to")
	cifar := flag.String("cifar", os.Getenv("CIFAR10_DIR"), "CIFAR-10 binary folder (test_batch.bin, batches.meta.txt)")
	histories := flag.String("history", "", "comma-separated History JSON files")
	predFile := flag.String("predictions", "", "predictions JSON file")
	demo := flag.Bool("demo", false, "make up the inputs that are not given")
	flag.StringVar(&chromium, "chromium", "", "Chromium binary to screenshot the live view's HTML pages with")
	flag.IntVar(&liveEpochs, "live-train", 0, "train CNNModel this many epochs on the -cifar data through the live view, for its pictures (instead of replaying the first -history)")
	flag.Parse()
	if err := run(*out, *cifar, *histories, *predFile, *demo); err != nil {
		fmt.Fprintln(os.Stderr, "vizfigs:", err)
		os.Exit(1)
	}
}

type figure interface {
	Save(path string) error
}

func run(out, cifar, histFiles, predFile string, demo bool) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	save := func(name string, f figure) error {
		start := time.Now()
		path := filepath.Join(out, name)
		if err := f.Save(path); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Printf("wrote %s (%v)\n", path, time.Since(start).Round(time.Millisecond))
		return nil
	}

	test, err := loadTest(cifar)
	if err != nil {
		return fmt.Errorf("reading CIFAR-10 from -cifar %q: %w", cifar, err)
	}
	if liveEpochs > 0 {
		if err := trainLive(out, cifar, liveEpochs); err != nil {
			return fmt.Errorf("training for the live view: %w", err)
		}
	}
	if err := save("images.png", viz.ShowImages(test, 0, 1, 2, 3)); err != nil {
		return err
	}

	hs, err := loadHistories(histFiles)
	if err != nil {
		return err
	}
	if len(hs) == 0 && demo {
		for _, p := range []float64{0.2, 0.5, 0.8} {
			hs = append(hs, demoHistory(fmt.Sprintf("synthetic p=%.1f", p), 15, p))
		}
	}
	if len(hs) > 0 {
		if err := save("curves.png", viz.PlotCurves(hs[0])); err != nil {
			return err
		}
		if err := save("curves-compare.png", viz.PlotCurves(hs...)); err != nil {
			return err
		}
		if liveEpochs == 0 {
			if err := replayLive(out, hs[0]); err != nil {
				return err
			}
		}
	}

	var p *predictions
	if predFile != "" {
		p = &predictions{}
		b, err := os.ReadFile(predFile)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, p); err != nil {
			return fmt.Errorf("%s: %w", predFile, err)
		}
	} else if demo {
		p = demoPredictions(test)
	}
	if p == nil {
		return nil
	}
	if len(p.Sample) > 0 {
		truth := make([]int, len(p.Sample))
		pred := make([]int, len(p.Sample))
		for k, i := range p.Sample {
			if i < 0 || i >= test.Len() {
				return fmt.Errorf("sample position %d is outside the %d test images", i, test.Len())
			}
			truth[k] = test.Label(i)
			if k < len(p.Probs) {
				pred[k] = argmax(p.Probs[k])
			}
		}
		imgs, err := viz.Images(test, p.Sample...)
		if err != nil {
			return err
		}
		if err := save("images-predicted.png", viz.ShowImages(test, p.Sample...).Predicted(pred)); err != nil {
			return err
		}
		table := viz.ProbTable(p.Probs, truth, test.Classes)
		if err := save("probabilities-table.png", table); err != nil {
			return err
		}
		if err := save("probabilities-table.html", table); err != nil {
			return err
		}
		if err := save("probabilities-bars.png", viz.ProbBars(p.Probs, truth, test.Classes, imgs)); err != nil {
			return err
		}
	}
	if len(p.Truth) > 0 {
		if err := save("confusion.png", viz.Confusion(p.Truth, p.Pred, test.Classes)); err != nil {
			return err
		}
	}
	return nil
}

// loadTest reads the CIFAR-10 test batch in file order.
func loadTest(dir string) (*lab.Dataset, error) {
	if dir == "" {
		return nil, errors.New("no folder given; set CIFAR10_DIR or pass -cifar")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "test_batch.bin"))
	if err != nil {
		return nil, err
	}
	meta, err := os.ReadFile(filepath.Join(dir, "batches.meta.txt"))
	if err != nil {
		return nil, err
	}
	const rec = lab.ImageBytes + 1
	n := len(raw) / rec
	pix := make([]byte, 0, n*lab.ImageBytes)
	labels := make([]uint8, n)
	for i := range n {
		labels[i] = raw[i*rec]
		pix = append(pix, raw[i*rec+1:(i+1)*rec]...)
	}
	return lab.NewDataset("test", strings.Fields(string(meta)), pix, labels)
}

func loadHistories(files string) ([]*lab.History, error) {
	var hs []*lab.History
	for _, f := range strings.Split(files, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		h := &lab.History{}
		if err := json.Unmarshal(b, h); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		hs = append(hs, h)
	}
	return hs, nil
}

// liveHost records the live view's displays.
type liveHost struct{ bundles []map[string]any }

func (h *liveHost) Context() context.Context { return context.Background() }

// setHost registers h as the front end and returns what undoes it.
func setHost(h frontend.Frontend) (restore func()) { return frontend.Set(h) }

func (h *liveHost) Display(b frontend.Bundle) error {
	h.bundles = append(h.bundles, b.Data)
	return nil
}

func (h *liveHost) ClearOutput(bool) error { return nil }

// replayLive runs h through the live view, as Train would at 200 steps per
// epoch, and writes its display mid-run and at the end as HTML pages.
func replayLive(out string, h *lab.History) error {
	if len(h.Epochs) == 0 {
		return nil
	}
	lh := &liveHost{}
	restore := setHost(lh)
	defer restore()
	const steps = 200
	m := viz.LiveMonitor()
	// A replay: the epochs are the History's, the steps inside them are
	// interpolated. -live-train gives pictures of a real run instead.
	m.Begin(lab.RunInfo{Label: h.Label + " (replay)", Epochs: len(h.Epochs), StepsPerEpoch: steps, BatchSize: 32, TrainImages: steps * 32})
	replay := &lab.History{Model: h.Model, Label: h.Label}
	var elapsed time.Duration
	midEpoch := len(h.Epochs) / 2
	var mid map[string]any
	for e, stats := range h.Epochs {
		epochTime := time.Duration(stats.Seconds * float64(time.Second) * 0.9)
		step := func(s int) {
			frac := float64(s+1) / steps
			m.Step(lab.Progress{Epoch: e, Step: s,
				RunningLoss: stats.TrainLoss * (1 + 0.2*(1-frac)),
				RunningAcc:  stats.TrainAcc * (0.9 + 0.1*frac),
				Elapsed:     elapsed + time.Duration(frac*float64(epochTime)),
				EpochTime:   time.Duration(frac * float64(epochTime))})
		}
		for s := range steps {
			step(s)
			if (s+1)%50 == 0 {
				m.Log(lab.StepLog{Epoch: e, Step: (s + 1) * 32, RunningLoss: stats.TrainLoss, RunningAcc: stats.TrainAcc}.String())
			}
			if e == midEpoch && s == steps*2/3 {
				// Wait until the throttle redraws the curves with this
				// epoch's running values: it keeps them to a few seconds
				// apart, to cost under 0.3% of the time.
				before := curveImage(lh.bundles[len(lh.bundles)-1])
				for range 30 {
					time.Sleep(time.Second)
					step(s)
					if curveImage(lh.bundles[len(lh.bundles)-1]) != before {
						break
					}
				}
				mid = lh.bundles[len(lh.bundles)-1]
			}
		}
		elapsed += time.Duration(stats.Seconds * float64(time.Second))
		replay.Epochs = append(replay.Epochs, stats)
		m.Epoch(replay)
	}
	m.End(replay, nil)
	return writeLivePages(out, mid, lh.bundles[len(lh.bundles)-1], len(lh.bundles))
}

// writeLivePages writes the live view's display mid-run and at the end as
// HTML pages, and screenshots them with -chromium.
func writeLivePages(out string, mid, final map[string]any, displays int) error {
	for _, page := range []struct {
		name   string
		bundle map[string]any
		height int
	}{{"live-midrun", mid, 540}, {"live-final", final, 450}} {
		if page.bundle == nil {
			continue
		}
		doc := `<!doctype html><meta charset="utf-8"><body style="margin:12px;width:820px;background:#fff">` +
			page.bundle["text/html"].(string) + "</body>"
		path := filepath.Join(out, page.name+".html")
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			return err
		}
		fmt.Printf("wrote %s (%d displays)\n", path, displays)
		if chromium != "" {
			if err := screenshot(path, filepath.Join(out, page.name+".png"), page.height); err != nil {
				return err
			}
		}
	}
	return nil
}

// midRun records the live view's display part way through the last epoch.
type midRun struct {
	lab.Monitor
	host   *liveHost
	epochs int
	at     int // step of the last epoch to record at
	mid    map[string]any
}

func (r *midRun) Begin(info lab.RunInfo) {
	r.at = info.StepsPerEpoch * 2 / 3
	r.Monitor.Begin(info)
}

func (r *midRun) Step(p lab.Progress) {
	r.Monitor.Step(p)
	if p.Epoch == r.epochs-1 && p.Step == r.at && len(r.host.bundles) > 0 {
		r.mid = r.host.bundles[len(r.host.bundles)-1]
	}
}

// trainLive trains CNNModel for a few epochs on the 49,000 training images
// (seed 0, as the notebooks), through the live view as the kernel shows it,
// and writes its display mid-run and at the end: a real run, not a replay.
func trainLive(out, cifar string, epochs int) error {
	data, err := lab.LoadCIFARWith(lab.CIFAROptions{Dir: cifar, NoDownload: true, Out: io.Discard})
	if err != nil {
		return err
	}
	all, err := data.Train.Normalize(lab.CIFARMean, lab.CIFARStd)
	if err != nil {
		return err
	}
	train, val, err := all.Split(1000, 0)
	if err != nil {
		return err
	}
	m, err := models.CNNModel()
	if err != nil {
		return err
	}
	lh := &liveHost{}
	restore := setHost(lh)
	defer restore()
	rec := &midRun{Monitor: viz.LiveMonitor(), host: lh, epochs: epochs}
	if _, err := lab.Train(m, train, val, lab.Config{Epochs: epochs, Monitor: rec}); err != nil {
		return err
	}
	return writeLivePages(out, rec.mid, lh.bundles[len(lh.bundles)-1], len(lh.bundles))
}

func curveImage(bundle map[string]any) string {
	html, _ := bundle["text/html"].(string)
	_, after, _ := strings.Cut(html, "data:image/png;base64,")
	uri, _, _ := strings.Cut(after, `"`)
	return uri
}

// screenshot renders an HTML page to PNG with headless Chromium.
func screenshot(page, png string, height int) error {
	abs, err := filepath.Abs(page)
	if err != nil {
		return err
	}
	pngAbs, err := filepath.Abs(png)
	if err != nil {
		return err
	}
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		fmt.Sprintf("--window-size=850,%d", height), "--screenshot="+pngAbs, "file://"+abs)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("screenshot of %s: %v\n%s", page, err, b)
	}
	fmt.Printf("wrote %s\n", png)
	return nil
}

func argmax(row []float32) int {
	best := 0
	for k, v := range row {
		if v > row[best] {
			best = k
		}
	}
	return best
}

// demoHistory makes up a run; p shifts its curves.
func demoHistory(label string, epochs int, p float64) *lab.History {
	h := &lab.History{Model: "DropoutCNN", Label: label}
	for e := range epochs {
		x := float64(e + 1)
		h.Epochs = append(h.Epochs, lab.EpochStats{Epoch: e,
			TrainLoss: 1.9/(1+0.25*x) + 0.25*p, ValLoss: 1.7/(1+0.2*x) + 0.5 + 0.015*x*(1-p),
			TrainAcc: 35 + 55*(1-1/(1+0.25*x)) - 15*p, ValAcc: 38 + 40*(1-1/(1+0.3*x)) - 4*p,
			Seconds: 42})
	}
	return h
}

// demoPredictions makes up predictions for the test set: right about two
// times in three, with peaked softmax rows for a few sample images.
func demoPredictions(test *lab.Dataset) *predictions {
	r := rand.New(rand.NewPCG(1, 2))
	p := &predictions{}
	for i := range test.Len() {
		t := test.Label(i)
		pr := t
		if r.Float64() < 0.35 {
			pr = r.IntN(10)
		}
		p.Truth = append(p.Truth, t)
		p.Pred = append(p.Pred, pr)
	}
	p.Sample = []int{11, 24, 37, 43}
	for _, i := range p.Sample {
		row := make([]float32, 10)
		var sum float64
		for k := range row {
			v := math.Exp(3 * r.Float64())
			if k == p.Pred[i] {
				v *= 12
			}
			row[k] = float32(v)
			sum += v
		}
		for k := range row {
			row[k] /= float32(sum)
		}
		p.Probs = append(p.Probs, row)
	}
	return p
}
