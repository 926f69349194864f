package viz

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golab/frontend"
	"golab/lab"
)

var testClasses = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// pattern is the synthetic value of channel c at (x, y) of image i. The
// three channels differ and none is symmetric in x and y, so a swapped
// channel, a transposed or a flipped image shows.
func pattern(i, c, x, y int) byte {
	switch c {
	case 0:
		return byte(x*7 + i*13)
	case 1:
		return byte(y*11 + i*5 + 40)
	}
	return byte(x*y + 3*i + 90)
}

// synthDataset makes n images of the pattern, labelled i mod 10.
func synthDataset(t testing.TB, n int) *lab.Dataset {
	t.Helper()
	pix := make([]byte, n*lab.ImageBytes)
	labels := make([]uint8, n)
	for i := range n {
		for c := range lab.Channels {
			for y := range lab.Height {
				for x := range lab.Width {
					pix[i*lab.ImageBytes+c*lab.Height*lab.Width+y*lab.Width+x] = pattern(i, c, x, y)
				}
			}
		}
		labels[i] = uint8(i % 10)
	}
	d, err := lab.NewDataset("synthetic", testClasses, pix, labels)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// synthHistory is a run whose loss falls and accuracy rises; p shifts it.
func synthHistory(label string, epochs int, p float64) *lab.History {
	h := &lab.History{Model: "DropoutCNN", Label: label}
	for e := range epochs {
		x := float64(e + 1)
		h.Epochs = append(h.Epochs, lab.EpochStats{
			Epoch:     e,
			TrainLoss: 2/(1+0.3*x) + 0.1*p,
			ValLoss:   1.9/(1+0.2*x) + 0.02*x*(1-p),
			TrainAcc:  30 + 50*(1-1/(1+0.3*x)) - 10*p,
			ValAcc:    32 + 35*(1-1/(1+0.25*x)) - 5*p,
			Seconds:   30,
		})
		for s := 0; s < 1000; s += 250 {
			h.Steps = append(h.Steps, lab.StepLog{Epoch: e, Step: s, RunningLoss: 2 / (1 + 0.3*x), RunningAcc: 40})
		}
	}
	return h
}

// synthProbs returns softmax-like rows peaked at a class that is right for
// even rows and wrong for odd rows.
func synthProbs(n, classes int) (probs [][]float32, truth []int) {
	for i := range n {
		t := i % classes
		peak := t
		if i%2 == 1 {
			peak = (t + 3) % classes
		}
		row := make([]float32, classes)
		var sum float32
		for k := range row {
			row[k] = float32(math.Exp(-float64((k - peak) * (k - peak))))
			sum += row[k]
		}
		for k := range row {
			row[k] /= sum
		}
		probs = append(probs, row)
		truth = append(truth, t)
	}
	return probs, truth
}

// decodePNG decodes b and checks its size.
func decodePNG(t *testing.T, b []byte, w, h int) image.Image {
	t.Helper()
	if b == nil {
		t.Fatal("PNG returned nil")
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decoding the PNG: %v", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(w, h) {
		t.Fatalf("PNG is %v pixels; want %dx%d", got, w, h)
	}
	if w > MaxWidth {
		t.Fatalf("PNG is %d pixels wide; a notebook column fits %d", w, MaxWidth)
	}
	return img
}

// checkNotBlank fails unless the image has ink: enough non-white pixels and
// several colours.
func checkNotBlank(t *testing.T, img image.Image, minInk float64) {
	t.Helper()
	b := img.Bounds()
	ink := 0
	colours := map[color.RGBA]bool{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if c.R < 240 || c.G < 240 || c.B < 240 {
				ink++
			}
			if len(colours) < 64 {
				colours[c] = true
			}
		}
	}
	frac := float64(ink) / float64(b.Dx()*b.Dy())
	if frac < minInk {
		t.Errorf("only %.2f%% of the pixels are drawn; want at least %.2f%%", 100*frac, 100*minInk)
	}
	if len(colours) < 3 {
		t.Errorf("the image has %d colours; it looks blank", len(colours))
	}
}

func rgbaAt(img image.Image, x, y int) color.RGBA {
	return color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
}

// checkSVG checks that s is an SVG document.
func checkSVG(t *testing.T, s string) {
	t.Helper()
	if !strings.Contains(s, "<svg") || !strings.Contains(s, "</svg>") {
		n := min(len(s), 80)
		t.Errorf("SVG() is not an SVG document: %q", s[:n])
	}
}

// fakeHost records displays for the live view tests.
type fakeHost struct {
	clock *fakeClock
	calls []displayCall
	fail  error
}

type displayCall struct {
	bundle map[string]any
	id     string
	update bool
	at     time.Time
}

func (h *fakeHost) Context() context.Context { return context.Background() }

func (h *fakeHost) Display(b frontend.Bundle) error {
	if h.fail != nil {
		return h.fail
	}
	at := time.Time{}
	if h.clock != nil {
		at = h.clock.t
	}
	h.calls = append(h.calls, displayCall{bundle: b.Data, id: b.ID, update: b.Update, at: at})
	return nil
}

func (h *fakeHost) ClearOutput(bool) error { return nil }

// useHost registers h as the front end for the test.
func useHost(t *testing.T, h frontend.Frontend) { t.Cleanup(frontend.Set(h)) }

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// cifar10 reads the first n test images of the shared data set, or skips
// the test when $CIFAR10_DIR does not hold it.
func cifar10(t *testing.T, n int) (*lab.Dataset, []byte) {
	t.Helper()
	dir := os.Getenv("CIFAR10_DIR")
	if dir == "" {
		t.Skip("CIFAR10_DIR is not set; set it to the cifar-10-batches-bin folder to test on real images")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "test_batch.bin"))
	if err != nil {
		t.Skipf("no CIFAR-10 test batch in CIFAR10_DIR=%s: %v", dir, err)
	}
	meta, err := os.ReadFile(filepath.Join(dir, "batches.meta.txt"))
	if err != nil {
		t.Skipf("no batches.meta.txt in CIFAR10_DIR=%s: %v", dir, err)
	}
	classes := strings.Fields(string(meta))
	const rec = lab.ImageBytes + 1
	if len(raw) < n*rec {
		t.Fatalf("test_batch.bin has %d bytes; want at least %d", len(raw), n*rec)
	}
	pix := make([]byte, 0, n*lab.ImageBytes)
	labels := make([]uint8, n)
	for i := range n {
		labels[i] = raw[i*rec]
		pix = append(pix, raw[i*rec+1:(i+1)*rec]...)
	}
	d, err := lab.NewDataset("test", classes, pix, labels)
	if err != nil {
		t.Fatal(err)
	}
	return d, raw
}

// saveFigure writes a figure to $VIZ_OUT when it is set, for looking at.
func saveFigure(t *testing.T, name string, fig interface{ Save(string) error }) {
	t.Helper()
	dir := os.Getenv("VIZ_OUT")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fig.Save(filepath.Join(dir, name)); err != nil {
		t.Errorf("saving %s: %v", name, err)
	}
}
