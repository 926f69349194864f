// Command bench times golab's training step and evaluation beside the
// PyTorch reference, in one run on the same machine, and prints one JSON
// line per measurement and then the ratios (`make bench`).
//
// For each model (cnn = CNNModel, dropout = DropoutCNN(0.5), improved =
// ImprovedCNN), batch 32:
//
//   - golab/lab: the lab itself, in a child process of this command: the
//     median of -steps lab.Stepper steps on synthetic images, then
//     lab.Evaluate of -eval-images images, and the child's peak RSS, with a
//     synthetic training set of 50,000 uint8 images in memory as in a full
//     run;
//   - ./lab/internal/nn (with -kernels): the same networks on the numerical
//     kernels alone, without gorgonia (BenchmarkTrainStep and BenchmarkEval
//     there), the floor the lab's ops can reach;
//   - PyTorch: golab's reference, bench/torchref/torchref.py bench-train
//     and bench-eval, once with -torch-python (Debian's PyTorch, with
//     -threads or GOMAXPROCS threads, as golab) and once with
//     -torch-pypi-python when given (the newest PyTorch from PyPI, eager,
//     with its default threads unless -threads is set).
//
// The machine may be shared, so the runs alternate for -rounds rounds and
// the ratios compare the fastest round of each, and the medians.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golab/bench/torchref"
)

// measurement is one JSON line. The first six keys are torchref.py's.
type measurement struct {
	Impl       string  `json:"impl"`
	Model      string  `json:"model"`
	Batch      int     `json:"batch"`
	Threads    int     `json:"threads"`
	MsPerStep  float64 `json:"ms_per_step"`
	ImagesPerS float64 `json:"images_per_s"`
	Measure    string  `json:"measure"` // train_step or eval
	MsPer1000  float64 `json:"ms_per_1000_images,omitempty"`
	PeakRSSMB  float64 `json:"peak_rss_mb,omitempty"`
	Round      int     `json:"round"`
	Source     string  `json:"source"` // the package or script measured
	BlasImpl   string  `json:"blas,omitempty"`
	goSide     bool
}

func main() {
	models := flag.String("models", "cnn,dropout,improved", "comma-separated models")
	steps := flag.Int("steps", 30, "training steps timed per round")
	evalBatches := flag.Int("eval-batches", 4, "Go evaluation batches of 500 timed per round")
	evalImages := flag.Int("eval-images", 2000, "PyTorch evaluation images per round")
	rounds := flag.Int("rounds", 3, "alternating Go/PyTorch rounds")
	kernels := flag.Bool("kernels", true, "also time the kernels alone (./lab/internal/nn benchmarks)")
	child := flag.String("child", "", "measure the lab on this model in this process only (no PyTorch, no ratios)")
	cpuprofile := flag.String("cpuprofile", "", "with -child: write a CPU profile of the training steps here")
	python := flag.String("torch-python", "", "a Python with PyTorch (Debian's); default $TORCH_PYTHON or the first Python found with torch; \"none\" skips PyTorch")
	pypiPython := flag.String("torch-pypi-python", "", "a second Python, with the newest PyTorch from PyPI (make bench: .venv-torch-pypi)")
	threads := flag.Int("threads", 0, "threads for all sides (GOMAXPROCS, torch.set_num_threads); 0: Go's default, as many for -torch-python, PyTorch's default for -torch-pypi-python")
	flag.Parse()

	if *child != "" {
		if err := labChild(*child, *steps, *evalImages, *cpuprofile); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	var pkgs []string
	if *kernels {
		pkgs = []string{"./lab/internal/nn"}
	}
	if *threads > 0 {
		// Children inherit it; PyTorch gets --threads.
		os.Setenv("GOMAXPROCS", strconv.Itoa(*threads))
		runtime.GOMAXPROCS(*threads)
	}
	sides, err := torchSides(*python, *pypiPython, *threads)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if err := run(strings.Split(*models, ","), *steps, *evalBatches, *evalImages, *rounds, pkgs, sides); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// torchSide is one PyTorch to time: a Python and the threads to give it
// (0: PyTorch's default).
type torchSide struct {
	python  string
	threads int
}

// torchSides returns the PyTorch installations to time. Debian's (or any
// found) gets as many threads as Go; the PyPI one keeps its default unless
// threads is set.
func torchSides(python, pypiPython string, threads int) ([]torchSide, error) {
	var sides []torchSide
	switch python {
	case "none":
	case "":
		py, err := torchref.FindPython("torch")
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: skipping Debian's PyTorch: %v\n", err)
			break
		}
		python = py
		fallthrough
	default:
		sides = append(sides, torchSide{python, cmp.Or(threads, runtime.GOMAXPROCS(0))})
	}
	if pypiPython != "" {
		sides = append(sides, torchSide{pypiPython, threads})
	}
	for _, s := range sides {
		if out, err := exec.Command(s.python, "-c", "import torch").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s cannot import torch: %v: %s", s.python, err, tail(string(out)))
		}
	}
	return sides, nil
}

func run(models []string, steps, evalBatches, evalImages, rounds int, pkgs []string, sides []torchSide) error {
	tmp, err := os.MkdirTemp("", "golab-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	type goBin struct{ pkg, path string }
	var bins []goBin
	for _, p := range pkgs {
		path := filepath.Join(tmp, strings.NewReplacer("/", "_", ".", "_").Replace(p)+".test")
		out, err := exec.Command("go", "test", "-c", "-o", path, p).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: skipping %s: %s\n", p, firstLine(out, err))
			continue
		}
		list, _ := exec.Command(path, "-test.list", "^BenchmarkTrainStep$").Output()
		if !bytes.Contains(list, []byte("BenchmarkTrainStep")) {
			fmt.Fprintf(os.Stderr, "bench: %s has no BenchmarkTrainStep, skipping it\n", p)
			continue
		}
		bins = append(bins, goBin{p, path})
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("# machine: %s, %d CPUs, load average %s at start\n", cpuModel(), runtime.NumCPU(), loadAvg())
	defer func() { fmt.Printf("# load average %s at end\n", loadAvg()) }()
	if l, ok := load1(); ok && l > 0.5*float64(runtime.NumCPU()) {
		fmt.Printf("# warning: the machine is busy (load %.1f on %d CPUs). PyTorch's threads slow down far more than Go's\n"+
			"# under contention (10-25x measured here), so the ratios flatter Go; compare on a quiet machine.\n", l, runtime.NumCPU())
	}
	var all []measurement
	emit := func(m measurement) {
		all = append(all, m)
		b, _ := json.Marshal(m)
		fmt.Println(string(b))
	}
	goThreads := runtime.GOMAXPROCS(0)
	for r := 1; r <= rounds; r++ {
		for _, model := range models {
			ms, err := labMeasure(self, model, steps, evalImages)
			if err != nil {
				return fmt.Errorf("golab/lab %s: %w", model, err)
			}
			for _, m := range ms {
				m.Round, m.goSide = r, true
				emit(m)
			}
			for _, b := range bins {
				ms, rss, blas, err := goBench(b.path, "BenchmarkTrainStep", model, steps, "ms/step")
				if err != nil {
					return fmt.Errorf("%s train %s: %w", b.pkg, model, err)
				}
				emit(measurement{Impl: "golab " + runtime.Version(), Model: model, Batch: 32, Threads: goThreads,
					MsPerStep: ms, ImagesPerS: round1(32000 / ms), Measure: "train_step", PeakRSSMB: rss,
					Round: r, Source: b.pkg, BlasImpl: blas, goSide: true})
				ms, rss, blas, err = goBench(b.path, "BenchmarkEval", model, evalBatches, "ms/1000img")
				if err != nil {
					return fmt.Errorf("%s eval %s: %w", b.pkg, model, err)
				}
				emit(measurement{Impl: "golab " + runtime.Version(), Model: model, Batch: 500, Threads: goThreads,
					MsPerStep: round3(ms / 2), ImagesPerS: round1(1e6 / ms), Measure: "eval", MsPer1000: ms,
					PeakRSSMB: rss, Round: r, Source: b.pkg, BlasImpl: blas, goSide: true})
			}
			for _, s := range sides {
				th := []string{"--model", model, "--threads", strconv.Itoa(s.threads)}
				m, err := torchJSON(s.python, append([]string{"bench-train", "--steps", strconv.Itoa(steps)}, th...)...)
				if err != nil {
					return fmt.Errorf("torchref.py bench-train %s: %w", model, err)
				}
				m.Round, m.Source = r, "bench/torchref"
				emit(m)
				m, err = torchJSON(s.python, append([]string{"bench-eval", "--images", strconv.Itoa(evalImages), "--rounds", "1"}, th...)...)
				if err != nil {
					return fmt.Errorf("torchref.py bench-eval %s: %w", model, err)
				}
				m.Round, m.Source = r, "bench/torchref"
				emit(m)
			}
		}
	}
	if len(sides) > 0 {
		printRatios(all, models)
	}
	return nil
}

// labMeasure runs this command as a child measuring the lab on one model.
func labMeasure(self, model string, steps, evalImages int) ([]measurement, error) {
	cmd := exec.Command(self, "-child", model, "-steps", strconv.Itoa(steps), "-eval-images", strconv.Itoa(evalImages))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, tail(errb.String()))
	}
	var ms []measurement
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m measurement
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return nil, fmt.Errorf("bad line %q: %v", line, err)
		}
		ms = append(ms, m)
	}
	if len(ms) != 2 {
		return nil, fmt.Errorf("want 2 measurements, got: %s", tail(out.String()))
	}
	return ms, nil
}

// goBench runs one Go benchmark in a child process and returns its metric,
// the child's peak RSS in MB and the BLAS it reported.
func goBench(bin, bench, model string, n int, metric string) (float64, float64, string, error) {
	cmd := exec.Command(bin, "-test.run", "^$", "-test.bench", "^"+bench+"$/^"+model+"$",
		"-test.benchtime", strconv.Itoa(n)+"x", "-test.v")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return 0, 0, "", fmt.Errorf("%v: %s", err, tail(out.String()))
	}
	re := regexp.MustCompile(`([\d.]+) ` + regexp.QuoteMeta(metric))
	mm := re.FindStringSubmatch(out.String())
	if mm == nil {
		return 0, 0, "", fmt.Errorf("no %s in the output: %s", metric, tail(out.String()))
	}
	v, _ := strconv.ParseFloat(mm[1], 64)
	var rss float64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = round1(float64(ru.Maxrss) / 1024) // KiB on Linux
	}
	blas := ""
	if b := regexp.MustCompile(`blas: (.*)`).FindStringSubmatch(out.String()); b != nil {
		blas = strings.TrimSpace(b[1])
	}
	return v, rss, blas, nil
}

func torchJSON(python string, args ...string) (measurement, error) {
	out, err := torchref.Run(python, args...)
	if err != nil {
		return measurement{}, err
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var m measurement
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		return measurement{}, fmt.Errorf("last line is not JSON: %s", tail(string(out)))
	}
	return m, nil
}

// printRatios prints, for each PyTorch measured, per model, Go source and
// measure, Go over PyTorch for the fastest round of each and for the
// medians.
func printRatios(all []measurement, models []string) {
	fmt.Println()
	fmt.Println("ratios, Go / PyTorch (lower is faster; best of rounds, then median of rounds):")
	goals := map[string]float64{"cnn/train_step": 1.0, "dropout/train_step": 1.2, "improved/train_step": 1.2, "cnn/eval": 1.0, "dropout/eval": 1.0, "improved/eval": 1.0}
	var sources, torches []string
	for _, m := range all {
		if m.goSide && !slices.Contains(sources, m.Source) {
			sources = append(sources, m.Source)
		}
		if !m.goSide && !slices.Contains(torches, torchName(m)) {
			torches = append(torches, torchName(m))
		}
	}
	for _, tn := range torches {
		fmt.Printf(" against %s:\n", tn)
		for _, model := range models {
			for _, measure := range []string{"train_step", "eval"} {
				torch := values(all, model, measure, func(m measurement) bool { return !m.goSide && torchName(m) == tn })
				for _, src := range sources {
					g := values(all, model, measure, func(m measurement) bool { return m.goSide && m.Source == src })
					if len(g) == 0 || len(torch) == 0 {
						continue
					}
					best, med := slices.Min(g)/slices.Min(torch), median(g)/median(torch)
					goal := goals[model+"/"+measure]
					verdict := "meets"
					if best > goal {
						verdict = "MISSES"
					}
					fmt.Printf("  %-9s %-10s %-18s best %.2fx  median %.2fx  (go %.1f ms, torch %.1f ms)  goal ≤ %.1fx: %s\n",
						model, measure, src, best, med, slices.Min(g), slices.Min(torch), goal, verdict)
				}
			}
		}
	}
}

// torchName names the PyTorch of a measurement: its version and threads.
func torchName(m measurement) string {
	return fmt.Sprintf("%s, %d threads", m.Impl, m.Threads)
}

// values are the per-step (train) or per-1000-image (eval) times.
func values(all []measurement, model, measure string, keep func(measurement) bool) []float64 {
	var v []float64
	for _, m := range all {
		if m.Model != model || m.Measure != measure || !keep(m) {
			continue
		}
		if measure == "eval" {
			v = append(v, m.MsPer1000)
		} else {
			v = append(v, m.MsPerStep)
		}
	}
	return v
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return s
}

func firstLine(out []byte, err error) string {
	sc := bufio.NewScanner(bytes.NewReader(out))
	if sc.Scan() {
		return sc.Text()
	}
	return err.Error()
}

// loadAvg is /proc/loadavg's three load averages, or "unknown".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func load1() (float64, bool) {
	f := strings.Fields(loadAvg())
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}

// cpuModel is the CPU's name from /proc/cpuinfo, or GOARCH.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}
