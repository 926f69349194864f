package runfolder

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func epoch(n int) Epoch {
	tag := string(rune('a' + n))
	return Epoch{Epochs: n, Weights: []byte("weights " + tag), Optimizer: []byte("optimizer " + tag), History: []byte(`{"epochs":"` + tag + `"}`)}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func sameEpoch(a *Epoch, b Epoch) bool {
	return a != nil && a.Epochs == b.Epochs && string(a.Weights) == string(b.Weights) &&
		string(a.Optimizer) == string(b.Optimizer) && string(a.History) == string(b.History)
}

func TestCommitAndRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if _, err := Open(dir, Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("opening a missing folder to read: %v", err)
	}
	f, err := Open(dir, Options{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if e, err := f.Latest(); e != nil || err != nil {
		t.Fatalf("a new folder has epoch %v, %v", e, err)
	}
	for n := 1; n <= 3; n++ {
		if err := f.Commit(epoch(n)); err != nil {
			t.Fatal(err)
		}
		e, err := f.Latest()
		if err != nil || !sameEpoch(e, epoch(n)) {
			t.Fatalf("after committing %d epochs: %+v, %v", n, e, err)
		}
	}
	if got, want := names(t, dir), []string{".lock", Checkpoint, "epochs-0003"}; !slices.Equal(got, want) {
		t.Errorf("folder holds %v, want %v", got, want)
	}
}

func TestOpenRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	f, _ := Open(dir, Options{Write: true})
	f.WriteConfig([]byte("{}"))
	f.Commit(epoch(1))
	f.Close()
	// A reader while someone writes leaves everything as it is.
	w, _ := Open(dir, Options{Write: true})
	// What crashes leave: a temporary epoch folder, a temporary
	// checkpoint, an epoch folder renamed into place but never committed,
	// the old version's temporary files, and old-layout files.
	for _, d := range []string{".tmp-epochs-0002-123", "epochs-0002"} {
		os.Mkdir(filepath.Join(dir, d), 0o755)
		os.WriteFile(filepath.Join(dir, d, WeightsFile), []byte("x"), 0o644)
	}
	for _, name := range []string{".tmp-checkpoint.json-99", "history.json.tmp12345", "weights.safetensors.tmp1"} {
		os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644)
	}
	r, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e, err := r.Latest(); !sameEpoch(e, epoch(1)) || err != nil {
		t.Errorf("reader beside a writer: %+v, %v", e, err)
	}
	r.Close()
	if len(names(t, dir)) != 9 {
		t.Errorf("a reader cleaned up under a writer: %v", names(t, dir))
	}
	w.Close()
	f, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got, want := names(t, dir), []string{".lock", Checkpoint, ConfigFile, "epochs-0001"}; !slices.Equal(got, want) {
		t.Errorf("after reopening the folder holds %v, want %v", got, want)
	}
	if e, err := f.Latest(); !sameEpoch(e, epoch(1)) || err != nil {
		t.Errorf("the committed epoch after cleanup: %+v, %v", e, err)
	}
}

func TestDamage(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(dir string)
		file   string
		reason string
	}{
		{"checkpoint not JSON", func(dir string) { os.WriteFile(filepath.Join(dir, Checkpoint), []byte("{"), 0o644) }, Checkpoint, "not valid JSON"},
		{"checkpoint null", func(dir string) { os.WriteFile(filepath.Join(dir, Checkpoint), []byte("null"), 0o644) }, Checkpoint, "not a JSON object"},
		{"checkpoint empty object", func(dir string) { os.WriteFile(filepath.Join(dir, Checkpoint), []byte("{}"), 0o644) }, Checkpoint, "format"},
		{"weights missing", func(dir string) { os.Remove(filepath.Join(dir, "epochs-0002", WeightsFile)) }, "epochs-0002/" + WeightsFile, "is missing"},
		{"optimizer truncated", func(dir string) { os.Truncate(filepath.Join(dir, "epochs-0002", OptimizerFile), 3) }, "epochs-0002/" + OptimizerFile, "has 3 bytes, but 11 were saved"},
		{"history changed", func(dir string) {
			os.WriteFile(filepath.Join(dir, "epochs-0002", HistoryFile), []byte(`{"epochs":"x"}`), 0o644)
		}, "epochs-0002/" + HistoryFile, "SHA-256 does not match"},
		{"epoch folder gone", func(dir string) { os.RemoveAll(filepath.Join(dir, "epochs-0002")) }, "epochs-0002/" + WeightsFile, "is missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			f, _ := Open(dir, Options{Write: true})
			f.Commit(epoch(1))
			f.Commit(epoch(2))
			f.Close()
			c.damage(dir)
			before := names(t, dir)
			f, err := Open(dir, Options{Write: true})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, err = f.Latest()
			var de *DamagedError
			if !errors.As(err, &de) || de.File != c.file || !strings.Contains(de.Reason, c.reason) {
				t.Fatalf("err = %v, want a DamagedError on %s saying %q", err, c.file, c.reason)
			}
			if got := names(t, dir); !slices.Equal(got, before) {
				t.Errorf("opening a damaged folder changed it: %v, was %v", got, before)
			}
		})
	}
}

func TestLegacyLayout(t *testing.T) {
	dir := t.TempDir()
	old := epoch(1)
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(dir, WeightsFile), old.Weights, 0o644)
	os.WriteFile(filepath.Join(dir, OptimizerFile), old.Optimizer, 0o644)
	os.WriteFile(filepath.Join(dir, HistoryFile), old.History, 0o644)
	f, err := Open(dir, Options{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.Latest()
	if err != nil || !e.Legacy || e.Epochs != -1 || string(e.Weights) != string(old.Weights) || string(e.History) != string(old.History) {
		t.Fatalf("old layout read as %+v, %v", e, err)
	}
	if err := f.Commit(epoch(2)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got, want := names(t, dir), []string{".lock", Checkpoint, ConfigFile, "epochs-0002"}; !slices.Equal(got, want) {
		t.Errorf("after the first commit the folder holds %v, want %v", got, want)
	}
	// A crash between the first commit and the removal of the old files
	// leaves them: the next open removes them, as the checkpoint recorded.
	for name, b := range map[string][]byte{WeightsFile: old.Weights, OptimizerFile: old.Optimizer, HistoryFile: old.History} {
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	f, _ = Open(dir, Options{Write: true})
	if e, err := f.Latest(); err != nil || !sameEpoch(e, epoch(2)) {
		t.Errorf("after a crash in the migration: %+v, %v", e, err)
	}
	f.Close()
	if got, want := names(t, dir), []string{".lock", Checkpoint, ConfigFile, "epochs-0002"}; !slices.Equal(got, want) {
		t.Errorf("the old files were not removed: %v", got)
	}
	// A history.json put at the top by hand is not removed, and is
	// reported: it is not what the run saved.
	os.WriteFile(filepath.Join(dir, HistoryFile), []byte("null"), 0o644)
	f, _ = Open(dir, Options{Write: true})
	var de *DamagedError
	if _, err := f.Latest(); !errors.As(err, &de) || de.File != HistoryFile || !strings.Contains(de.Reason, "not part of the saved run") {
		t.Errorf("a hand-made history.json beside the checkpoint: %v", err)
	}
	f.Close()
	if _, err := os.Stat(filepath.Join(dir, HistoryFile)); err != nil {
		t.Errorf("the hand-made history.json was removed: %v", err)
	}

	// An old folder whose first save never wrote its History holds no epoch.
	dir = t.TempDir()
	os.WriteFile(filepath.Join(dir, WeightsFile), old.Weights, 0o644)
	f, _ = Open(dir, Options{Write: true})
	if e, err := f.Latest(); e != nil || err != nil {
		t.Errorf("old layout without History: %+v, %v", e, err)
	}
	f.Close()
	// One with a History but no weights is damaged.
	dir = t.TempDir()
	os.WriteFile(filepath.Join(dir, HistoryFile), old.History, 0o644)
	os.WriteFile(filepath.Join(dir, OptimizerFile), old.Optimizer, 0o644)
	f, _ = Open(dir, Options{})
	if _, err := f.Latest(); !errors.As(err, &de) || de.File != WeightsFile {
		t.Errorf("old layout without weights: %v", err)
	}
	f.Close()
}

// TestFailedCommitKeepsThePreviousEpoch fails each operation of a commit in
// turn, as a full disk would, and checks that the previous epoch stays
// committed and that nothing is left behind after reopening.
func TestFailedCommitKeepsThePreviousEpoch(t *testing.T) {
	// Count the operations of one commit.
	ops := 0
	dir := t.TempDir()
	f, _ := Open(dir, Options{Write: true, Fault: func(op, path string) error { ops++; return nil }})
	f.Commit(epoch(1))
	ops = 0
	f.Commit(epoch(2))
	f.Close()
	if ops < 15 {
		t.Fatalf("a commit has only %d operations", ops)
	}
	for k := 1; k <= ops; k++ {
		dir := t.TempDir()
		var seen int
		var failed string
		fault := func(op, path string) error {
			if seen++; seen == k {
				failed = op + " " + filepath.Base(path)
				return syscall.ENOSPC
			}
			return nil
		}
		f, _ := Open(dir, Options{Write: true})
		f.Commit(epoch(1))
		f.Close()
		f, _ = Open(dir, Options{Write: true, Fault: fault})
		err := f.Commit(epoch(2))
		f.Close()
		f, _ = Open(dir, Options{})
		e, lerr := f.Latest()
		f.Close()
		switch {
		case lerr != nil:
			t.Errorf("failing %s: the folder reads as damaged: %v", failed, lerr)
		case err != nil && !errors.Is(err, syscall.ENOSPC):
			t.Errorf("failing %s: the error %v does not say why", failed, err)
		case err != nil && !sameEpoch(e, epoch(1)) && !sameEpoch(e, epoch(2)):
			t.Errorf("failing %s: the folder holds %+v", failed, e)
		case err == nil && !sameEpoch(e, epoch(2)):
			t.Errorf("failing %s was ignored, but epoch 2 is not committed: %+v", failed, e)
		}
		got := names(t, dir)
		if !slices.Equal(got, []string{".lock", Checkpoint, e.Dir}) {
			t.Errorf("failing %s: after reopening the folder holds %v", failed, got)
		}
	}
}

func TestSecondWriterIsBusy(t *testing.T) {
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("checked on Linux")
	}
	dir := t.TempDir()
	a, err := Open(dir, Options{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	lockWait = 0
	defer func() { lockWait = defaultLockWait }()
	if _, err := Open(dir, Options{Write: true}); !errors.Is(err, ErrBusy) {
		t.Errorf("a second writer: %v, want ErrBusy", err)
	}
	a.Close()
	b, err := Open(dir, Options{Write: true})
	if err != nil {
		t.Errorf("after the first writer closed: %v", err)
	}
	b.Close()
}
