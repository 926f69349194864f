// Package runfolder keeps the saved epochs of a training run in a folder, so
// that a crash at any moment (a killed process, a full disk, a power cut)
// leaves the folder holding exactly one committed epoch, never a mix of two.
//
// The layout of a run folder:
//
//	config.json           the run's configuration, written once
//	checkpoint.json       the commit record: which epoch folder is current,
//	                      with the size and SHA-256 of each of its files
//	epochs-0003/          the state after 3 finished epochs:
//	  weights.safetensors, optimizer.safetensors, history.json, and for a
//	  run that keeps its best epoch, best.safetensors
//	.lock                 held by the process that trains the run
//
// Commit writes an epoch into a new temporary folder, syncs it, renames it
// into place, then replaces checkpoint.json atomically: that rename is the
// one step that commits the epoch. Until it happens the previous epoch is
// the committed one. Whatever a crash leaves behind (temporary folders and
// files, an epoch folder no record names) is removed the next time the
// folder is opened for writing.
//
// Folders saved by earlier versions of golab, with the three files at the
// top and no checkpoint.json, are read as they are; the first commit moves
// them to this layout.
package runfolder

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golab/lab/internal/atomicfile"
)

// The files of a run folder.
const (
	ConfigFile    = "config.json"
	Checkpoint    = "checkpoint.json"
	WeightsFile   = "weights.safetensors"
	OptimizerFile = "optimizer.safetensors"
	HistoryFile   = "history.json"
	BestFile      = "best.safetensors" // the weights of the best epoch, when kept
	lockFile      = ".lock"
)

// format names the layout in checkpoint.json.
const format = "golab run folder 2"

// ErrBusy is the error of Open for writing when another Train holds the run.
var ErrBusy = errors.New("the run is being trained by another process or cell")

// A DamagedError says which file of a run folder cannot be read back, and why.
type DamagedError struct {
	File   string // relative to the run folder, e.g. "epochs-0003/weights.safetensors"
	Reason string
}

func (e *DamagedError) Error() string { return e.File + ": " + e.Reason }

// Options set up Open.
type Options struct {
	// Write opens the folder to commit epochs: it makes the folder when
	// missing, takes its lock (waiting a few seconds for a reader to finish)
	// and removes what a crash left behind. Without it the folder is only
	// read, and cleaned up only when nobody is writing it.
	Write bool
	// Fault is the test hook of atomicfile.FS.
	Fault func(op, path string) error
}

// Folder is an open run folder. It is not safe for concurrent use.
type Folder struct {
	Dir   string
	fs    atomicfile.FS
	lock  *os.File // nil when not held (a reader while someone writes)
	write bool
}

// Epoch is the saved state after some finished epochs.
type Epoch struct {
	Epochs                      int // finished epochs; -1 when a folder of the old layout does not say
	Weights, Optimizer, History []byte
	Best                        []byte // the weights of the best epoch so far; nil when not kept
	Legacy                      bool   // read from the old layout
	Dir                         string // the folder of its files, relative to the run folder ("" for the old layout)
}

// file returns the field of e that holds the named file.
func (e *Epoch) file(name string) *[]byte {
	switch name {
	case WeightsFile:
		return &e.Weights
	case OptimizerFile:
		return &e.Optimizer
	case BestFile:
		return &e.Best
	}
	return &e.History
}

// Open opens a run folder. Without Options.Write a missing folder is an error
// wrapping fs.ErrNotExist.
func Open(dir string, o Options) (*Folder, error) {
	f := &Folder{Dir: dir, fs: atomicfile.FS{Fault: o.Fault}, write: o.Write}
	if o.Write {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	} else if st, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	held, err := f.takeLock(o.Write)
	if err != nil {
		return nil, err
	}
	if held {
		if err := f.cleanup(); err != nil {
			f.Close()
			return nil, fmt.Errorf("cleaning up %s: %w", dir, err)
		}
	}
	return f, nil
}

// lockWait is how long a writer waits for a reader to let go of the lock;
// tests shorten it.
var lockWait = defaultLockWait

const defaultLockWait = 5 * time.Second

// takeLock takes the folder's lock: a writer waits up to lockWait for it (a
// reader holds it for the moment of a load) and fails with ErrBusy; a
// reader tries once and goes on without it.
func (f *Folder) takeLock(write bool) (bool, error) {
	lf, err := os.OpenFile(filepath.Join(f.Dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		if !write {
			return false, nil // a read-only folder: read it as it is
		}
		return false, err
	}
	for start := time.Now(); ; {
		ok, err := tryLock(lf)
		if err != nil {
			lf.Close()
			return false, err
		}
		if ok {
			f.lock = lf
			return true, nil
		}
		if !write {
			lf.Close()
			return false, nil
		}
		if time.Since(start) >= lockWait {
			lf.Close()
			return false, ErrBusy
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close releases the folder's lock.
func (f *Folder) Close() error {
	if f.lock == nil {
		return nil
	}
	err := f.lock.Close() // closing the file releases the lock
	f.lock = nil
	return err
}

var (
	epochDir = regexp.MustCompile(`^epochs-[0-9]{4,}$`)
	// oldTemp matches the temporary files of earlier versions, which a
	// killed save left behind.
	oldTemp = regexp.MustCompile(`^(config\.json|weights\.safetensors|optimizer\.safetensors|history\.json)\.tmp[0-9]+$`)
)

// cleanup removes what a crash left behind: temporary files and folders,
// epoch folders that are not the committed one, and the files of the old
// layout once a checkpoint has replaced them. It leaves everything in place
// when checkpoint.json cannot be read, for the user to look at.
func (f *Folder) cleanup() error {
	entries, err := os.ReadDir(f.Dir)
	if err != nil {
		return err
	}
	var rec *record
	b, err := os.ReadFile(filepath.Join(f.Dir, Checkpoint))
	switch {
	case err == nil:
		if rec, err = parseRecord(b); err != nil {
			rec = nil
			// Damaged: keep the epochs; only temporaries go.
			entries = onlyTemps(entries)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	_, herr := os.Stat(filepath.Join(f.Dir, HistoryFile))
	legacyCommitted := rec == nil && herr == nil
	removed := false
	for _, e := range entries {
		name := e.Name()
		var stale bool
		switch {
		case atomicfile.IsTemp(name), oldTemp.MatchString(name):
			stale = true
		case epochDir.MatchString(name):
			stale = rec == nil || name != rec.Dir
		case name == WeightsFile || name == OptimizerFile || name == HistoryFile:
			// The old layout: stale once a checkpoint replaced it, or
			// when its History, written last, never was.
			if rec != nil {
				stale = rec.replaced(f.Dir, name)
			} else {
				stale = !legacyCommitted
			}
		}
		if !stale {
			continue
		}
		if err := os.RemoveAll(filepath.Join(f.Dir, name)); err != nil {
			return err
		}
		removed = true
	}
	if removed {
		return f.fs.SyncDir(f.Dir)
	}
	return nil
}

func onlyTemps(entries []os.DirEntry) []os.DirEntry {
	var out []os.DirEntry
	for _, e := range entries {
		if atomicfile.IsTemp(e.Name()) || oldTemp.MatchString(e.Name()) {
			out = append(out, e)
		}
	}
	return out
}

// ReadConfig returns config.json; an error wrapping fs.ErrNotExist when
// there is none.
func (f *Folder) ReadConfig() ([]byte, error) {
	return os.ReadFile(filepath.Join(f.Dir, ConfigFile))
}

// WriteConfig writes config.json atomically.
func (f *Folder) WriteConfig(b []byte) error {
	if !f.write {
		return errors.New("runfolder: WriteConfig on a folder opened for reading")
	}
	return f.fs.WriteFile(filepath.Join(f.Dir, ConfigFile), b)
}

// Reset removes every saved epoch and the configuration, for a run that
// starts again: the checkpoint goes first, so a crash midway leaves no
// committed epoch rather than a damaged one.
func (f *Folder) Reset() error {
	if !f.write {
		return errors.New("runfolder: Reset on a folder opened for reading")
	}
	for _, name := range []string{Checkpoint, HistoryFile} {
		if err := f.fs.RemoveAll(filepath.Join(f.Dir, name)); err != nil {
			return err
		}
	}
	if err := f.fs.SyncDir(f.Dir); err != nil {
		return err
	}
	entries, err := os.ReadDir(f.Dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != lockFile {
			if err := f.fs.RemoveAll(filepath.Join(f.Dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return f.fs.SyncDir(f.Dir)
}

// record is checkpoint.json.
type record struct {
	Format string                `json:"format"`
	Epochs int                   `json:"epochs"`
	Dir    string                `json:"dir"`
	Files  map[string]fileRecord `json:"files"`
	// Replaces holds the SHA-256 of the old layout's files that the
	// first commit replaced, so that they are removed as leftovers while
	// a file put there by hand is not.
	Replaces map[string]string `json:"replaces,omitempty"`
}

type fileRecord struct {
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

var epochFiles = []string{WeightsFile, OptimizerFile, HistoryFile}

// optionalFiles are the files an epoch may have besides epochFiles.
var optionalFiles = []string{BestFile}

// files lists the files of a record's epoch.
func (r *record) files() []string {
	out := append([]string(nil), epochFiles...)
	for _, name := range optionalFiles {
		if _, ok := r.Files[name]; ok {
			out = append(out, name)
		}
	}
	return out
}

// replaced reports whether the file name at the top of the run folder is
// one the checkpoint replaced: the old layout's, left by a crash.
func (r *record) replaced(dir, name string) bool {
	want, ok := r.Replaces[name]
	if !ok {
		return false
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	return err == nil && sha(b) == want
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func dirName(epochs int) string { return fmt.Sprintf("epochs-%04d", epochs) }

func parseRecord(b []byte) (*record, error) {
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("is not a JSON object")
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("is not valid JSON (%v)", err)
	}
	switch {
	case r.Format != format:
		return nil, fmt.Errorf("gives the format %q, not %q", r.Format, format)
	case r.Epochs < 1:
		return nil, fmt.Errorf("records %d epochs; a checkpoint holds at least one", r.Epochs)
	case r.Dir != dirName(r.Epochs):
		return nil, fmt.Errorf("names the folder %q for %d epochs, not %q", r.Dir, r.Epochs, dirName(r.Epochs))
	}
	for _, name := range epochFiles {
		if _, ok := r.Files[name]; !ok {
			return nil, fmt.Errorf("lists no %s", name)
		}
	}
	for name, fr := range r.Files {
		if fr.Bytes < 0 || len(fr.SHA256) != 64 {
			return nil, fmt.Errorf("gives no size and SHA-256 for %s", name)
		}
	}
	_, best := r.Files[BestFile]
	if n := len(epochFiles) + len(optionalFiles); len(r.Files) != len(epochFiles) && !(best && len(r.Files) == n) {
		return nil, fmt.Errorf("lists %d files, not the %d of an epoch (or %d with %s)", len(r.Files), len(epochFiles), n, BestFile)
	}
	return &r, nil
}

// Latest returns the committed epoch, or nil when none is. A file that is
// missing, or differs from what was committed, gives a *DamagedError.
func (f *Folder) Latest() (*Epoch, error) {
	// A reader without the lock can race a commit that removes the epoch
	// it was about to read: read the record again and retry.
	for try := 0; ; try++ {
		e, err := f.latest()
		var de *DamagedError
		if f.lock == nil && try < 3 && errors.As(err, &de) && strings.HasSuffix(de.Reason, "is missing") {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		return e, err
	}
}

func (f *Folder) latest() (*Epoch, error) {
	b, err := os.ReadFile(filepath.Join(f.Dir, Checkpoint))
	if errors.Is(err, fs.ErrNotExist) {
		return f.legacy()
	}
	if err != nil {
		return nil, err
	}
	rec, err := parseRecord(b)
	if err != nil {
		return nil, &DamagedError{File: Checkpoint, Reason: err.Error()}
	}
	// A file of the old layout beside the checkpoint that is not one it
	// replaced was put there by hand: say so rather than ignore it.
	for _, name := range epochFiles {
		if _, err := os.Stat(filepath.Join(f.Dir, name)); err == nil && !rec.replaced(f.Dir, name) {
			return nil, &DamagedError{File: name, Reason: fmt.Sprintf("at the top of the folder is not part of the saved run, whose files are in %s/ (see %s); remove it", rec.Dir, Checkpoint)}
		}
	}
	e := &Epoch{Epochs: rec.Epochs, Dir: rec.Dir}
	for _, name := range rec.files() {
		rel := rec.Dir + "/" + name
		data, err := os.ReadFile(filepath.Join(f.Dir, rec.Dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &DamagedError{File: rel, Reason: "is missing"}
		}
		if err != nil {
			return nil, err
		}
		fr := rec.Files[name]
		if int64(len(data)) != fr.Bytes {
			return nil, &DamagedError{File: rel, Reason: fmt.Sprintf("has %d bytes, but %d were saved (truncated or overwritten)", len(data), fr.Bytes)}
		}
		if sha(data) != fr.SHA256 {
			return nil, &DamagedError{File: rel, Reason: "differs from what was saved (its SHA-256 does not match " + Checkpoint + ")"}
		}
		*e.file(name) = data
	}
	return e, nil
}

// legacy reads a folder of the old layout: its History, written last,
// marks a saved epoch.
func (f *Folder) legacy() (*Epoch, error) {
	e := &Epoch{Epochs: -1, Legacy: true}
	for _, name := range []string{HistoryFile, WeightsFile, OptimizerFile} {
		data, err := os.ReadFile(filepath.Join(f.Dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			if name == HistoryFile {
				return nil, nil // no epoch saved
			}
			return nil, &DamagedError{File: name, Reason: "is missing"}
		}
		if err != nil {
			return nil, err
		}
		*e.file(name) = data
	}
	return e, nil
}

// Commit saves the state after e.Epochs finished epochs as the committed
// epoch, in one atomic step. On error the previously committed epoch stays
// the committed one.
func (f *Folder) Commit(e Epoch) error {
	if !f.write {
		return errors.New("runfolder: Commit on a folder opened for reading")
	}
	if e.Epochs < 1 {
		return fmt.Errorf("runfolder: committing %d epochs", e.Epochs)
	}
	old, _ := os.ReadFile(filepath.Join(f.Dir, Checkpoint))
	prev, _ := parseRecord(old)
	name := dirName(e.Epochs)
	if prev != nil && prev.Epochs >= e.Epochs {
		return fmt.Errorf("runfolder: committing %d epochs over a checkpoint of %d", e.Epochs, prev.Epochs)
	}
	tmp, err := f.fs.MkdirTemp(f.Dir, name)
	if err != nil {
		return err
	}
	moved := false
	defer func() {
		if !moved {
			os.RemoveAll(tmp)
		}
	}()
	rec := record{Format: format, Epochs: e.Epochs, Dir: name, Files: map[string]fileRecord{}}
	// The old layout's files this commit replaces, or that an earlier
	// commit replaced and a crash kept.
	for _, n := range epochFiles {
		b, err := os.ReadFile(filepath.Join(f.Dir, n))
		if err != nil || prev != nil && !prev.replaced(f.Dir, n) {
			continue
		}
		if rec.Replaces == nil {
			rec.Replaces = map[string]string{}
		}
		rec.Replaces[n] = sha(b)
	}
	names := epochFiles
	if e.Best != nil {
		names = append(append([]string(nil), epochFiles...), BestFile)
	}
	for _, name := range names {
		data := *e.file(name)
		if err := f.fs.Create(filepath.Join(tmp, name), data); err != nil {
			return err
		}
		rec.Files[name] = fileRecord{Bytes: int64(len(data)), SHA256: sha(data)}
	}
	if err := f.fs.SyncDir(tmp); err != nil {
		return err
	}
	final := filepath.Join(f.Dir, name)
	// A folder of that name can only be one no checkpoint names: a
	// crash's leftover.
	if err := f.fs.RemoveAll(final); err != nil {
		return err
	}
	if err := f.fs.Rename(tmp, final); err != nil {
		return err
	}
	// From here a failure leaves an epoch folder that no checkpoint
	// names (or, if the checkpoint's rename happened, the committed one):
	// the next Open sorts that out.
	moved = true
	if err := f.fs.SyncDir(f.Dir); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	// The commit: after this rename, the new epoch is the folder's state.
	if err := f.fs.WriteFile(filepath.Join(f.Dir, Checkpoint), append(b, '\n')); err != nil {
		return err
	}
	// What the new epoch replaces. A failure here leaves leftovers that
	// the next Open removes, so it is not an error of the commit.
	if prev != nil {
		f.fs.RemoveAll(filepath.Join(f.Dir, prev.Dir))
	}
	for n := range rec.Replaces {
		if rec.replaced(f.Dir, n) {
			f.fs.RemoveAll(filepath.Join(f.Dir, n)) // the old layout
		}
	}
	return nil
}
