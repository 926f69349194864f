package main

import (
	"fmt"
	"math"
	"runtime"
	"time"

	"golab/internal/cpu"
	"golab/lab"
	"golab/lab/models"
)

// The machine's peak and each measurement's distance to it.
//
// The peak is the fused multiply-add throughput of the instruction set the
// lab's kernels use (cpu.Level), measured by internal/cpu's kernels per
// unit of CPU time (so that other processes on a shared machine do not
// lower it), on 1 and 2 threads and on the threads the bench runs with.
// A measurement's GFLOP/s counts the direct convolutions' and the linear
// layers' multiply-adds as two operations each (lab.Model.FLOPs), whatever
// algorithm runs them: Winograd does fewer, so its GFLOP/s can pass the
// peak.

// peakThreads are the thread counts the peak is measured on.
func peakThreads(goThreads int) []int {
	ts := []int{1, 2}
	if goThreads > 2 {
		ts = append(ts, goThreads)
	}
	return ts
}

// measurePeaks emits one "peak" line per instruction set the CPU has and
// thread count, and returns the peak of the lab's level (cpu.Level) per
// thread count, against which every measurement on as many threads is
// placed.
func measurePeaks(goThreads int, emit func(measurement)) map[int]float64 {
	ref := map[int]float64{}
	for isa := cpu.AVX2; isa <= cpu.Detected; isa++ {
		for _, th := range peakThreads(goThreads) {
			p, err := cpu.MeasurePeak(isa, th, 200*time.Millisecond, 3)
			if err != nil {
				continue
			}
			emit(measurement{Impl: "golab " + runtime.Version(), Measure: "peak", ISA: isa.String(), Threads: th,
				GFLOPS: round1(p.GFLOPS), GFLOPSWall: round1(p.GFLOPSWall), Source: "internal/cpu", goSide: true})
			if isa == cpu.Level {
				ref[th] = p.GFLOPS
			}
		}
	}
	return ref
}

// work is the GFLOP of one measured unit of a model: a training step at
// batch 32, or 1000 evaluated images.
type work struct{ trainStep, eval1000 float64 }

func modelWork(model string) (work, error) {
	var m *lab.Model
	var err error
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
		return work{}, err
	}
	fwd, train := m.FLOPs()
	return work{trainStep: 32 * train / 1e9, eval1000: 1000 * fwd / 1e9}, nil
}

// annotate sets a model measurement's work, GFLOP/s and fraction of peak.
func annotate(m *measurement, w work, peak float64) {
	var gflop, ms float64
	switch m.Measure {
	case "train_step":
		gflop, ms = w.trainStep, m.MsPerStep
	case "eval":
		gflop, ms = w.eval1000, m.MsPer1000
	default:
		return
	}
	if ms <= 0 || gflop <= 0 {
		return
	}
	m.GFLOP = math.Round(gflop*1000) / 1000
	m.GFLOPS = round1(gflop / (ms / 1000))
	if peak > 0 {
		m.PctOfPeak = round1(100 * m.GFLOPS / peak)
	}
}
