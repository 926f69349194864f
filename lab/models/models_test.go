package models

import (
	"math"
	"strings"
	"testing"

	"golab/lab"
)

func TestParameterCounts(t *testing.T) {
	for _, c := range []struct {
		name  string
		build func() (*lab.Model, error)
		want  int
		shown string
	}{
		{"CNNModel", func() (*lab.Model, error) { return CNNModel() }, 890410, "890,410"},
		{"DropoutCNN", func() (*lab.Model, error) { return DropoutCNN(0.5) }, 1845610, "1,845,610"},
		{"ImprovedCNN", func() (*lab.Model, error) { return ImprovedCNN() }, 4270474, "4,270,474"},
		{"FurtherCNN", func() (*lab.Model, error) { return FurtherCNN() }, 1129514, "1,129,514"},
	} {
		m, err := c.build()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := m.NumParams(); got != c.want {
			t.Errorf("%s has %d parameters, want %d", c.name, got, c.want)
		}
		if !strings.Contains(m.Summary(), "Total params: "+c.shown) {
			t.Errorf("%s summary lacks its total:\n%s", c.name, m.Summary())
		}
	}
}

func TestSummaryShowsShapes(t *testing.T) {
	m, err := CNNModel()
	if err != nil {
		t.Fatal(err)
	}
	s := m.Summary()
	for _, want := range []string{
		"(conv1): Conv2d(3, 32, kernel_size=(3, 3), stride=(1, 1))",
		"[-1, 32, 30, 30]",
		"(fc): Linear(in_features=1600, out_features=512, bias=True)",
		"[-1, 64, 5, 5]",
		"[-1, 10]",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

func TestStateDictNames(t *testing.T) {
	m, err := ImprovedCNN()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"conv_layer.0.weight", "conv_layer.1.running_var", "conv_layer.8.bias", "fc_layer.4.weight"} {
		if m.Param(name) == nil {
			t.Errorf("ImprovedCNN has no tensor %q", name)
		}
	}
	d, _ := DropoutCNN(0.2)
	if p := d.Param("fc1.weight"); p == nil || p.Shape[1] != 512 {
		t.Errorf("DropoutCNN fc1.weight = %+v, want 512 inputs", p)
	}
}

func TestDropoutRejectsBadP(t *testing.T) {
	for _, p := range []float64{-0.1, 1, 1.5} {
		_, err := DropoutCNN(p)
		if err == nil || !strings.Contains(err.Error(), "outside [0, 1)") {
			t.Errorf("DropoutCNN(%v): err = %v, want an error about [0, 1)", p, err)
		}
	}
}

// TestFurtherRecipe checks the going-further recipe: every tool of the
// part is in it, it is valid, and its run folder is the one labtrain
// -recipe further and notebook 06 share.
func TestFurtherRecipe(t *testing.T) {
	cfg := FurtherConfig()
	if cfg.Augment == nil || cfg.Schedule == nil || !cfg.KeepBest {
		t.Fatalf("the recipe lacks augmentation, a schedule or KeepBest: %+v", cfg)
	}
	if wd := cfg.Optimizer.Settings().Values["wd"]; !(wd > 0) {
		t.Errorf("the recipe has no weight decay: %v", cfg.Optimizer.Settings())
	}
	m, err := FurtherCNN()
	if err != nil {
		t.Fatal(err)
	}
	want := "FurtherCNN_sgd-lr0.2-m0.9-nesterov1-wd0.0005_onecycle-div25-final_div10000-warmup0.25-e25_compose_crop-padding4-size32_flip-p0.5_best_b128_n49000_seed0"
	if got := lab.RunName(m, cfg, 49000); got != want {
		t.Errorf("the going-further run is named\n%s\nwant\n%s\n(notebook 06 and the README name it)", got, want)
	}
	// It trains: two steps on random data move the loss.
	st, err := lab.NewStepper(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := &lab.Batch{X: make([]float32, 4*lab.ImageBytes), Labels: []int{0, 1, 2, 3}}
	for i := range b.X {
		b.X[i] = float32(i%17) / 17
	}
	l0, _, err := st.Step(b)
	if err != nil {
		t.Fatal(err)
	}
	l1, _, _ := st.Step(b)
	if l0 == l1 {
		t.Error("a step did not change the loss")
	}
}

// A training step writes every value of the gradients it computes: Step
// does not clear them first (the backward pass overwrites them), so
// garbage left in them must not reach the weights. Each model steps twice
// beside a twin whose gradients are filled with NaN before each step; the
// weights must stay the same bit for bit. A layer written in a notebook
// is trusted with less: the lab clears its gradients before its Backward,
// which here writes only their first value.
func TestStepOverwritesGradients(t *testing.T) {
	half := lab.Custom("half", func(p *lab.Pass, y, x []float32) error {
		w := p.Param("w")[0]
		for i := range y {
			y[i] = w * x[i]
		}
		return nil
	}, func(p *lab.Pass, dx, dy, x, y []float32) error {
		var g float32
		for i := range dy {
			g += dy[i] * x[i]
			if dx != nil {
				dx[i] = p.Param("w")[0] * dy[i]
			}
		}
		p.Grad("w")[0] = g // and nothing else of the 2 values
		return nil
	}, lab.WithSetup(func(s *lab.Setup, in []int) ([]int, error) {
		w := s.Param("w", 2)
		w[0], w[1] = 1, 1
		return in, nil
	}))
	builds := map[string]func() (*lab.Model, error){
		"CNNModel":    func() (*lab.Model, error) { return CNNModel() },
		"DropoutCNN":  func() (*lab.Model, error) { return DropoutCNN(0.5) },
		"ImprovedCNN": func() (*lab.Model, error) { return ImprovedCNN() },
		"FurtherCNN":  func() (*lab.Model, error) { return FurtherCNN() },
		"custom": func() (*lab.Model, error) {
			return lab.BuildCNN("custom", 1, half.As("half"), lab.Conv2d(3, 4, 3), lab.ReLU(), lab.Flatten(), lab.Linear(lab.Auto, 10))
		},
	}
	b := &lab.Batch{X: make([]float32, 4*lab.ImageBytes), Labels: []int{0, 1, 2, 3}}
	for i := range b.X {
		b.X[i] = float32(i%23)/23 - 0.4
	}
	for name, build := range builds {
		clean, err := build()
		if err != nil {
			t.Fatal(err)
		}
		dirty, _ := build()
		sc, _ := lab.NewStepper(clean, lab.Config{})
		sd, _ := lab.NewStepper(dirty, lab.Config{})
		for step := range 2 {
			for _, p := range dirty.Params() {
				for i := range p.Grad() {
					p.Grad()[i] = float32(math.NaN())
				}
			}
			if _, _, err := sc.Step(b); err != nil {
				t.Fatal(err)
			}
			if _, _, err := sd.Step(b); err != nil {
				t.Fatal(err)
			}
			for i, p := range clean.Params() {
				q := dirty.Params()[i].Data()
				for j, v := range p.Data() {
					if math.Float32bits(v) != math.Float32bits(q[j]) {
						t.Fatalf("%s step %d: %s[%d] = %v after NaN gradients, %v after clear ones", name, step, p.Name, j, q[j], v)
					}
				}
			}
		}
	}
}
