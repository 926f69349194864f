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
	GFLOPS  float64 // a multiply-add counts as two operations
}

// MeasurePeak times isa's fused multiply-add throughput on threads OS
// threads at once, each running chains of independent multiply-adds, in
// trials of about d each, and returns the best trial: the float32 peak
// that the kernels' efficiency is reported against. On a shared machine
// the figure for several threads is only as good as the cores it got.
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
	best := 0.0
	for range trials {
		best = max(best, peakTrial(kernel, perRound, threads, d))
	}
	return Peak{ISA: isa, Threads: threads, GFLOPS: best}, nil
}

func peakTrial(kernel func(int), perRound float64, threads int, d time.Duration) float64 {
	const chunk = 1 << 16 // rounds between clock reads: about 0.1–0.3 ms
	var wg sync.WaitGroup
	start := make(chan struct{})
	rounds := make([]int, threads)
	var mu sync.Mutex
	var t0, end time.Time
	for t := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			<-start
			deadline := t0.Add(d)
			n := 0
			for time.Now().Before(deadline) {
				kernel(chunk)
				n += chunk
			}
			rounds[t] = n
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
	for _, n := range rounds {
		total += n
	}
	return float64(total) * perRound / end.Sub(t0).Seconds() / 1e9
}
