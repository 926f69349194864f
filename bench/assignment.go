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
// measured sample of its own training steps and validation, beside
// PyTorch's projection from the same sample of its reference.

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

// assignmentTime measures each run's training step (the median of steps
// steps) and validation pass on both sides, alternating for rounds
// rounds, and prints the projected times.
func assignmentTime(steps, rounds int, dataDir, torchRef, torchEval, python string, threads int) error {
	if dataDir == "" {
		dataDir = os.Getenv("CIFAR10_DIR")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	torchOK := torchAvailable(torchRef, python)
	var torchThreads []string
	if threads > 0 {
		torchThreads = []string{"--threads", strconv.Itoa(threads)}
	}
	data := "synthetic images"
	var goData, torchData []string
	if dataDir != "" {
		data = "CIFAR-10 from " + dataDir
		goData, torchData = []string{"-data", dataDir}, []string{"--data", dataDir}
	} else {
		torchData = []string{"--synthetic"}
	}
	fmt.Printf("# the assignment's five runs, each projected from %d training steps (median) and a validation pass of %d images, best of %d rounds, on %s\n", steps, valImages, rounds, data)
	fmt.Printf("# machine: %s, %d CPUs, load average %s at start\n", cpuModel(), runtime.NumCPU(), loadAvg())
	defer func() { fmt.Printf("# load average %s at end\n", loadAvg()) }()
	type sample struct{ steps, val []float64 }
	goS, torchS := make([]sample, len(assignmentRuns)), make([]sample, len(assignmentRuns))
	for round := 1; round <= rounds; round++ {
		for i, r := range assignmentRuns {
			ms, err := labMeasure(self, r.model, steps, valImages, append([]string{"-p", strconv.FormatFloat(r.p, 'g', -1, 64)}, goData...)...)
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
			if !torchOK {
				continue
			}
			args := append([]string{"--model", r.model, "--bench-steps", strconv.Itoa(steps)}, torchData...)
			if r.model == "dropout" {
				args = append(args, "--p", strconv.FormatFloat(r.p, 'g', -1, 64))
			}
			m, err := torchJSON(python, torchRef, append(args, torchThreads...)...)
			if err != nil {
				return fmt.Errorf("PyTorch %s: %w", r.label, err)
			}
			torchS[i].steps = append(torchS[i].steps, m.MsPerStep)
			m, err = torchJSON(python, torchEval, append([]string{"--torch-ref", torchRef, "--model", r.model, "--images", strconv.Itoa(valImages), "--rounds", "1"}, torchThreads...)...)
			if err != nil {
				return fmt.Errorf("PyTorch evaluation %s: %w", r.label, err)
			}
			torchS[i].val = append(torchS[i].val, m.MsPer1000*valImages/1000)
		}
	}
	fmt.Printf("\n%-18s %6s  %12s %10s %10s  %12s %10s %10s  %6s\n", "run", "epochs", "golab ms/step", "s/epoch", "hours", "torch ms/step", "s/epoch", "hours", "ratio")
	var goTotal, torchTotal float64
	for i, r := range assignmentRuns {
		g := project(r, goS[i].steps, goS[i].val)
		goTotal += g.runS
		line := map[string]any{"measure": "assignment_run", "run": r.label, "epochs": r.epochs, "golab_ms_per_step": round3(g.msPerStep),
			"golab_ms_validation": round1(g.msPerVal), "golab_s_per_epoch": round1(g.epochS), "golab_hours": round3(g.runS / 3600)}
		torchCols := fmt.Sprintf("%12s %10s %10s  %6s", "-", "-", "-", "-")
		if torchOK {
			t := project(r, torchS[i].steps, torchS[i].val)
			torchTotal += t.runS
			line["torch_ms_per_step"], line["torch_ms_validation"], line["torch_s_per_epoch"], line["torch_hours"] = round3(t.msPerStep), round1(t.msPerVal), round1(t.epochS), round3(t.runS/3600)
			torchCols = fmt.Sprintf("%12.1f %10.1f %10.2f  %5.2fx", t.msPerStep, t.epochS, t.runS/3600, g.runS/t.runS)
		}
		fmt.Printf("%-18s %6d  %12.1f %10.1f %10.2f  %s\n", r.label, r.epochs, g.msPerStep, g.epochS, g.runS/3600, torchCols)
		b, _ := json.Marshal(line)
		fmt.Println(string(b))
	}
	verdict := "meets"
	if goTotal > 2.5*3600 {
		verdict = "MISSES"
	}
	total := map[string]any{"measure": "assignment_total", "epochs": 104, "golab_hours": round3(goTotal / 3600)}
	fmt.Printf("%-18s %6d  %12s %10s %10.2f", "total", 104, "", "", goTotal/3600)
	if torchOK {
		total["torch_hours"] = round3(torchTotal / 3600)
		fmt.Printf("  %12s %10s %10.2f  %5.2fx", "", "", torchTotal/3600, goTotal/torchTotal)
	}
	fmt.Printf("\nwhole assignment on golab: %.2f h, goal ≤ 2.5 h: %s\n", goTotal/3600, verdict)
	b, _ := json.Marshal(total)
	fmt.Println(string(b))
	return nil
}
