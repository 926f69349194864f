package lab

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture makes a small, learnable CIFAR-shaped set: each class has its own
// colour and stripe direction, under noise.
func fixture(t testing.TB, n int, seed uint64) *Dataset {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	pix := make([]byte, n*ImageBytes)
	labels := make([]uint8, n)
	for i := range n {
		c := i % 10
		labels[i] = uint8(c)
		img := pix[i*ImageBytes : (i+1)*ImageBytes]
		for ch := range Channels {
			base := 40 + 60*((c+ch)%4)
			for y := range Height {
				for x := range Width {
					stripe := y
					if c%2 == 1 {
						stripe = x
					}
					v := base + 50*((stripe/(2+c/4))%2) + r.IntN(40)
					img[ch*Height*Width+y*Width+x] = byte(min(v, 255))
				}
			}
		}
	}
	d, err := NewDataset("fixture", DefaultClasses, pix, labels)
	if err != nil {
		t.Fatal(err)
	}
	d, err = d.Normalize(CIFARMean, CIFARStd)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func smallModel(t testing.TB, seed uint64, extra ...Layer) *Model {
	t.Helper()
	layers := []Layer{Conv2d(3, 8, 3, Stride(2)).As("conv1"), ReLU(), MaxPool2d(2)}
	layers = append(layers, extra...)
	layers = append(layers, Flatten(), Linear(Auto, 32).As("fc"), ReLU(), Linear(32, 10).As("out"))
	m, err := BuildCNN("small", seed, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func quiet() Config { return Config{Monitor: TextMonitor(&bytes.Buffer{})} }

// sameFigures compares two Histories, leaving out the wall times.
func sameFigures(a, b *History) bool {
	if len(a.Epochs) != len(b.Epochs) || len(a.Steps) != len(b.Steps) {
		return false
	}
	for i := range a.Epochs {
		x, y := a.Epochs[i], b.Epochs[i]
		x.Seconds, x.ImagesPerSec, y.Seconds, y.ImagesPerSec = 0, 0, 0, 0
		if x != y {
			return false
		}
	}
	for i := range a.Steps {
		if a.Steps[i] != b.Steps[i] {
			return false
		}
	}
	return true
}

func TestLearnsFixture(t *testing.T) {
	train, val := fixture(t, 600, 1), fixture(t, 200, 2)
	m := smallModel(t, 1)
	cfg := quiet()
	cfg.Epochs, cfg.Optimizer = 4, SGD{LR: 0.01, Momentum: 0.9}
	h, err := Train(m, train, val, cfg)
	if err != nil {
		t.Fatal(err)
	}
	first, last := h.Epochs[0], h.Epochs[len(h.Epochs)-1]
	if !(last.TrainLoss < first.TrainLoss) {
		t.Errorf("training loss did not fall: %v → %v", first.TrainLoss, last.TrainLoss)
	}
	if last.ValAcc < 60 {
		t.Errorf("validation accuracy %.1f%% after %d epochs; a learnable fixture should pass 60%%\n%s", last.ValAcc, len(h.Epochs), h.Table())
	}
}

func TestSameSeedSameHistory(t *testing.T) {
	train, val := fixture(t, 200, 1), fixture(t, 50, 2)
	run := func() *History {
		m := smallModel(t, 7, Dropout(0.3))
		cfg := quiet()
		cfg.Epochs, cfg.Seed, cfg.LogEvery = 2, 9, 2
		h, err := Train(m, train, val, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	a, b := run(), run()
	if !sameFigures(a, b) {
		t.Fatalf("two runs with the same seed differ:\n%s\n%s", a.Table(), b.Table())
	}
	m := smallModel(t, 7, Dropout(0.3))
	cfg := quiet()
	cfg.Epochs, cfg.Seed, cfg.LogEvery = 2, 10, 2
	c, err := Train(m, train, val, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sameFigures(a, c) {
		t.Fatal("another seed gave the very same History")
	}
}

func TestLogFormatAndTail(t *testing.T) {
	var out bytes.Buffer
	m := smallModel(t, 1)
	cfg := Config{Epochs: 1, BatchSize: 4, LogEvery: 2, Monitor: TextMonitor(&out)}
	// 10 images at batch 4: steps of 4, 4 and a tail of 2.
	h, err := Train(m, fixture(t, 10, 1), fixture(t, 10, 2), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"epoch: 0, steps: 0, train_loss: ", "running_acc: ", "Validation accuracy: "} {
		if !strings.Contains(s, want) {
			t.Errorf("log lacks %q:\n%s", want, s)
		}
	}
	if len(h.Steps) != 2 || h.Steps[0].Step != 0 || h.Steps[1].Step != 2 {
		t.Errorf("logged steps %+v, want steps 0 and 2", h.Steps)
	}
}

func TestResumeEqualsUninterrupted(t *testing.T) {
	train, val := fixture(t, 120, 1), fixture(t, 40, 2)
	dir := t.TempDir()
	cfg := quiet()
	cfg.Seed, cfg.BatchSize, cfg.RunDir = 3, 16, dir

	whole := smallModel(t, 2, Dropout(0.2))
	c3 := cfg
	c3.Epochs, c3.RunDir = 3, ""
	want, err := Train(whole, train, val, c3)
	if err != nil {
		t.Fatal(err)
	}

	first := smallModel(t, 2, Dropout(0.2))
	c2 := cfg
	c2.Epochs = 2
	if _, err := Train(first, train, val, c2); err != nil {
		t.Fatal(err)
	}
	// A new session: a fresh model, the same configuration, more epochs.
	var out bytes.Buffer
	again := smallModel(t, 2, Dropout(0.2))
	c3 = cfg
	c3.Epochs, c3.Monitor = 3, TextMonitor(&out)
	got, err := Train(again, train, val, c3)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Resuming run") {
		t.Errorf("no resume message:\n%s", out.String())
	}
	if !sameFigures(got, want) {
		t.Fatalf("resumed run differs from the uninterrupted one:\n%s\n%s", got.Table(), want.Table())
	}
	for i, p := range again.Params() {
		if !equalF32(p.Data(), whole.Params()[i].Data()) {
			t.Fatalf("resumed weights %s differ from the uninterrupted run's", p.Name)
		}
	}
	// Asking again returns the finished run at once.
	out.Reset()
	done := smallModel(t, 2, Dropout(0.2))
	h, err := Train(done, train, val, c3)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "has finished 3 epochs") || len(h.Epochs) != 3 {
		t.Errorf("a finished run was not returned as is: %d epochs, log:\n%s", len(h.Epochs), out.String())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !strings.Contains(entries[0].Name(), "small") || !strings.Contains(entries[0].Name(), "b16_n120_seed3") {
		t.Errorf("run folder %v does not name the configuration", entries)
	}
	// LoadRun gives the finished run's weights and History without
	// training, and says so when there is no run.
	loaded := smallModel(t, 2, Dropout(0.2))
	lh, err := LoadRun(loaded, train, val, c3)
	if err != nil || !sameFigures(lh, want) {
		t.Fatalf("LoadRun: %v\n%v", err, lh)
	}
	if !equalF32(loaded.Param("fc.weight").Data(), whole.Param("fc.weight").Data()) {
		t.Error("LoadRun did not load the run's weights")
	}
	c4 := c3
	c4.Seed = 77
	if _, err := LoadRun(smallModel(t, 2, Dropout(0.2)), train, val, c4); !errors.Is(err, ErrNoRun) {
		t.Errorf("LoadRun of a run never trained: %v, want ErrNoRun", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("LoadRun made a folder for a run that does not exist: %v", entries)
	}
	// Another configuration in the same folder name is refused.
	c3.Retrain = false
	other := fixture(t, 120, 99)
	if _, err := Train(smallModel(t, 2, Dropout(0.2)), other, val, c3); err == nil || !strings.Contains(err.Error(), "another configuration") {
		t.Errorf("resuming on other data: err = %v", err)
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// cancelAt cancels a context when training reaches a given step.
type cancelAt struct {
	Monitor
	step   int
	cancel context.CancelFunc
}

func (c cancelAt) Step(p Progress) {
	if p.Epoch == 1 && p.Step == c.step {
		c.cancel()
	}
}

func TestInterruptReturnsHistory(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := smallModel(t, 1)
	before := append([]float32(nil), m.Param("fc.weight").Data()...)
	cfg := Config{Epochs: 5, BatchSize: 8, Context: ctx, Monitor: cancelAt{TextMonitor(&bytes.Buffer{}), 2, cancel}}
	h, err := Train(m, fixture(t, 64, 1), nil, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if h == nil || len(h.Epochs) != 1 {
		t.Fatalf("History after an interrupt in epoch 1: %+v, want the 1 finished epoch", h)
	}
	if equalF32(before, m.Param("fc.weight").Data()) {
		t.Error("the model lost its training")
	}
}

func TestNaNLossStops(t *testing.T) {
	m := smallModel(t, 1)
	cfg := quiet()
	cfg.Epochs, cfg.BatchSize, cfg.Optimizer = 3, 8, SGD{LR: 1e6, Momentum: 0.9}
	h, err := Train(m, fixture(t, 64, 1), nil, cfg)
	if err == nil || !strings.Contains(err.Error(), "the loss became") || !strings.Contains(err.Error(), "at step") {
		t.Fatalf("err = %v, want a NaN/Inf loss error naming the step", err)
	}
	if h == nil {
		t.Fatal("no History returned with the error")
	}
}

func TestEvalModeKeepsBatchNormStatistics(t *testing.T) {
	m := smallModel(t, 1, BatchNorm2d(8).As("bn"))
	rm := m.Param("bn.running_mean").Data()
	train, val := fixture(t, 64, 1), fixture(t, 32, 2)
	cfg := quiet()
	cfg.Epochs, cfg.BatchSize = 1, 16
	if _, err := Train(m, train, val, cfg); err != nil {
		t.Fatal(err)
	}
	after := append([]float32(nil), rm...)
	if after[0] == 0 {
		t.Fatal("training did not move the running mean")
	}
	r1, err := Evaluate(m, val)
	if err != nil {
		t.Fatal(err)
	}
	if !equalF32(after, rm) {
		t.Fatal("evaluation changed the running statistics")
	}
	// Switching back to training continues from them, not from zero.
	if _, err := Train(m, train, nil, cfg); err != nil {
		t.Fatal(err)
	}
	for i := range rm {
		if rm[i] == 0 {
			t.Fatal("training again reset the running statistics")
		}
	}
	r2, _ := Evaluate(m, val)
	if r1 == r2 {
		t.Error("evaluation ignores the updated statistics")
	}
}

func TestPredict(t *testing.T) {
	m := smallModel(t, 1)
	d := fixture(t, 30, 1)
	p, err := Predict(m, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Probs) != 30 || len(p.Predicted) != 30 {
		t.Fatalf("got %d rows", len(p.Probs))
	}
	for i, row := range p.Probs {
		var s float64
		for _, v := range row {
			s += float64(v)
		}
		if math.Abs(s-1) > 1e-5 {
			t.Errorf("row %d sums to %v", i, s)
		}
		if argmax(row) != p.Predicted[i] {
			t.Errorf("row %d: predicted %d, most probable %d", i, p.Predicted[i], argmax(row))
		}
	}
	acc, err := Accuracy(m, d)
	if err != nil || math.Abs(acc-p.Accuracy()) > 1e-9 {
		t.Errorf("Accuracy %v (err %v) differs from the prediction's %v", acc, err, p.Accuracy())
	}
	total := 0
	for _, r := range p.Confusion() {
		for _, c := range r {
			total += c
		}
	}
	if total != 30 {
		t.Errorf("confusion matrix counts %d images, want 30", total)
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	a := smallModel(t, 1, BatchNorm2d(8).As("bn"))
	for i := range a.Param("bn.running_var").Data() {
		a.Param("bn.running_var").Data()[i] = 0.5 + float32(i)
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := a.Save(path); err != nil {
		t.Fatal(err)
	}
	b := smallModel(t, 2, BatchNorm2d(8).As("bn"))
	if err := b.Load(path); err != nil {
		t.Fatal(err)
	}
	batch := randomBatch(5, 1)
	la, err := Logits(a, batch)
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := Logits(b, batch)
	for i := range la {
		if !equalF32(la[i], lb[i]) {
			t.Fatal("loaded model gives other logits")
		}
	}
	// A checkpoint of another model names the tensor that does not fit.
	c, _ := BuildCNN("other", 1, Conv2d(3, 4, 3).As("conv1"), Flatten(), Linear(Auto, 10).As("fc"))
	err = c.Load(path)
	if err == nil || !strings.Contains(err.Error(), `"conv1.weight" has shape [8 3 3 3] in the file but [4 3 3 3]`) {
		t.Errorf("loading a mismatched checkpoint: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := BuildCNN("bad", 1, Conv2d(3, 8, 3).As("conv1"), Flatten(), Linear(100, 10).As("fc")); err == nil ||
		!strings.Contains(err.Error(), "layer fc") || !strings.Contains(err.Error(), "[7200]") || !strings.Contains(err.Error(), "[100]") {
		t.Errorf("shape mismatch: %v, want the layer and both shapes", err)
	}
	if _, err := BuildCNN("bad", 1, Conv2d(4, 8, 3).As("conv1")); err == nil || !strings.Contains(err.Error(), "conv1") || !strings.Contains(err.Error(), "[3 32 32]") {
		t.Errorf("channel mismatch: %v", err)
	}
	for _, p := range []float64{-0.5, 1, 2, math.NaN()} {
		if _, err := BuildCNN("bad", 1, Dropout(p), Flatten(), Linear(Auto, 10)); err == nil || !strings.Contains(err.Error(), "outside [0, 1)") {
			t.Errorf("Dropout(%v): %v", p, err)
		}
	}
	if _, err := BuildCNN("bad", 1, Conv2d(3, 8, 3)); err == nil || !strings.Contains(err.Error(), "flat vector") {
		t.Errorf("model without classifier: %v", err)
	}
	m := smallModel(t, 1)
	if _, err := Train(m, fixture(t, 10, 1), nil, Config{Epochs: -1}); err == nil || !strings.Contains(err.Error(), "Epochs") {
		t.Errorf("negative epochs: %v", err)
	}
	if _, err := Train(m, fixture(t, 10, 1), nil, Config{Optimizer: SGD{LR: -1}}); err == nil || !strings.Contains(err.Error(), "learning rate") {
		t.Errorf("negative learning rate: %v", err)
	}
}

func TestProgramCacheIsBounded(t *testing.T) {
	m := smallModel(t, 1)
	for n := 1; n <= 3*maxPrograms; n++ {
		if _, err := Logits(m, randomBatch(n, uint64(n))); err != nil {
			t.Fatal(err)
		}
		if len(m.programs) > maxPrograms {
			t.Fatalf("after Logits on %d batch sizes the model holds %d graphs, more than %d", n, len(m.programs), maxPrograms)
		}
	}
	// The graph in use stays; the least recently used goes.
	if _, err := Logits(m, randomBatch(2, 1)); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.programs[progKey{false, 2}]; !ok {
		t.Error("the graph just used was evicted")
	}
	if _, ok := m.programs[progKey{false, 3*maxPrograms - maxPrograms + 1}]; ok {
		t.Error("the least recently used graph was kept")
	}
}
