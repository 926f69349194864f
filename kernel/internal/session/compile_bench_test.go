//go:build unix

package session

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/traefik/yaegi/interp"

	"golab/kernel/internal/bindings"
	"golab/kernel/internal/compiled"
)

// channelStatsCell is notebook 01's bonus written as loops over the pixels.
const channelStatsCell = `import (
	"math"

	"golab/lab"
)

// channelStats is the mean and standard deviation of each channel over
// every pixel of d, on the 0 to 1 scale.
//golab:compile
func channelStats(d *lab.Dataset) (mean, std [lab.Channels]float64) {
	plane := lab.Height * lab.Width
	var sum, sq [lab.Channels]float64
	for i := 0; i < d.Len(); i++ {
		img := d.Image(i)
		for c := 0; c < lab.Channels; c++ {
			var s, q float64
			for _, v := range img[c*plane : (c+1)*plane] {
				x := float64(v) / 255
				s += x
				q += x * x
			}
			sum[c] += s
			sq[c] += q
		}
	}
	n := float64(d.Len() * plane)
	for c := range mean {
		mean[c] = sum[c] / n
		std[c] = math.Sqrt(sq[c]/n - mean[c]*mean[c])
	}
	return mean, std
}`

// BenchmarkCompiledChannelStats measures issue 16's figures on the 50,000
// training images of $CIFAR10_DIR: the first compile of channelStats in a
// session (into an empty plugin cache; the build cache as make kernel
// leaves it), the compile in a new session when the plugin is cached, its
// run compiled, the same function's run interpreted (BENCH_INTERPRETED=0
// skips it: about a minute), lab.ChannelStats, and the largest difference
// from lab.ChannelStats.
//
//	CIFAR10_DIR=/path/to/cifar-10-batches-bin go test -run '^$' -bench CompiledChannelStats -benchtime 1x ./kernel/internal/session
func BenchmarkCompiledChannelStats(b *testing.B) {
	if os.Getenv("CIFAR10_DIR") == "" {
		b.Skip("CIFAR10_DIR is not set")
	}
	cache := b.TempDir()
	env := append(os.Environ(), "GOLAB_COMPILE_CACHE="+cache)
	newSession := func() (*Session, *syncBuf) {
		out := &syncBuf{}
		s, err := New(Options{Stdout: out, Stderr: out, Env: env, Exports: []interp.Exports{bindings.Symbols}})
		if err != nil {
			b.Fatal(err)
		}
		return s, out
	}
	if err := compiled.New(compiled.DefaultConfig(env)).Unavailable(); err != nil {
		b.Skipf("Go plugins are unavailable here: %v", err)
	}
	// cpu is the process's CPU time: on a loaded machine the wall time of
	// a run says more about the load than about the code.
	// The children's time is that of go build and what it runs.
	cpu := func() time.Duration {
		var total time.Duration
		for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
			var ru syscall.Rusage
			if err := syscall.Getrusage(who, &ru); err != nil {
				b.Fatal(err)
			}
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
		return total
	}
	var lastCPU time.Duration
	run := func(s *Session, src string) (string, time.Duration) {
		b.Helper()
		start, startCPU := time.Now(), cpu()
		res, err := s.Execute(context.Background(), "In[b]", src)
		took := time.Since(start)
		lastCPU = cpu() - startCPU
		if err != nil {
			b.Fatalf("%s: %v", src, err)
		}
		var parts []string
		for _, d := range res.Values {
			parts = append(parts, fmt.Sprint(d.Data["text/plain"]))
		}
		return strings.Join(parts, " "), took
	}
	for i := 0; i < b.N; i++ {
		s, out := newSession()
		run(s, "import \"golab/lab\"\ndata, err := lab.LoadCIFAR(\"\")\nif err != nil {\n\tpanic(err)\n}")
		// The declaration's cell time is the compile: go build, plugin.Open,
		// binding.
		_, first := run(s, channelStatsCell)
		firstCPU := lastCPU
		b.Logf("first compile: %v, CPU %v in the session (%q)", first, firstCPU, strings.TrimSpace(out.take()))
		s2, out2 := newSession()
		_, cached := run(s2, channelStatsCell)
		if strings.Contains(out2.take(), "golab: compiled") {
			b.Fatal("the second session compiled again")
		}
		_, compiledRun := run(s, "m, sd := channelStats(data.Train)")
		compiledCPU := lastCPU
		_, labRun := run(s, "lm, lsd, _ := lab.ChannelStats(data.Train)")
		labCPU := lastCPU
		diff, _ := run(s, "d := 0.0\nfor c := range m {\n\td = max(d, math.Abs(m[c]-lm[c]), math.Abs(sd[c]-lsd[c]))\n}\nd")
		b.Logf("compiled run %v (CPU %v), lab.ChannelStats %v (CPU %v), largest difference %s", compiledRun, compiledCPU, labRun, labCPU, diff)
		b.ReportMetric(first.Seconds(), "first-compile-s")
		b.ReportMetric(firstCPU.Seconds(), "first-compile-cpu-s")
		b.ReportMetric(cached.Seconds(), "cached-compile-s")
		b.ReportMetric(compiledRun.Seconds(), "compiled-run-s")
		b.ReportMetric(compiledCPU.Seconds(), "compiled-run-cpu-s")
		b.ReportMetric(labRun.Seconds(), "lab-ChannelStats-s")
		if os.Getenv("BENCH_INTERPRETED") != "0" {
			run(s, strings.Replace(channelStatsCell, "//golab:compile\n", "", 1))
			_, interpreted := run(s, "im, isd := channelStats(data.Train)")
			interpretedCPU := lastCPU
			idiff, _ := run(s, "d := 0.0\nfor c := range im {\n\td = max(d, math.Abs(im[c]-lm[c]), math.Abs(isd[c]-lsd[c]))\n}\nd")
			b.Logf("interpreted run %v (CPU %v; largest difference %s): %.0f× the compiled run's CPU time", interpreted, interpretedCPU, idiff, interpretedCPU.Seconds()/compiledCPU.Seconds())
			b.ReportMetric(interpreted.Seconds(), "interpreted-run-s")
			b.ReportMetric(interpretedCPU.Seconds(), "interpreted-run-cpu-s")
		}
	}
}
