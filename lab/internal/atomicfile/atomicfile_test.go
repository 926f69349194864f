package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteFileIsAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	if err := (FS{}).WriteFile(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	// Fail each operation in turn: the file keeps its old content, and
	// no temporary file stays unless the rename happened.
	var ops []string
	(FS{Fault: func(op, p string) error { ops = append(ops, op); return nil }}).WriteFile(path, []byte("x"))
	os.WriteFile(path, []byte("old"), 0o644)
	for k := range ops {
		n := 0
		fs := FS{Fault: func(op, p string) error {
			if n++; n == k+1 {
				return syscall.ENOSPC
			}
			return nil
		}}
		err := fs.WriteFile(path, []byte("new"))
		if !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("failing %s: err = %v", ops[k], err)
		}
		b, _ := os.ReadFile(path)
		entries, _ := os.ReadDir(dir)
		switch {
		case ops[k] == "syncdir" && string(b) != "new":
			t.Errorf("failing the last sync lost the renamed file: %q", b)
		case ops[k] != "syncdir" && string(b) != "old":
			t.Errorf("failing %s changed the file to %q", ops[k], b)
		case len(entries) != 1:
			t.Errorf("failing %s left %d files", ops[k], len(entries))
		}
		os.WriteFile(path, []byte("old"), 0o644)
	}
	if len(ops) != 6 {
		t.Errorf("WriteFile made the operations %v", ops)
	}
}

func TestCreateRefusesAnExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := (FS{}).Create(path, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := (FS{}).Create(path, []byte("b")); !errors.Is(err, os.ErrExist) {
		t.Errorf("creating over a file: %v", err)
	}
}
