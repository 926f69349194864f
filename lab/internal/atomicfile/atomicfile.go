// Package atomicfile writes files so that a crash at any moment leaves either
// the old file or the new one, never a part of either, and makes the change
// durable (fsync of the file and of its folder) before reporting success.
//
// Every operation goes through FS, whose Fault hook lets tests fail an
// operation (a full disk) or stop the process at any point of a save.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// TempPrefix starts the name of every temporary file or folder made here,
// so that a cleanup after a crash can find them.
const TempPrefix = ".tmp-"

// chunk is the size of the writes, each a point where a fault may strike.
const chunk = 1 << 20

// FS does the file operations. The zero value uses the file system plainly.
type FS struct {
	// Fault, when set, is called before every operation with its name
	// ("create", "write", "sync", "close", "mkdir", "rename", "syncdir",
	// "remove") and the path it acts on; an error it returns becomes the
	// operation's.
	Fault func(op, path string) error
}

func (fs FS) fault(op, path string) error {
	if fs.Fault == nil {
		return nil
	}
	if err := fs.Fault(op, path); err != nil {
		return &os.PathError{Op: op, Path: path, Err: err}
	}
	return nil
}

// WriteFile replaces path with data atomically: it writes a temporary file
// beside it, syncs it, renames it over path and syncs the folder.
func (fs FS) WriteFile(path string, data []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := fs.fault("create", filepath.Join(dir, TempPrefix+base)); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, TempPrefix+base+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := fs.fill(f, data); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := fs.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return fs.SyncDir(dir)
}

// Create writes data to a new file, synced to disk. It is meant for files
// inside a temporary folder that is renamed into place once complete.
func (fs FS) Create(path string, data []byte) error {
	if err := fs.fault("create", path); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	return fs.fill(f, data)
}

// fill writes data to f in chunks, syncs and closes it.
func (fs FS) fill(f *os.File, data []byte) error {
	path := f.Name()
	for off := 0; ; off += chunk {
		end := min(off+chunk, len(data))
		if err := fs.fault("write", path); err != nil {
			f.Close()
			return err
		}
		if _, err := f.Write(data[off:end]); err != nil {
			f.Close()
			return err
		}
		if end == len(data) {
			break
		}
	}
	if err := fs.fault("sync", path); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := fs.fault("close", path); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// MkdirTemp makes a new temporary folder in dir, its name starting with
// TempPrefix and then name.
func (fs FS) MkdirTemp(dir, name string) (string, error) {
	if err := fs.fault("mkdir", filepath.Join(dir, TempPrefix+name)); err != nil {
		return "", err
	}
	return os.MkdirTemp(dir, TempPrefix+name+"-*")
}

// Rename renames old to new, replacing a file at new.
func (fs FS) Rename(old, new string) error {
	if err := fs.fault("rename", new); err != nil {
		return err
	}
	return os.Rename(old, new)
}

// RemoveAll removes path and what it holds.
func (fs FS) RemoveAll(path string) error {
	if err := fs.fault("remove", path); err != nil {
		return err
	}
	return os.RemoveAll(path)
}

// SyncDir makes the names in a folder (files created, renamed, removed)
// durable. Windows cannot sync a folder and needs no such step.
func (fs FS) SyncDir(dir string) error {
	if err := fs.fault("syncdir", dir); err != nil {
		return err
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing the folder %s: %w", dir, err)
	}
	return nil
}

// IsTemp reports whether a name is one of the temporary files or folders
// made here.
func IsTemp(name string) bool { return strings.HasPrefix(name, TempPrefix) }
