//go:build unix

package capture

import (
	"fmt"
	"os"
	"syscall"
)

// dupFile returns a new file for a copy of fd.
func dupFile(fd int, name string) (*os.File, error) {
	nfd, err := syscall.Dup(fd)
	if err != nil {
		return nil, fmt.Errorf("capture: dup %s: %w", name, err)
	}
	syscall.CloseOnExec(nfd)
	return os.NewFile(uintptr(nfd), name), nil
}
