package kernel_test

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golab/kernel/internal/jupyter"
)

// The kernel benchmarks measure the running binary from outside, as a
// front end sees it. Run them with make bench-kernel; each reports its
// figures as metrics and ignores b.N beyond one pass.

// BenchmarkStartup: from process start to the first kernel_info_reply,
// median of 5 starts.
func BenchmarkStartup(b *testing.B) {
	var times []time.Duration
	for i := 0; i < 5; i++ {
		p, start := launch(b)
		if _, err := p.c.Request(jupyter.Shell, "kernel_info_request", map[string]any{}, 30*time.Second); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
		p.stop()
	}
	b.ReportMetric(ms(median(times)), "ms/start-median")
	b.ReportMetric(ms(maxOf(times)), "ms/start-max")
}

// BenchmarkTrivialCell: round trip of `1 + 1`, from execute_request sent
// to the execute_reply received, and to the cell's `status: idle` on
// iopub, median and 90th percentile over 500 cells.
func BenchmarkTrivialCell(b *testing.B) {
	p := startKernel(b)
	for i := 0; i < 20; i++ {
		p.ok("1 + 1")
	}
	var reply, idle []time.Duration
	for i := 0; i < 500; i++ {
		start := time.Now()
		id, r, err := p.c.Send(jupyter.Shell, "execute_request", map[string]any{"code": "1 + 1", "silent": false, "store_history": true})
		if err != nil {
			b.Fatal(err)
		}
		<-r
		reply = append(reply, time.Since(start))
		p.outputs(id)
		idle = append(idle, time.Since(start))
	}
	b.ReportMetric(ms(median(reply)), "ms/cell-reply-median")
	b.ReportMetric(ms(percentile(reply, 0.9)), "ms/cell-reply-p90")
	b.ReportMetric(ms(median(idle)), "ms/cell-idle-median")
	b.ReportMetric(ms(percentile(idle, 0.9)), "ms/cell-idle-p90")
}

// BenchmarkMemory1000Cells: growth of the kernel's resident memory and of
// its live heap over 1,000 trivial cells.
func BenchmarkMemory1000Cells(b *testing.B) {
	p := startKernel(b)
	for i := 0; i < 50; i++ {
		p.ok(fmt.Sprintf("v := %d\nv + 1", i))
	}
	heap0, rss0 := p.memory(b)
	for i := 0; i < 1000; i++ {
		p.ok(fmt.Sprintf("v := %d\nv + 1", i))
	}
	heap1, rss1 := p.memory(b)
	b.ReportMetric(float64(rss1-rss0)/(1<<20), "MB-rss-growth")
	b.ReportMetric(float64(heap1-heap0)/(1<<20), "MB-heap-growth")
	b.ReportMetric(float64(rss1)/(1<<20), "MB-rss-after")
}

// memory returns the kernel's live heap after a GC, asked through a cell,
// and its resident set size from /proc.
func (p *proc) memory(b *testing.B) (heap, rss int64) {
	b.Helper()
	out := p.ok("import \"runtime\"\nvar __ms runtime.MemStats\nruntime.GC()\nruntime.ReadMemStats(&__ms)\n__ms.HeapAlloc")
	heap, err := strconv.ParseInt(out, 10, 64)
	if err != nil {
		b.Fatalf("heap: %q", out)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		b.Skip("no /proc:", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			rss = kb << 10
		}
	}
	return heap, rss
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(ts []time.Duration) time.Duration { return percentile(ts, 0.5) }

func percentile(ts []time.Duration, q float64) time.Duration {
	s := append([]time.Duration(nil), ts...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1))]
}

func maxOf(ts []time.Duration) time.Duration {
	m := ts[0]
	for _, t := range ts {
		m = max(m, t)
	}
	return m
}
