package models

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"golab/lab"
)

// liveHeap is the heap still in use once the garbage is collected. Two
// collections with a pause between them give finalizers queued by the first
// the time to run, so a model kept only by a finalizer would be counted.
func liveHeap() float64 {
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// tinySets are a few random CIFAR-shaped images: the test is about what a
// run leaves behind, not about learning.
func tinySets(t *testing.T) (train, val *lab.Dataset) {
	t.Helper()
	const n = 24
	pix := make([]byte, n*lab.ImageBytes)
	labels := make([]uint8, n)
	for i := range pix {
		pix[i] = byte(i * 7)
	}
	for i := range labels {
		labels[i] = uint8(i % 10)
	}
	d, err := lab.NewDataset("tiny", lab.DefaultClasses, pix, labels)
	if err != nil {
		t.Fatal(err)
	}
	if d, err = d.Normalize(lab.CIFARMean, lab.CIFARStd); err != nil {
		t.Fatal(err)
	}
	train, val, err = d.Split(6, 0)
	if err != nil {
		t.Fatal(err)
	}
	return train, val
}

// TestMemoryStaysFlat trains new models in a loop, as a student re-running
// a notebook cell does, and checks that the live heap does not grow: each
// model's training and evaluation graphs (and a Stepper's) must go with the
// model. Before the fix every run of a new model stayed in memory for good
// (25–180 MB per run here, 145–420 MB per run on 300 real images).
func TestMemoryStaysFlat(t *testing.T) {
	train, val := tinySets(t)
	cfg := lab.Config{Epochs: 1, BatchSize: 8, Monitor: lab.TextMonitor(&bytes.Buffer{})}
	nets := []struct {
		name  string
		build func() (*lab.Model, error)
	}{
		{"CNNModel", func() (*lab.Model, error) { return CNNModel() }},
		{"DropoutCNN", func() (*lab.Model, error) { return DropoutCNN(0.5) }},
		{"ImprovedCNN", func() (*lab.Model, error) { return ImprovedCNN() }},
	}
	uses := []struct {
		name string
		use  func(m *lab.Model) error
	}{
		{"Train", func(m *lab.Model) error { _, err := lab.Train(m, train, val, cfg); return err }},
		{"Stepper", func(m *lab.Model) error {
			s, err := lab.NewStepper(m, cfg)
			if err != nil {
				return err
			}
			_, _, err = s.Step(train.Batch([]int{0, 1, 2, 3}, nil))
			return err
		}},
		{"Predict", func(m *lab.Model) error { _, err := lab.Predict(m, val); return err }},
	}
	const runs = 4
	for _, net := range nets {
		for _, u := range uses {
			if u.name != "Train" && net.name != "CNNModel" {
				continue // the graphs are the same kind; one network is enough
			}
			t.Run(net.name+"/"+u.name, func(t *testing.T) {
				once := func() {
					m, err := net.build()
					if err != nil {
						t.Fatal(err)
					}
					if err := u.use(m); err != nil {
						t.Fatal(err)
					}
				}
				once() // the first run also sets up what stays: pools, caches
				base := liveHeap()
				heaps := ""
				for range runs {
					once()
					heaps += fmt.Sprintf(" %.1f", liveHeap())
				}
				grown := liveHeap() - base
				t.Logf("live heap %.1f MB after the first run, then%s MB", base, heaps)
				// A leak is the model's weights, gradients and graph per
				// run: at least 10 MB each. Allow 1 MB per run of noise.
				if grown > runs {
					t.Errorf("the live heap grew by %.1f MB over %d runs of %s on new %s models (%.1f MB, then%s MB): something keeps each model alive",
						grown, runs, u.name, net.name, base, heaps)
				}
			})
		}
	}
}
