package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
)

// The whole assignment, timed (bench -assignment, make assignment-time):
// the five training runs the assignment asks for, each projected from a
// measured sample of its own training steps and validation, beside the
// projection of each PyTorch (Debian's, and the newest from PyPI when
// given) from the same sample of golab's reference, bench/torchref.

// assignmentRun is one of the assignment's training runs.
type assignmentRun struct {
	label  string
	model  string  // bench's model name
	p      float64 // DropoutCNN's dropout probability
	epochs int
}

var assignmentRuns = []assignmentRun{
	{"CNNModel", "cnn", 0, 20},
	{"DropoutCNN p=0.2", "dropout", 0.2, 20},
	{"DropoutCNN p=0.5", "dropout", 0.5, 29},
	{"DropoutCNN p=0.8", "dropout", 0.8, 20},
	{"ImprovedCNN", "improved", 0, 15},
}

// An epoch of the assignment: 49,000 training images in batches of 32
// (the last one of 8), then the 1,000 validation images scored.
const (
	epochSteps = (49000 + 31) / 32
	valImages  = 1000
)

// projection is a run's projected time on one side.
type projection struct {
	msPerStep, msPerVal float64 // best round: a training step, the validation pass
	epochS, runS        float64
}

func project(r assignmentRun, steps, val []float64) projection {
	p := projection{msPerStep: slices.Min(steps), msPerVal: slices.Min(val)}
	p.epochS = (float64(epochSteps)*p.msPerStep + p.msPerVal) / 1000
	p.runS = float64(r.epochs) * p.epochS
	return p
}

// sample is a run's measured training steps and validation passes, one
// of each per round, in ms.
type sample struct{ steps, val []float64 }

// assignmentTime measures each run's training step (the median of steps
// steps) and validation pass in golab and in each PyTorch of sides,
// alternating for rounds rounds, and prints the projected times: a table,
// then one JSON line per run and one for the total.
func assignmentTime(steps, rounds int, dataDir string, sides []torchSide) error {
	if dataDir == "" {
		dataDir = os.Getenv("CIFAR10_DIR")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	data := "synthetic images"
	var goData, torchData []string
	if dataDir != "" {
		data = "CIFAR-10 from " + dataDir
		goData, torchData = []string{"-data", dataDir}, []string{"--data", dataDir}
	}
	fmt.Printf("# the assignment's five runs, each projected from %d training steps (median) and a validation pass of %d images, best of %d rounds, on %s\n", steps, valImages, rounds, data)
	fmt.Printf("# machine: %s, %d CPUs, load average %s at start\n", cpuModel(), runtime.NumCPU(), loadAvg())
	defer func() { fmt.Printf("# load average %s at end\n", loadAvg()) }()
	goS := make([]sample, len(assignmentRuns))
	torchS := make([][]sample, len(sides)) // per side, per run
	names := make([]string, len(sides))    // each PyTorch's version and threads, from its first line
	for i := range sides {
		torchS[i] = make([]sample, len(assignmentRuns))
	}
	for round := 1; round <= rounds; round++ {
		for i, r := range assignmentRuns {
			p := strconv.FormatFloat(r.p, 'g', -1, 64)
			ms, err := labMeasure(self, r.model, steps, valImages, append([]string{"-p", p}, goData...)...)
			if err != nil {
				return fmt.Errorf("golab %s: %w", r.label, err)
			}
			for _, m := range ms {
				switch m.Measure {
				case "train_step":
					goS[i].steps = append(goS[i].steps, m.MsPerStep)
				case "eval":
					goS[i].val = append(goS[i].val, m.MsPer1000*valImages/1000)
				}
			}
			for j, s := range sides {
				args := append([]string{"--model", r.model, "--p", p, "--threads", strconv.Itoa(s.threads)}, torchData...)
				m, err := torchJSON(s.python, append([]string{"bench-train", "--steps", strconv.Itoa(steps)}, args...)...)
				if err != nil {
					return fmt.Errorf("PyTorch %s: %w", r.label, err)
				}
				names[j] = torchName(m)
				torchS[j][i].steps = append(torchS[j][i].steps, m.MsPerStep)
				m, err = torchJSON(s.python, append([]string{"bench-eval", "--images", strconv.Itoa(valImages), "--rounds", "1"}, args...)...)
				if err != nil {
					return fmt.Errorf("PyTorch evaluation %s: %w", r.label, err)
				}
				torchS[j][i].val = append(torchS[j][i].val, m.MsPer1000*valImages/1000)
			}
		}
	}
	printAssignment(goS, torchS, names)
	return nil
}

// printAssignment prints the projections: golab's, then each PyTorch's
// with golab's time over it.
func printAssignment(goS []sample, torchS [][]sample, names []string) {
	fmt.Println()
	for j, n := range names {
		fmt.Printf("# PyTorch %c: %s\n", 'A'+j, n)
	}
	fmt.Printf("%-18s %6s  %13s %8s %6s", "run", "epochs", "golab ms/step", "s/epoch", "hours")
	for j := range names {
		fmt.Printf("  │ %c ms/step %8s %6s %6s", 'A'+j, "s/epoch", "hours", "ratio")
	}
	fmt.Println()
	type side struct {
		PyTorch     string  `json:"pytorch"`
		MsPerStep   float64 `json:"ms_per_step,omitempty"`
		MsVal       float64 `json:"ms_validation,omitempty"`
		SPerEpoch   float64 `json:"s_per_epoch,omitempty"`
		Hours       float64 `json:"hours"`
		GolabOverIt float64 `json:"golab_over_pytorch"`
	}
	var lines []map[string]any
	var goTotal float64
	torchTotal := make([]float64, len(names))
	for i, r := range assignmentRuns {
		g := project(r, goS[i].steps, goS[i].val)
		goTotal += g.runS
		line := map[string]any{"measure": "assignment_run", "run": r.label, "epochs": r.epochs, "golab_ms_per_step": round3(g.msPerStep),
			"golab_ms_validation": round1(g.msPerVal), "golab_s_per_epoch": round1(g.epochS), "golab_hours": round3(g.runS / 3600)}
		fmt.Printf("%-18s %6d  %13.1f %8.1f %6.2f", r.label, r.epochs, g.msPerStep, g.epochS, g.runS/3600)
		var ts []side
		for j, n := range names {
			t := project(r, torchS[j][i].steps, torchS[j][i].val)
			torchTotal[j] += t.runS
			ts = append(ts, side{n, round3(t.msPerStep), round1(t.msPerVal), round1(t.epochS), round3(t.runS / 3600), round3(g.runS / t.runS)})
			fmt.Printf("  │ %9.1f %8.1f %6.2f %5.2fx", t.msPerStep, t.epochS, t.runS/3600, g.runS/t.runS)
		}
		fmt.Println()
		if len(ts) > 0 {
			line["pytorch"] = ts
		}
		lines = append(lines, line)
	}
	fmt.Printf("%-18s %6d  %13s %8s %6.2f", "total", totalEpochs(), "", "", goTotal/3600)
	total := map[string]any{"measure": "assignment_total", "epochs": totalEpochs(), "golab_hours": round3(goTotal / 3600)}
	var ts []side
	for j, n := range names {
		fmt.Printf("  │ %9s %8s %6.2f %5.2fx", "", "", torchTotal[j]/3600, goTotal/torchTotal[j])
		ts = append(ts, side{PyTorch: n, Hours: round3(torchTotal[j] / 3600), GolabOverIt: round3(goTotal / torchTotal[j])})
	}
	fmt.Println()
	if len(ts) > 0 {
		total["pytorch"] = ts
	}
	verdict := "meets"
	if goTotal > assignmentGoalH*3600 {
		verdict = "MISSES"
	}
	fmt.Printf("whole assignment on golab: %.2f h, goal ≤ %.1f h: %s\n", goTotal/3600, assignmentGoalH, verdict)
	for _, l := range append(lines, total) {
		b, _ := json.Marshal(l)
		fmt.Println(string(b))
	}
}

// assignmentGoalH is issue 14's goal for the whole assignment in golab.
const assignmentGoalH = 2.5

func totalEpochs() int {
	n := 0
	for _, r := range assignmentRuns {
		n += r.epochs
	}
	return n
}
