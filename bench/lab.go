package main

import (
	"encoding/json"
	"fmt"
	"io"
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

// evalProfile, with -cpuprofile, also profiles the evaluation, into the
// profile's path with ".eval" added.
const evalProfile = true

// labChild measures the lab's own training step (lab.Stepper) and
// evaluation (lab.Evaluate) of one model in this process, and prints the
// two measurements as JSON lines. The parent runs it as a child process
// (-child) so each model's peak RSS is its own. The images are synthetic,
// as many as CIFAR-10's training set, unless dataDir holds CIFAR-10: then
// the steps train on its training split and the evaluation scores its
// 1,000 validation images (as Train does after each epoch). p is
// DropoutCNN's dropout probability.
func labChild(model string, p float64, dataDir string, steps, evalImages int, cpuprofile string) error {
	data, evalSet, err := childData(dataDir, evalImages)
	if err != nil {
		return err
	}
	var m *lab.Model
	switch model {
	case "cnn":
		m, err = models.CNNModel()
	case "dropout":
		m, err = models.DropoutCNN(p)
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
	var cpu0 float64
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
			pos[i] = (s*batch + i) % data.Len()
		}
		data.Batch(pos, &b)
		if s == 3 {
			cpu0 = cpuMs()
		}
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
	cpuStep := (cpuMs() - cpu0) / float64(steps)
	ms := median(times)
	threads := runtime.GOMAXPROCS(0)
	impl := "golab " + runtime.Version()
	emitJSON(measurement{Impl: impl, Model: model, Batch: batch, Threads: threads, MsPerStep: round3(ms),
		ImagesPerS: round1(1000 * batch / ms), Measure: "train_step", Source: "golab/lab", CPUMsStep: round3(cpuStep)})

	eval := evalSet
	evalImages = eval.Len()
	if _, err := lab.Evaluate(m, eval.Head(min(evalImages, 500))); err != nil { // warm up the graph
		return err
	}
	if cpuprofile != "" && evalProfile {
		f, err := os.Create(cpuprofile + ".eval")
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	t, c0 := time.Now(), cpuMs()
	if _, err := lab.Evaluate(m, eval); err != nil {
		return err
	}
	per1000 := float64(time.Since(t).Nanoseconds()) / 1e6 * 1000 / float64(evalImages)
	cpu1000 := (cpuMs() - c0) * 1000 / float64(evalImages)
	// lab evaluates in batches of 50 (lab/eval.go's evalBatch).
	emitJSON(measurement{Impl: impl, Model: model, Batch: 50, Threads: threads, MsPerStep: round3(per1000 / 20),
		ImagesPerS: round1(1e6 / per1000), Measure: "eval", MsPer1000: round3(per1000), Source: "golab/lab",
		PeakRSSMB: peakRSSMB(), CPUMs1000: round3(cpu1000)})
	return nil
}

// childData returns the training images and the evaluation images of the
// child: CIFAR-10's training split and validation images when dataDir
// holds it, else synthetic ones.
func childData(dataDir string, evalImages int) (train, eval *lab.Dataset, err error) {
	if dataDir != "" {
		c, err := lab.LoadCIFARWith(lab.CIFAROptions{Dir: dataDir, NoDownload: true, Out: io.Discard})
		if err != nil {
			return nil, nil, err
		}
		all, err := c.Train.Normalize(lab.CIFARMean, lab.CIFARStd)
		if err != nil {
			return nil, nil, err
		}
		train, val, err := all.Split(1000, 0)
		return train, val, err
	}
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
		return nil, nil, err
	}
	data, err := raw.Normalize(lab.CIFARMean, lab.CIFARStd)
	if err != nil {
		return nil, nil, err
	}
	return data, data.Head(evalImages), nil
}

func emitJSON(m measurement) {
	b, _ := json.Marshal(m)
	fmt.Println(string(b))
}

// cpuMs is the CPU time this process has used, all threads, in ms: under
// contention it grows less than wall time.
func cpuMs() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}

// peakRSSMB is this process's peak resident set size.
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return round1(float64(ru.Maxrss) / 1024) // KiB on Linux
}
