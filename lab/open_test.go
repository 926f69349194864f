package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestModelsOwnTheirWeights builds two models from the same layer values,
// as a notebook does with one layers slice: each keeps its own weights,
// computes with them, and the layers are left as they were.
func TestModelsOwnTheirWeights(t *testing.T) {
	conv, fl, fc := Conv2d(3, 4, 3), Flatten(), Linear(Auto, 10)
	layers := []Layer{conv, fl, fc}
	before := fmt.Sprint(layers)
	m1, err := BuildCNN("a", 1, layers...)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := BuildCNN("b", 2, layers...)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := BuildCNN("a", 1, Conv2d(3, 4, 3), Flatten(), Linear(Auto, 10))
	b := randomBatch(3, 4)
	l1, _ := Logits(m1, b)
	l2, _ := Logits(m2, b)
	lf, _ := Logits(fresh, b)
	if fmt.Sprint(l1) != fmt.Sprint(lf) {
		t.Error("model a does not compute with its own weights: its logits differ from a fresh seed-1 model's")
	}
	if fmt.Sprint(l1) == fmt.Sprint(l2) {
		t.Error("models a and b give the same logits: they share weights")
	}
	if equalF32(m1.Param("0.weight").Data(), m2.Param("0.weight").Data()) {
		t.Error("models of seeds 1 and 2 hold the same weights")
	}
	// Training one leaves the other alone.
	w2 := slices.Clone(m2.Param("2.weight").Data())
	cfg := quiet()
	cfg.Epochs, cfg.BatchSize = 1, 8
	if _, err := Train(m1, fixture(t, 16, 1), nil, cfg); err != nil {
		t.Fatal(err)
	}
	if !equalF32(w2, m2.Param("2.weight").Data()) {
		t.Error("training model a changed model b's weights")
	}
	if l, _ := Logits(m2, b); fmt.Sprint(l) != fmt.Sprint(l2) {
		t.Error("training model a changed model b's logits")
	}
	// BuildCNN neither names nor otherwise changes the layers.
	if after := fmt.Sprint(layers); after != before {
		t.Errorf("BuildCNN changed its layers: %s → %s", before, after)
	}
	for _, l := range layers {
		if n := l.(Nameable).Name(); n != "" {
			t.Errorf("BuildCNN named layer %s %q", l, n)
		}
	}
	if m1.LayerName(1) != "1" || m1.Summary() == "" || !strings.Contains(m1.Summary(), "in_features=3600") {
		t.Errorf("positional names or the inferred size missing:\n%s", m1.Summary())
	}
	// As returns a named copy.
	named := conv.As("c1")
	if conv.Name() != "" || layerName(named) != "c1" {
		t.Error("As changed the layer it was called on")
	}
}

// scale is a student-style layer: a learnt scale per channel.
type scale struct{}

func (scale) String() string { return "Scale()" }
func (scale) Setup(s *Setup, in []int) ([]int, error) {
	w := s.Param("weight", in[0])
	for i := range w {
		w[i] = 1 + 0.1*float32(i)
	}
	return in, nil
}
func (scale) Forward(p *Pass, y, x []float32) error {
	w, plane := p.Param("weight"), size(p.In[1:])
	for i, v := range x {
		y[i] = v * w[(i/plane)%p.In[0]]
	}
	return nil
}
func (scale) Backward(p *Pass, dx, dy, x, y []float32) error {
	w, dw, plane := p.Param("weight"), p.Grad("weight"), size(p.In[1:])
	clear(dw)
	for i, g := range dy {
		c := (i / plane) % p.In[0]
		dw[c] += g * x[i]
		if dx != nil {
			dx[i] = g * w[c]
		}
	}
	return nil
}

// wrongScale forgets the weight in dx.
type wrongScale struct{ scale }

func (wrongScale) Backward(p *Pass, dx, dy, x, y []float32) error {
	scale{}.Backward(p, nil, dy, x, y)
	if dx != nil {
		copy(dx, dy)
	}
	return nil
}

func TestGradCheck(t *testing.T) {
	square := Custom("Square()",
		func(p *Pass, y, x []float32) error {
			for i, v := range x {
				y[i] = v * v
			}
			return nil
		},
		func(p *Pass, dx, dy, x, y []float32) error {
			for i, v := range x {
				dx[i] = 2 * v * dy[i]
			}
			return nil
		})
	good := []struct {
		l  Layer
		in []int
	}{
		{square, []int{3, 4, 4}},
		{scale{}, []int{3, 4, 4}},
		{Conv2d(3, 4, 3, Padding(1)), []int{3, 6, 6}},
		{Conv2d(2, 3, 3, Stride(2), NoBias()), []int{2, 7, 7}},
		{BatchNorm2d(3), []int{3, 4, 4}},
		{Linear(Auto, 5), []int{12}},
		{LeakyReLU(0.1), []int{2, 5, 5}},
		{MaxPool2d(2), []int{2, 6, 6}},
		{Dropout(0.3), []int{2, 5, 5}},
		{Dropout2d(0.5), []int{4, 3, 3}},
		{Flatten(), []int{2, 3, 3}},
	}
	for _, c := range good {
		rep, err := GradCheck(c.l, c.in...)
		if err != nil {
			t.Errorf("%s: %v", c.l, err)
			continue
		}
		if len(rep) == 0 || rep[0].Name != "input" || rep[0].Checked == 0 {
			t.Errorf("%s: report %v", c.l, rep)
		}
	}
	rep, err := GradCheck(wrongScale{}, 3, 4, 4)
	if err == nil || !strings.Contains(err.Error(), "gradient of input is off") {
		t.Errorf("a wrong input gradient passed: %v\n%s", err, rep)
	}
	for _, g := range rep {
		if g.Name == "weight" && !g.OK {
			t.Errorf("the right weight gradient failed: %+v", g)
		}
	}
	if _, err := GradCheck(Conv2d(3, 4, 3), 2, 8, 8); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("a layer that does not fit its input: %v", err)
	}
	panicky := Custom("Panicky()", func(p *Pass, y, x []float32) error { _ = x[len(x)+1]; return nil }, nil)
	if _, err := GradCheck(panicky, 3); err == nil || !strings.Contains(err.Error(), "index out of range") {
		t.Errorf("a layer that panics: %v", err)
	}
}

// TestCustomLayerTrains builds a student's layer into a model and trains it.
func TestCustomLayerTrains(t *testing.T) {
	m, err := BuildCNN("custom", 1, Conv2d(3, 6, 3, Stride(2)).As("c1"), Named("scale", scale{}), ReLU(), MaxPool2d(2), Flatten(), Linear(Auto, 10).As("fc"))
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Param("scale.weight"); p == nil || !p.Trainable || p.Size() != 6 {
		t.Fatalf("the custom layer's parameter: %+v", p)
	}
	before := slices.Clone(m.Param("scale.weight").Data())
	cfg := quiet()
	cfg.Epochs, cfg.Optimizer = 3, SGD{LR: 0.02, Momentum: 0.9}
	h, err := Train(m, fixture(t, 200, 1), fixture(t, 50, 2), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if equalF32(before, m.Param("scale.weight").Data()) {
		t.Error("training did not move the custom layer's weights")
	}
	if h.Epochs[2].TrainLoss >= h.Epochs[0].TrainLoss {
		t.Errorf("the loss did not fall:\n%s", h.Table())
	}
	gradCheck(t, m, 3, 24, 2e-2)
	// A layer whose Forward fails says which layer and why.
	failing := Custom("Failing()", func(p *Pass, y, x []float32) error { return errors.New("no, thanks") }, nil)
	fm, err := BuildCNN("f", 1, Conv2d(3, 2, 3, Stride(4)), failing, Flatten(), Linear(Auto, 10))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Logits(fm, randomBatch(2, 1)); err == nil || !strings.Contains(err.Error(), "layer 1 Failing(): no, thanks") {
		t.Errorf("a failing custom layer: %v", err)
	}
	if _, err := BuildCNN("bad", 1, Custom("Bad()", nil, nil), Flatten(), Linear(Auto, 10)); err == nil || !strings.Contains(err.Error(), "forward function is nil") {
		t.Errorf("a custom layer without forward: %v", err)
	}
	badSetup := Custom("Twice()", func(*Pass, []float32, []float32) error { return nil }, nil,
		WithSetup(func(s *Setup, in []int) ([]int, error) { s.Param("w", 1); s.Param("w", 2); return in, nil }))
	if _, err := BuildCNN("bad", 1, badSetup, Flatten(), Linear(Auto, 10)); err == nil || !strings.Contains(err.Error(), "must be unique") {
		t.Errorf("a parameter declared twice: %v", err)
	}
}

// countingLayer counts its Forward calls.
type countingLayer struct{ n *int }

func (countingLayer) String() string                          { return "Counting()" }
func (countingLayer) Setup(s *Setup, in []int) ([]int, error) { return in, nil }
func (c countingLayer) Forward(p *Pass, y, x []float32) error { *c.n++; copy(y, x); return nil }
func (countingLayer) Backward(p *Pass, dx, dy, x, y []float32) error {
	copy(dx, dy)
	return nil
}

// TestStepperBeats checks that the beats are separate: Backward runs no
// forward op, gradients add up until ZeroGrad, and the beats one by one
// are Step.
func TestStepperBeats(t *testing.T) {
	forwards := 0
	build := func() *Model {
		m, err := BuildCNN("beats", 1, Conv2d(3, 4, 3, Stride(2)).As("c1"), countingLayer{&forwards}, ReLU(), Flatten(), Linear(Auto, 10).As("fc"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	b := randomBatch(4, 3)
	m := build()
	st, err := NewStepper(m, Config{Optimizer: SGD{LR: 0.01, Momentum: 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Backward(); err == nil || !strings.Contains(err.Error(), "Forward first") {
		t.Errorf("Backward before Forward: %v", err)
	}
	loss, err := st.Forward(b)
	if err != nil || !(loss > 0) || forwards != 1 || len(st.Logits()) != 4 {
		t.Fatalf("Forward: loss %v, err %v, %d forward passes, %d rows of logits", loss, err, forwards, len(st.Logits()))
	}
	st.ZeroGrad()
	if err := st.Backward(); err != nil {
		t.Fatal(err)
	}
	if forwards != 1 {
		t.Errorf("Backward ran the forward pass again: %d forward passes", forwards)
	}
	g1 := slices.Clone(m.Param("fc.weight").Grad())
	if err := st.Backward(); err == nil {
		t.Error("a second Backward of one Forward was accepted")
	}
	// Without ZeroGrad, a second forward and backward add up.
	if _, err := st.Forward(b); err != nil {
		t.Fatal(err)
	}
	if err := st.Backward(); err != nil {
		t.Fatal(err)
	}
	for i, g := range m.Param("fc.weight").Grad() {
		if math.Abs(float64(g-2*g1[i])) > 1e-5*math.Max(1, math.Abs(float64(g))) {
			t.Fatalf("gradients did not add up without ZeroGrad: %v, want 2·%v", g, g1[i])
		}
	}
	st.ZeroGrad()
	for _, p := range m.Params() {
		for _, g := range p.Grad() {
			if g != 0 {
				t.Fatalf("ZeroGrad left %s non-zero", p.Name)
			}
		}
	}
	// The beats one by one are Step.
	a, bm := build(), build()
	sa, _ := NewStepper(a, Config{Optimizer: SGD{LR: 0.01, Momentum: 0.9}})
	sb, _ := NewStepper(bm, Config{Optimizer: SGD{LR: 0.01, Momentum: 0.9}})
	for range 3 {
		la, ca, err := sa.Step(b)
		if err != nil {
			t.Fatal(err)
		}
		lb, err := sb.Forward(b)
		if err != nil {
			t.Fatal(err)
		}
		sb.ZeroGrad()
		if err := sb.Backward(); err != nil {
			t.Fatal(err)
		}
		if err := sb.Update(); err != nil {
			t.Fatal(err)
		}
		if la != lb || ca != sb.Correct() {
			t.Fatalf("Step gave loss %v (%d right), the beats %v (%d right)", la, ca, lb, sb.Correct())
		}
	}
	if !sameWeights(a, bm) {
		t.Error("Step and the beats one by one left different weights")
	}
	if sb.LR() != 0.01 {
		t.Errorf("LR = %v", sb.LR())
	}
}

// plainSGD is a student's optimizer: w ← w − lr·g, no state.
type plainSGD struct{ lr float64 }

func (o plainSGD) Settings() Settings {
	return Settings{Name: "plain", Values: map[string]float64{"lr": o.lr}}
}
func (o plainSGD) NewUpdater(params []*Param) (Updater, error) { return &plainUpdater{params}, nil }

type plainUpdater struct{ params []*Param }

func (u *plainUpdater) Update(lr float64) error {
	for _, p := range u.params {
		w := p.Data()
		for i, g := range p.Grad() {
			w[i] -= float32(lr) * g
		}
	}
	return nil
}
func (u *plainUpdater) State() map[string][]float32         { return nil }
func (u *plainUpdater) SetState(map[string][]float32) error { return nil }

func TestCustomOptimizer(t *testing.T) {
	train, val := fixture(t, 64, 1), fixture(t, 16, 2)
	cfg := quiet()
	cfg.Epochs, cfg.BatchSize, cfg.RunDir = 2, 16, t.TempDir()
	cfg.Optimizer = plainSGD{lr: 0.05}
	mine := smallModel(t, 3)
	h1, err := Train(mine, train, val, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ref := smallModel(t, 3)
	c2 := cfg
	c2.Optimizer, c2.RunDir = SGD{LR: 0.05}, ""
	h2, err := Train(ref, train, val, c2)
	if err != nil {
		t.Fatal(err)
	}
	if !sameFigures(h1, h2) || !sameWeights(mine, ref) {
		t.Errorf("a student's plain SGD differs from SGD without momentum:\n%s\n%s", h1.Table(), h2.Table())
	}
	if name := RunName(mine, cfg, train.Len()); !strings.Contains(name, "_plain-lr0.05_") {
		t.Errorf("run folder %s does not name the optimizer's settings", name)
	}
	// The saved run resumes with it.
	if _, err := LoadRun(smallModel(t, 3), train, val, cfg); err != nil {
		t.Error(err)
	}
	c3 := cfg
	c3.Optimizer = badOptimizer{}
	if _, err := Train(smallModel(t, 3), train, val, c3); err == nil || !strings.Contains(err.Error(), `no "lr"`) {
		t.Errorf("an optimizer without lr: %v", err)
	}
}

type badOptimizer struct{ plainSGD }

func (badOptimizer) Settings() Settings { return Settings{Name: "bad"} }

func TestRunFolderNames(t *testing.T) {
	train, val := fixture(t, 48, 1), fixture(t, 16, 2)
	m := smallModel(t, 1)
	cfg := quiet()
	if got := RunName(m, cfg, 49000); got != "small_sgd-lr0.001-m0.9_b32_n49000_seed0" {
		t.Errorf("the assignment's run is named %s; folders of earlier versions would not be found", got)
	}
	// Two Adam runs that differ only in Eps get two folders.
	dir := t.TempDir()
	run := func(eps float64) (*History, error) {
		c := quiet()
		c.Epochs, c.BatchSize, c.RunDir, c.Optimizer = 1, 16, dir, Adam{LR: 0.001, Eps: eps}
		return Train(smallModel(t, 1), train, val, c)
	}
	if _, err := run(1e-8); err != nil {
		t.Fatal(err)
	}
	if _, err := run(1e-3); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("two Adam runs differing only in Eps share a folder: %v", entries)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rec runRecord
		if err := json.Unmarshal(b, &rec); err != nil || rec.Optimizer.Values["eps"] == 0 {
			t.Errorf("%s: config.json does not record eps: %s", e.Name(), b)
		}
	}
	// Every setting of the record changes the name.
	base := quiet()
	base.Epochs = 10
	variants := []func(c *Config){
		func(c *Config) { c.Optimizer = SGD{LR: 0.001, Momentum: 0.9, WeightDecay: 5e-4} },
		func(c *Config) { c.Optimizer = SGD{LR: 0.001, Momentum: 0.9, Nesterov: true} },
		func(c *Config) { c.Schedule = Cosine{} },
		func(c *Config) { c.Schedule = OneCycle{} },
		func(c *Config) { c.Schedule = OneCycle{}; c.Epochs = 11 },
		func(c *Config) { c.Schedule = StepLR{Every: 3, Gamma: 0.1} },
		func(c *Config) { c.Augment = RandomHorizontalFlip() },
		func(c *Config) { c.Augment = Compose(RandomCrop(32, 4), RandomHorizontalFlip()) },
		func(c *Config) { c.Augment = RandomCrop(32, 2) },
		func(c *Config) { c.KeepBest = true },
		func(c *Config) { c.Optimizer = Adam{LR: 0.001, WeightDecay: 0.01} },
	}
	seen := map[string]bool{RunName(m, base, 100): true}
	for i, v := range variants {
		c := base
		v(&c)
		name := RunName(m, c, 100)
		if seen[name] {
			t.Errorf("variant %d has a name already taken: %s", i, name)
		}
		seen[name] = true
	}
	// The number of epochs names a run only when a schedule depends on it.
	c10, c20 := base, base
	c20.Epochs = 20
	if RunName(m, c10, 100) != RunName(m, c20, 100) {
		t.Error("without a schedule a run of 10 epochs cannot be extended to 20")
	}
}

// TestLegacyConfigLoads reads a run folder written by the lab's first
// versions, whose config.json holds the optimizer as a string.
func TestLegacyConfigLoads(t *testing.T) {
	s := newRunSetup(t, t.TempDir())
	two, m2, err := s.trainTo(t, 2)
	if err != nil {
		t.Fatal(err)
	}
	run := s.folder(t)
	b, _ := os.ReadFile(filepath.Join(run, "config.json"))
	var rec runRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	old := legacyRecord{Model: rec.Model, Label: rec.Label, ModelSeed: rec.ModelSeed, Optimizer: "sgd-lr0.001-m0.9",
		BatchSize: rec.BatchSize, Seed: rec.Seed, TrainImages: rec.TrainImages, ValImages: rec.ValImages, Data: rec.Data}
	ob, _ := json.MarshalIndent(old, "", "  ")
	if err := os.WriteFile(filepath.Join(run, "config.json"), ob, 0o644); err != nil {
		t.Fatal(err)
	}
	loaded := s.model(t)
	h, err := LoadRun(loaded, s.train, s.val, s.cfg)
	if err != nil || !sameFigures(h, two) || !sameWeights(loaded, m2) {
		t.Fatalf("LoadRun of a folder with an old config.json: %v", err)
	}
	// With another optimizer it is refused, saying so.
	c := s.cfg
	c.Optimizer = SGD{LR: 0.001, Momentum: 0.9, WeightDecay: 1e-4}
	c.RunDir = s.cfg.RunDir
	if err := os.Rename(run, filepath.Join(c.RunDir, RunName(s.model(t), c, s.train.Len()))); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRun(s.model(t), s.train, s.val, c); err == nil || !strings.Contains(err.Error(), "earlier version") {
		t.Errorf("an old folder under another configuration: %v", err)
	}
}

func TestSchedules(t *testing.T) {
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	oc := OneCycle{}
	if f := oc.Factor(0, 10); !near(f, 1.0/25) {
		t.Errorf("OneCycle starts at %v, want 1/25", f)
	}
	if f := oc.Factor(3, 10); !near(f, 1) {
		t.Errorf("OneCycle peaks at %v after 30%% of the run, want 1", f)
	}
	if f := oc.Factor(10, 10); !near(f, 1.0/25/1e4) {
		t.Errorf("OneCycle ends at %v", f)
	}
	if !(oc.Factor(1.5, 10) < oc.Factor(2, 10) && oc.Factor(5, 10) > oc.Factor(7, 10)) {
		t.Error("OneCycle does not rise then fall")
	}
	cos := Cosine{}
	if !near(cos.Factor(0, 4), 1) || !near(cos.Factor(2, 4), 0.5) || !near(cos.Factor(4, 4), 0) {
		t.Errorf("Cosine: %v %v %v", cos.Factor(0, 4), cos.Factor(2, 4), cos.Factor(4, 4))
	}
	st := StepLR{Every: 2, Gamma: 0.1}
	if !near(st.Factor(1.9, 6), 1) || !near(st.Factor(2, 6), 0.1) || !near(st.Factor(5, 6), 0.01) {
		t.Errorf("StepLR: %v %v %v", st.Factor(1.9, 6), st.Factor(2, 6), st.Factor(5, 6))
	}
	// Train follows the schedule, and History records the rate.
	cfg := quiet()
	cfg.Epochs, cfg.BatchSize, cfg.Schedule = 3, 16, StepLR{Every: 1, Gamma: 0.5}
	cfg.Optimizer = SGD{LR: 0.04, Momentum: 0.9}
	var rates []float64
	cfg.Monitor = stepHook{Monitor: quiet().Monitor, f: func(p Progress) { rates = append(rates, p.LR) }}
	h, err := Train(smallModel(t, 1), fixture(t, 32, 1), fixture(t, 8, 2), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rates[0] != 0.04 || rates[2] != 0.02 || rates[5] != 0.01 || h.Epochs[2].LR != 0.01 {
		t.Errorf("rates %v, History %v", rates, h.Epochs)
	}
	bad := quiet()
	bad.Schedule = StepLR{}
	if _, err := Train(smallModel(t, 1), fixture(t, 8, 1), nil, bad); err == nil || !strings.Contains(err.Error(), "StepLR needs") {
		t.Errorf("a StepLR without settings: %v", err)
	}
}

type stepHook struct {
	Monitor
	f func(Progress)
}

func (s stepHook) Step(p Progress) { s.f(p) }

func TestTransforms(t *testing.T) {
	d := fixture(t, 8, 1)
	b := d.Batch([]int{0, 1, 2, 3, 4, 5, 6, 7}, nil)
	orig := slices.Clone(b.X)
	flip := b.X[:0:0]
	flip = append(flip, orig...)
	fb := &Batch{X: flip, Labels: b.Labels, Norm: b.Norm}
	if err := RandomHorizontalFlip().Apply(fb, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	flipped := 0
	for i := range 8 {
		img, src := fb.X[i*ImageBytes:(i+1)*ImageBytes], orig[i*ImageBytes:(i+1)*ImageBytes]
		if equalF32(img, src) {
			continue
		}
		flipped++
		for c := range Channels * Height {
			for x := range Width {
				if img[c*Width+x] != src[c*Width+Width-1-x] {
					t.Fatalf("image %d is changed but not mirrored", i)
				}
			}
		}
	}
	if flipped == 0 || flipped == 8 {
		t.Errorf("%d of 8 images flipped", flipped)
	}
	cb := &Batch{X: slices.Clone(orig), Labels: b.Labels, Norm: b.Norm}
	if err := RandomCrop(32, 4).Apply(cb, rand.New(rand.NewPCG(2, 2))); err != nil {
		t.Fatal(err)
	}
	black := -b.Norm.Mean[0] / b.Norm.Std[0]
	shifted := 0
	for i := range 8 {
		img := cb.X[i*ImageBytes : (i+1)*ImageBytes]
		if equalF32(img, orig[i*ImageBytes:(i+1)*ImageBytes]) {
			continue
		}
		shifted++
		if img[0] != black && img[Width-1] != black && img[(Height-1)*Width] != black && img[Height*Width-1] != black {
			t.Errorf("image %d is cropped without black padding at any corner", i)
		}
	}
	if shifted < 6 {
		t.Errorf("only %d of 8 images cropped", shifted)
	}
	if err := RandomCrop(28, 4).Apply(cb, rand.New(rand.NewPCG(2, 2))); err == nil || !strings.Contains(err.Error(), "32×32") {
		t.Errorf("RandomCrop(28): %v", err)
	}
}

// TestAugmentedRunResumes checks that augmentation, a schedule, weight
// decay and KeepBest are deterministic per (seed, epoch): a run resumed
// after 2 epochs equals one that never stopped, and the best epoch's
// weights come back with LoadBest.
func TestAugmentedRunResumes(t *testing.T) {
	train, val := fixture(t, 96, 1), fixture(t, 32, 2)
	cfg := quiet()
	cfg.Seed, cfg.BatchSize, cfg.Epochs = 4, 16, 4
	cfg.Optimizer = SGD{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4}
	cfg.Schedule = OneCycle{}
	cfg.Augment = Compose(RandomCrop(32, 4), RandomHorizontalFlip())
	cfg.KeepBest = true
	var snaps []*Model
	whole := smallModel(t, 2, BatchNorm2d(8).As("bn"))
	c := cfg
	c.Monitor = epochHook{Monitor: quiet().Monitor, f: func(h *History) {
		cp := smallModel(t, 2, BatchNorm2d(8).As("bn"))
		cp.setWeights(whole.weightsCopy())
		snaps = append(snaps, cp)
	}}
	want, err := Train(whole, train, val, c)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c = cfg
	c.RunDir, c.Epochs = dir, 2
	// The run's name knows its length: a schedule depends on it.
	c2 := c
	c2.Epochs = 4
	if _, err := Train(smallModel(t, 2, BatchNorm2d(8).As("bn")), train, val, c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, RunName(whole, c2, train.Len()))); err == nil {
		t.Fatal("a 2-epoch run of a schedule shares its folder with the 4-epoch run")
	}
	// So resuming means: stop the 4-epoch run after 2 epochs.
	c2.RunDir = t.TempDir()
	stop := c2
	stopped := smallModel(t, 2, BatchNorm2d(8).As("bn"))
	ctx, cancel := contextAfterEpochs(2)
	stop.Context, stop.Monitor = ctx, epochHook{Monitor: quiet().Monitor, f: func(h *History) { cancel(len(h.Epochs)) }}
	if _, err := Train(stopped, train, val, stop); err == nil {
		t.Fatal("the run was not interrupted")
	}
	again := smallModel(t, 2, BatchNorm2d(8).As("bn"))
	got, err := Train(again, train, val, c2)
	if err != nil {
		t.Fatal(err)
	}
	if !sameFigures(got, want) || !sameWeights(again, whole) {
		t.Fatalf("the resumed augmented run differs from the uninterrupted one:\n%s\n%s", got.Table(), want.Table())
	}
	// LoadRun returns either the last or the best epoch's weights.
	last := smallModel(t, 2, BatchNorm2d(8).As("bn"))
	if _, err := LoadRun(last, train, val, c2); err != nil || !sameWeights(last, whole) {
		t.Fatalf("LoadRun: %v", err)
	}
	best := smallModel(t, 2, BatchNorm2d(8).As("bn"))
	c2.LoadBest = true
	h, err := LoadRun(best, train, val, c2)
	if err != nil {
		t.Fatal(err)
	}
	_, at := h.BestValAcc()
	if !sameWeights(best, snaps[at]) {
		t.Errorf("LoadBest did not load the weights of the best epoch %d", at)
	}
	acc, _ := Accuracy(best, val)
	if bv, _ := h.BestValAcc(); math.Abs(acc-bv) > 1e-9 {
		t.Errorf("the best weights score %.2f %% on validation, the History says %.2f %%", acc, bv)
	}
	c2.KeepBest = false
	if _, err := LoadRun(best, train, val, c2); err == nil {
		t.Error("LoadBest without KeepBest was accepted")
	}
	c3 := cfg
	c3.RunDir = t.TempDir()
	if _, err := Train(smallModel(t, 1), train, nil, c3); err == nil || !strings.Contains(err.Error(), "validation set") {
		t.Errorf("KeepBest without a validation set: %v", err)
	}
}

// weightsCopy returns a copy of every tensor of the model.
func (m *Model) weightsCopy() [][]float32 {
	out := make([][]float32, len(m.params))
	for i, p := range m.params {
		out[i] = slices.Clone(p.Data())
	}
	return out
}

// contextAfterEpochs returns a context and a function that cancels it once
// it is told n epochs are done.
func contextAfterEpochs(n int) (context.Context, func(done int)) {
	ctx, cancel := context.WithCancel(context.Background())
	return ctx, func(done int) {
		if done >= n {
			cancel()
		}
	}
}

// TestWeightDecay checks the two kinds of weight decay on a weight whose
// gradient is zero: SGD's adds WeightDecay·w to the gradient (then
// momentum), AdamW's shrinks w by lr·WeightDecay apart from the moments.
func TestWeightDecay(t *testing.T) {
	param := func() *Param {
		p := newParam("w.weight", []int{2}, true)
		copy(p.Data(), []float32{1, -2})
		return p
	}
	near := func(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-7 }
	p := param()
	u, _ := SGD{LR: 0.1, Momentum: 0.5, WeightDecay: 0.01}.NewUpdater([]*Param{p})
	u.Update(0.1) // v = 0.01·w, w -= 0.1·v
	if !near(p.Data()[0], 1-0.001) || !near(p.Data()[1], -2+0.002) {
		t.Errorf("SGD weight decay: %v", p.Data())
	}
	u.Update(0.1) // v = 0.5·v + 0.01·w
	want := float32(1-0.001) - 0.1*(0.5*0.01+0.01*float32(1-0.001))
	if !near(p.Data()[0], want) {
		t.Errorf("SGD weight decay with momentum: %v, want %v", p.Data()[0], want)
	}
	p = param()
	u, _ = Adam{LR: 0.1, WeightDecay: 0.01}.NewUpdater([]*Param{p})
	u.Update(0.1)
	if !near(p.Data()[0], 1*(1-0.1*0.01)) || !near(p.Data()[1], -2*(1-0.1*0.01)) {
		t.Errorf("AdamW weight decay: %v, want w·(1 − lr·wd)", p.Data())
	}
	// Nesterov: w -= lr·(g + μ·v) with v = μ·v + g.
	p = param()
	p.Grad()[0] = 1
	u, _ = SGD{LR: 0.1, Momentum: 0.9, Nesterov: true}.NewUpdater([]*Param{p})
	u.Update(0.1)
	if !near(p.Data()[0], 1-0.1*(1+0.9*1)) {
		t.Errorf("Nesterov step: %v", p.Data()[0])
	}
	if _, err := (SGD{LR: 0.1, Nesterov: true}).NewUpdater(nil); err == nil {
		t.Error("Nesterov without momentum was accepted")
	}
}
