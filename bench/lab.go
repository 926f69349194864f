package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"golab/lab"
	"golab/lab/models"
)

// labImages is the size of the synthetic training set the lab child
// holds, as many uint8 images as CIFAR-10's training set, so its peak RSS
// includes the data as in a full run.
const labImages = 50000

// labChild measures the lab's own training step (lab.Stepper) and
// evaluation (lab.Evaluate) of one model in this process, on synthetic
// images, and prints the two measurements as JSON lines. The parent runs
// it as a child process (-child) so each model's peak RSS is its own.
func labChild(model string, steps, evalImages int, cpuprofile string) error {
	r := rand.New(rand.NewPCG(1, 2))
	pixels := make([]byte, labImages*lab.ImageBytes)
	for i := range pixels {
		pixels[i] = byte(r.Uint32())
	}
	labels := make([]uint8, labImages)
	for i := range labels {
		labels[i] = uint8(r.IntN(10))
	}
	raw, err := lab.NewDataset("synthetic", lab.DefaultClasses, pixels, labels)
	if err != nil {
		return err
	}
	data, err := raw.Normalize(lab.CIFARMean, lab.CIFARStd)
	if err != nil {
		return err
	}
	var m *lab.Model
	switch model {
	case "cnn":
		m, err = models.CNNModel()
	case "dropout":
		m, err = models.DropoutCNN(0.5)
	case "improved":
		m, err = models.ImprovedCNN()
	default:
		err = fmt.Errorf("unknown model %q: want cnn, dropout or improved", model)
	}
	if err != nil {
		return err
	}
	st, err := lab.NewStepper(m, lab.Config{})
	if err != nil {
		return err
	}
	const batch = 32
	pos := make([]int, batch)
	var b lab.Batch
	times := make([]float64, 0, steps)
	for s := range steps + 3 { // 3 untimed warm-up steps, as torchref.py bench-train takes
		if s == 3 && cpuprofile != "" {
			f, err := os.Create(cpuprofile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
		}
		for i := range pos {
			pos[i] = (s*batch + i) % labImages
		}
		data.Batch(pos, &b)
		t := time.Now()
		if _, _, err := st.Step(&b); err != nil {
			return err
		}
		if s >= 3 {
			times = append(times, float64(time.Since(t).Nanoseconds())/1e6)
		}
	}
	if cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	ms := median(times)
	threads := runtime.GOMAXPROCS(0)
	impl := "golab " + runtime.Version()
	emitJSON(measurement{Impl: impl, Model: model, Batch: batch, Threads: threads, MsPerStep: round3(ms),
		ImagesPerS: round1(1000 * batch / ms), Measure: "train_step", Source: "golab/lab"})

	eval := data.Head(evalImages)
	if _, err := lab.Evaluate(m, eval.Head(min(evalImages, 500))); err != nil { // warm up the graph
		return err
	}
	t := time.Now()
	if _, err := lab.Evaluate(m, eval); err != nil {
		return err
	}
	per1000 := float64(time.Since(t).Nanoseconds()) / 1e6 * 1000 / float64(evalImages)
	// lab evaluates in batches of 100 (lab/eval.go's evalBatch).
	emitJSON(measurement{Impl: impl, Model: model, Batch: 100, Threads: threads, MsPerStep: round3(per1000 / 10),
		ImagesPerS: round1(1e6 / per1000), Measure: "eval", MsPer1000: round3(per1000), Source: "golab/lab",
		PeakRSSMB: peakRSSMB()})
	return nil
}

func emitJSON(m measurement) {
	b, _ := json.Marshal(m)
	fmt.Println(string(b))
}

// peakRSSMB is this process's peak resident set size.
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return round1(float64(ru.Maxrss) / 1024) // KiB on Linux
}
