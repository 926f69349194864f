package cpu

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Peak is a measured float32 peak.
type Peak struct {
	ISA     ISA
	Threads int
	// GFLOPS is the peak per unit of CPU time, summed over the threads:
	// what the cores do while they run, whatever else shares the machine
	// (a multiply-add counts as two operations). Where thread CPU time
	// cannot be read, it is GFLOPSWall.
	GFLOPS float64
	// GFLOPSWall is the operations over the wall time: the same on a
	// quiet machine, less when other processes take turns on the cores.
	GFLOPSWall float64
}

// MeasurePeak times isa's fused multiply-add throughput on threads OS
// threads at once, each running chains of independent multiply-adds, in
// trials of about d each, and returns the best trial: the float32 peak
// that the kernels' efficiency is reported against.
func MeasurePeak(isa ISA, threads int, d time.Duration, trials int) (Peak, error) {
	if isa > Detected {
		return Peak{}, fmt.Errorf("cpu: %s is not available here (best: %s)", isa, Detected)
	}
	kernel, perRound := fmaKernel(isa)
	if kernel == nil {
		return Peak{}, fmt.Errorf("cpu: no peak kernel for %s", isa)
	}
	if threads < 1 || trials < 1 {
		return Peak{}, fmt.Errorf("cpu: MeasurePeak needs threads ≥ 1 and trials ≥ 1, got %d and %d", threads, trials)
	}
	kernel(1000) // warm up: wake the vector units
	p := Peak{ISA: isa, Threads: threads}
	for range trials {
		cpu, wall := peakTrial(kernel, perRound, threads, d)
		p.GFLOPS, p.GFLOPSWall = max(p.GFLOPS, cpu), max(p.GFLOPSWall, wall)
	}
	return p, nil
}

// peakTrial returns the rate per CPU time (summed over the threads) and
// per wall time.
func peakTrial(kernel func(int), perRound float64, threads int, d time.Duration) (cpuRate, wallRate float64) {
	const chunk = 1 << 16 // rounds between clock reads: about 0.1–0.3 ms
	var wg sync.WaitGroup
	start := make(chan struct{})
	rounds := make([]int, threads)
	rates := make([]float64, threads)
	var mu sync.Mutex
	var t0, end time.Time
	for t := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			<-start
			c0, cpuOK := threadTime()
			deadline := t0.Add(d)
			n := 0
			for time.Now().Before(deadline) {
				kernel(chunk)
				n += chunk
			}
			c1, _ := threadTime()
			rounds[t] = n
			if cpuOK && c1 > c0 {
				rates[t] = float64(n) * perRound / (c1 - c0).Seconds() / 1e9
			}
			mu.Lock()
			if now := time.Now(); now.After(end) {
				end = now
			}
			mu.Unlock()
		}()
	}
	t0 = time.Now()
	close(start)
	wg.Wait()
	total := 0
	for t, n := range rounds {
		total += n
		cpuRate += rates[t]
	}
	wallRate = float64(total) * perRound / end.Sub(t0).Seconds() / 1e9
	if cpuRate == 0 {
		cpuRate = wallRate
	}
	return cpuRate, wallRate
}
