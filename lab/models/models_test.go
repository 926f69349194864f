package models

import (
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
