//go:build !linux

package lab

import "os"

// mappedFile is a stand-in: batch files are mapped only on Linux, where a
// read lease keeps a mapping safe from a writer (mapfile_linux.go).
type mappedFile struct {
	data []byte
	key  fileKey
}

func mapShared(f *os.File, size int, key fileKey) (*mappedFile, string) {
	return nil, "memory-mapped batch files are used only on Linux"
}

func (m *mappedFile) shared() bool { return false }

const canMap = false

func (m *mappedFile) release() {}
