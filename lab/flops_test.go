package lab_test

import (
	"testing"

	"golab/lab/models"
)

// The counts by hand, from the layer shapes of the seed's report.
func TestFLOPs(t *testing.T) {
	m, err := models.CNNModel()
	if err != nil {
		t.Fatal(err)
	}
	// conv 3→32 30², 32→32 28², 32→64 12², 64→64 10², fc 1600→512, 512→10.
	convs := []float64{32 * 3 * 9 * 900, 32 * 32 * 9 * 784, 64 * 32 * 9 * 144, 64 * 64 * 9 * 100}
	fcs := []float64{1600 * 512, 512 * 10}
	var fwd float64
	for _, v := range append(convs, fcs...) {
		fwd += 2 * v
	}
	f, tr := m.FLOPs()
	if f != fwd {
		t.Errorf("CNNModel forward FLOPs = %v, want %v", f, fwd)
	}
	if want := 3*fwd - 2*convs[0]; tr != want {
		t.Errorf("CNNModel training FLOPs = %v, want %v", tr, want)
	}
	d, _ := models.DropoutCNN(0.5)
	df, _ := d.FLOPs()
	if df < 2*f { // DropoutCNN's six convolutions do several times CNNModel's work
		t.Errorf("DropoutCNN forward FLOPs %v not above CNNModel's %v", df, f)
	}
}
