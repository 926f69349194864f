package viz

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golab/lab"
)

// update rewrites the golden images instead of comparing with them:
//
//	go test ./lab/viz -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden images in testdata/golden")

// Golden images are compared the way gonum/plot's cmpimg does it, with a
// tolerance: a pixel differs when one of its channels differs by more than
// goldenDelta, and at most goldenFrac of the pixels may differ, so that
// anti-aliasing noise passes while a moved line, a lost label or a changed
// colour fails.
const (
	goldenDelta = 16
	goldenFrac  = 0.002
)

// checkGolden compares a figure's PNG with testdata/golden/name.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: the figure drew nothing", name)
	}
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: no golden image (%v); run go test ./lab/viz -run Golden -update and look at it", name, err)
	}
	gi, err := png.Decode(bytes.NewReader(got))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	wi, err := png.Decode(bytes.NewReader(want))
	if err != nil {
		t.Fatalf("%s: the golden image: %v", name, err)
	}
	if diff, frac := imageDiff(gi, wi); diff != "" {
		out := filepath.Join(t.TempDir(), name)
		if dir := os.Getenv("VIZ_OUT"); dir != "" {
			out = filepath.Join(dir, "got-"+name)
		}
		_ = os.WriteFile(out, got, 0o644)
		t.Errorf("%s differs from its golden image: %s (%.3f%% of the pixels; the new one is %s). If the change is meant, run go test ./lab/viz -run Golden -update",
			name, diff, 100*frac, out)
	}
}

// imageDiff says how two images differ, "" when within the tolerance.
func imageDiff(a, b image.Image) (string, float64) {
	if a.Bounds().Size() != b.Bounds().Size() {
		return fmt.Sprintf("size %v, golden %v", a.Bounds().Size(), b.Bounds().Size()), 1
	}
	differ := 0
	ab, bb := a.Bounds(), b.Bounds()
	for y := range ab.Dy() {
		for x := range ab.Dx() {
			p, q := rgbaAt(a, ab.Min.X+x, ab.Min.Y+y), rgbaAt(b, bb.Min.X+x, bb.Min.Y+y)
			if absDiff(p.R, q.R) > goldenDelta || absDiff(p.G, q.G) > goldenDelta || absDiff(p.B, q.B) > goldenDelta || absDiff(p.A, q.A) > goldenDelta {
				differ++
			}
		}
	}
	frac := float64(differ) / float64(ab.Dx()*ab.Dy())
	if frac > goldenFrac {
		return fmt.Sprintf("%d pixels differ", differ), frac
	}
	return "", frac
}

func absDiff(a, b uint8) uint8 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestGoldenImages draws every figure of the package from fixed data and
// compares it with its golden image in testdata/golden.
func TestGoldenImages(t *testing.T) {
	d := synthDataset(t, 8)
	probs, truth := synthProbs(4, 10)
	pred := make([]int, 8)
	for i := range pred {
		pred[i] = (i * 3) % 10
	}
	imgs, err := Images(d, 0, 1, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	confTruth, confPred := make([]int, 200), make([]int, 200)
	for i := range confTruth {
		confTruth[i] = i % 10
		confPred[i] = i % 10
		if i%7 == 0 {
			confPred[i] = (i/7 + 3) % 10
		}
	}
	one := synthHistory("CNNModel", 12, 0.5)
	figures := []struct {
		name string
		png  func() []byte
	}{
		{"images.png", func() []byte { return ShowImages(d).PNG() }},
		{"images-predicted.png", func() []byte { return ShowImages(d).Predicted(pred).PNG() }},
		{"images-cols-scale.png", func() []byte { return ShowImages(d, 0, 1, 2).Cols(2).Scale(2).Title("three").PNG() }},
		{"curves.png", func() []byte { return PlotCurves(one).PNG() }},
		{"curves-compare.png", func() []byte {
			return PlotCurves(synthHistory("DropoutCNN p=0.2", 12, 0.2), synthHistory("DropoutCNN p=0.5", 12, 0.5), synthHistory("DropoutCNN p=0.8", 12, 0.8)).PNG()
		}},
		{"probabilities-table.png", func() []byte { return ProbTable(probs, truth, testClasses).PNG() }},
		{"probabilities-bars.png", func() []byte { return ProbBars(probs, truth, testClasses, imgs).PNG() }},
		{"confusion.png", func() []byte { return Confusion(confTruth, confPred, testClasses).PNG() }},
		{"live-midrun-curves.png", func() []byte { return liveCurves(t) }},
	}
	for _, f := range figures {
		t.Run(f.name, func(t *testing.T) { checkGolden(t, f.name, f.png()) })
	}
}

// liveCurves is the curve image the live view shows mid-run: the finished
// epochs and the running values of the current one.
func liveCurves(t *testing.T) []byte {
	t.Helper()
	m := LiveMonitor()
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	m.now = clock.now
	useHost(t, &fakeHost{clock: clock})
	m.Begin(lab.RunInfo{Label: "CNNModel", Epochs: 6, StepsPerEpoch: 120, BatchSize: 32, TrainImages: 3840})
	h := &lab.History{Model: "CNNModel", Label: "CNNModel"}
	full := synthHistory("CNNModel", 3, 0.5)
	for e := range 3 {
		for s := range 120 {
			m.Step(lab.Progress{Epoch: e, Step: s, RunningLoss: 2 - 0.3*float64(e) - 0.002*float64(s), RunningAcc: 30 + 8*float64(e) + 0.05*float64(s)})
		}
		h.Epochs = append(h.Epochs, full.Epochs[e])
		m.Epoch(h)
	}
	for s := range 60 {
		m.Step(lab.Progress{Epoch: 3, Step: s, RunningLoss: 1.1 - 0.002*float64(s), RunningAcc: 60 + 0.05*float64(s)})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drawCurves()
	b, err := base64.StdEncoding.DecodeString(m.curvesB64)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestImageDiffCatchesChanges makes sure the comparison fails on a real
// change and passes on the image itself.
func TestImageDiffCatchesChanges(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "curves.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := imageDiff(img, img); d != "" {
		t.Errorf("an image differs from itself: %s", d)
	}
	changed := image.NewRGBA(img.Bounds())
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			changed.Set(x, y, img.At(x, y))
		}
	}
	for y := 100; y < 140; y++ { // a 40×40 square, as a moved legend would be
		for x := 200; x < 240; x++ {
			changed.Set(x, y, image.Black.At(0, 0))
		}
	}
	if d, _ := imageDiff(changed, img); d == "" {
		t.Error("a 40×40 black square passed as no change")
	}
	other, _ := os.ReadFile(filepath.Join("testdata", "golden", "curves-compare.png"))
	oi, _ := png.Decode(bytes.NewReader(other))
	if d, _ := imageDiff(oi, img); d == "" {
		t.Error("two different figures passed as the same")
	}
}
