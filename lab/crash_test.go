//go:build unix

package lab

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golab/lab/internal/runfolder"
)

// The fault-injection test of run folders: a training run is killed with
// SIGKILL at many points of its saves, and its saves fail with ENOSPC at
// every operation of one save; after each, the folder must hold exactly one
// committed epoch of the uninterrupted run, reopening it must leave no
// temporary file behind, and resuming must give the uninterrupted run's
// History and weights, bit for bit.

const crashEpochs = 3

// TestCrashChild is the child process of TestRunFolderSurvivesCrashes: it
// trains the run into GOLAB_CRASH_DIR and kills itself at the
// GOLAB_CRASH_AT-th file operation of the run folder, or with
// GOLAB_CRASH_AT=0 prints how many there are.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("GOLAB_CRASH_DIR")
	if dir == "" {
		t.Skip("the child process of TestRunFolderSurvivesCrashes")
	}
	at, _ := strconv.Atoi(os.Getenv("GOLAB_CRASH_AT"))
	ops := 0
	runFault = func(op, path string) error {
		if ops++; ops == at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute)
		}
		return nil
	}
	defer func() { runFault = nil }()
	if _, _, err := newRunSetup(t, dir).trainTo(t, crashEpochs); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("crash-child-ops %d\n", ops)
}

// epochHook calls a function after each epoch (after its save).
type epochHook struct {
	Monitor
	f func(*History)
}

func (e epochHook) Epoch(h *History) { e.f(h) }

// snapshot is what a run folder holds after some epochs of the
// uninterrupted run.
type snapshot struct {
	weights, optimizer []byte
	history            *History
}

// epochRecorder keeps what the run folder holds after each epoch's save.
type epochRecorder struct {
	Monitor
	t     *testing.T
	run   string
	snaps map[int]snapshot
}

func (r *epochRecorder) Epoch(h *History) {
	f, err := runfolder.Open(r.run, runfolder.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	e, err := f.Latest()
	if err != nil || e == nil {
		r.t.Fatalf("no committed epoch after epoch %d: %v", len(h.Epochs)-1, err)
	}
	hc := *h
	r.snaps[len(h.Epochs)] = snapshot{weights: e.Weights, optimizer: e.Optimizer, history: &hc}
}

// crashCheck compares a run folder after a fault with the uninterrupted
// run; it returns how it went: "mixed" when the folder holds anything but
// one committed epoch, "orphans" when reopening left temporaries,
// "diverged" when resuming differs.
type crashCheck struct {
	t     *testing.T
	s     runSetup
	want  *History
	whole *Model
	snaps map[int]snapshot
}

func (c crashCheck) check(what string) (epochs int, problems []string) {
	run := c.s.folder(c.t)
	// What the folder holds before anyone reopens it.
	f, err := runfolder.Open(run, runfolder.Options{})
	var e *runfolder.Epoch
	if err == nil {
		e, err = f.Latest()
		f.Close()
	}
	if errors.Is(err, os.ErrNotExist) {
		err = nil // killed before the folder was made
	}
	switch {
	case err != nil:
		problems = append(problems, fmt.Sprintf("mixed: %s: the folder does not read back: %v", what, err))
	case e != nil:
		epochs = e.Epochs
		snap, ok := c.snaps[e.Epochs]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("mixed: %s: the folder holds %d epochs, which no save committed", what, e.Epochs))
		case !bytes.Equal(e.Weights, snap.weights) || !bytes.Equal(e.Optimizer, snap.optimizer):
			problems = append(problems, fmt.Sprintf("mixed: %s: the weights or optimizer state of the %d saved epochs are not those of epoch %d", what, e.Epochs, e.Epochs-1))
		}
	}
	// LoadRun agrees with it, and reopening removes every leftover.
	m := c.s.model(c.t)
	h, err := LoadRun(m, c.s.train, c.s.val, c.s.cfg)
	switch {
	case epochs == 0 && !errors.Is(err, ErrNoRun):
		problems = append(problems, fmt.Sprintf("mixed: %s: LoadRun of a folder without an epoch: %v", what, err))
	case epochs > 0 && (err != nil || !sameFigures(h, c.snaps[epochs].history)):
		problems = append(problems, fmt.Sprintf("mixed: %s: LoadRun gives %v, %v", what, h, err))
	}
	if orphans := leftovers(c.t, run, epochs); len(orphans) > 0 {
		problems = append(problems, fmt.Sprintf("orphans: %s: after reopening the folder still holds %v", what, orphans))
	}
	// Resuming gives the uninterrupted run.
	got, m, err := c.s.trainTo(c.t, crashEpochs)
	if err != nil || !sameFigures(got, c.want) || !sameWeights(m, c.whole) {
		problems = append(problems, fmt.Sprintf("diverged: %s: resuming from %d epochs gives another run (err %v)", what, epochs, err))
	}
	if orphans := leftovers(c.t, run, crashEpochs); len(orphans) > 0 {
		problems = append(problems, fmt.Sprintf("orphans: %s: after resuming the folder holds %v", what, orphans))
	}
	return epochs, problems
}

// leftovers lists what a run folder holds beyond its lock, configuration,
// checkpoint and committed epoch.
func leftovers(t *testing.T, run string, epochs int) []string {
	entries, err := os.ReadDir(run)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		switch e.Name() {
		case ".lock", runfolder.ConfigFile:
		case runfolder.Checkpoint, fmt.Sprintf("epochs-%04d", epochs):
			if epochs == 0 {
				out = append(out, e.Name())
			}
		default:
			out = append(out, e.Name())
		}
	}
	return out
}

func TestRunFolderSurvivesCrashes(t *testing.T) {
	// The uninterrupted run, and what its folder holds after each epoch.
	s := newRunSetup(t, t.TempDir())
	rec := &epochRecorder{Monitor: s.cfg.Monitor, t: t, run: s.folder(t), snaps: map[int]snapshot{}}
	s.cfg.Monitor = rec
	want, whole, err := s.trainTo(t, crashEpochs)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.snaps) != crashEpochs {
		t.Fatalf("recorded %d epochs", len(rec.snaps))
	}
	check := func(dir string) crashCheck {
		return crashCheck{t: t, s: newRunSetup(t, dir), want: want, whole: whole, snaps: rec.snaps}
	}
	counts := map[string]int{}
	tally := func(problems []string) {
		for _, p := range problems {
			counts[strings.SplitN(p, ":", 2)[0]]++
			t.Error(p)
		}
	}

	// How many file operations the run's saves make, and how long it runs.
	child := func(dir string, at int) (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GOLAB_CRASH_DIR="+dir, "GOLAB_CRASH_AT="+strconv.Itoa(at))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		return cmd, &out
	}
	start := time.Now()
	cmd, out := child(t.TempDir(), 0)
	if err := cmd.Run(); err != nil {
		t.Fatalf("the child run failed: %v\n%s", err, out)
	}
	runTime := time.Since(start)
	var ops int
	for _, l := range strings.Split(out.String(), "\n") {
		if n, ok := strings.CutPrefix(l, "crash-child-ops "); ok {
			ops, _ = strconv.Atoi(n)
		}
	}
	if ops < 3*15 {
		t.Fatalf("the child counted %d file operations for %d epochs:\n%s", ops, crashEpochs, out)
	}

	// SIGKILL at random operations of the saves, and at random moments.
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("GOLAB_CRASH_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (GOLAB_CRASH_SEED=%d repeats this test's kill points)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 7))
	kills, timed := 24, 6
	if testing.Short() {
		kills, timed = 8, 2
	}
	if v, err := strconv.Atoi(os.Getenv("GOLAB_CRASH_KILLS")); err == nil {
		kills, timed = v, v/4
	}
	points := make([]int, kills)
	for i := range points {
		points[i] = r.IntN(ops) // with repeats when kills > ops
	}
	slices.Sort(points)
	byEpochs := map[int]int{}
	for _, p := range points {
		at := p + 1
		dir := t.TempDir()
		cmd, out := child(dir, at)
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("the child killed at operation %d of %d ended with %v\n%s", at, ops, err, out)
		}
		n, problems := check(dir).check(fmt.Sprintf("SIGKILL at operation %d of %d", at, ops))
		byEpochs[n]++
		tally(problems)
	}
	timedKills := 0
	for range timed {
		dir := t.TempDir()
		cmd, out := child(dir, -1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(r.Int64N(int64(runTime)))
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		if err := cmd.Wait(); err == nil {
			continue // it finished first
		} else if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("the child killed after %v ended with %v\n%s", delay, err, out)
		}
		timedKills++
		n, problems := check(dir).check(fmt.Sprintf("SIGKILL after %v", delay.Round(time.Millisecond)))
		byEpochs[n]++
		tally(problems)
	}

	// ENOSPC at every operation of the second epoch's save. Find where
	// that save starts and ends among the run's operations.
	var saveEnds []int
	seen := 0
	runFault = func(op, path string) error { seen++; return nil }
	cs := newRunSetup(t, t.TempDir())
	cs.cfg.Monitor = epochHook{cs.cfg.Monitor, func(*History) { saveEnds = append(saveEnds, seen) }}
	_, _, err = cs.trainTo(t, crashEpochs)
	runFault = nil
	if err != nil || len(saveEnds) != crashEpochs || seen != ops {
		t.Fatalf("counting the operations in process: %v, saves ending at %v of %d (the child counted %d)", err, saveEnds, seen, ops)
	}
	enospc, ignored := 0, 0
	for at := saveEnds[0] + 1; at <= saveEnds[1]; at++ {
		if testing.Short() && at%3 != 0 {
			continue
		}
		dir := t.TempDir()
		c := check(dir)
		seen, failed := 0, ""
		runFault = func(op, path string) error {
			if seen++; seen == at {
				failed = op + " " + filepath.Base(path)
				return syscall.ENOSPC
			}
			return nil
		}
		_, _, err := c.s.trainTo(t, crashEpochs)
		runFault = nil
		switch {
		case failed == "":
			t.Fatalf("operation %d of %d never happened", at, ops)
		case err == nil && strings.HasPrefix(failed, "remove epochs-"):
			// Removing the replaced epoch after the commit: a leftover
			// for the next open, not a failed save.
			ignored++
		case !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left on device"):
			t.Errorf("ENOSPC at %s: Train returned %v, not the disk's error", failed, err)
			counts["silent"]++
			continue
		default:
			enospc++
		}
		_, problems := c.check(fmt.Sprintf("ENOSPC at %s (operation %d)", failed, at))
		tally(problems)
	}
	t.Logf("%d file operations in a %d-epoch run (%v)", ops, crashEpochs, runTime.Round(time.Millisecond))
	t.Logf("%d SIGKILLs at random file operations of the run and %d at random moments (epochs committed when killed: %v); ENOSPC at %d operations of a save, %d of them after its commit; problems: %d mixed folders, %d orphan files after reopening, %d diverged resumes, %d silent failures",
		len(points), timedKills, byEpochs, enospc+ignored, ignored, counts["mixed"], counts["orphans"], counts["diverged"], counts["silent"])
}
