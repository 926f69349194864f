package nn

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time this process has used, user and system. Under
// contention from other processes it grows far less than wall time, so
// benchmarks report it beside ns/op to compare variants on a busy machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// timeCPU runs f b.N times and reports CPU ms per op.
func timeCPU(b *testing.B, f func()) {
	b.ResetTimer()
	t0 := cpuTime()
	for range b.N {
		f()
	}
	b.ReportMetric(float64(cpuTime()-t0)/1e6/float64(b.N), "cpu-ms/op")
}
