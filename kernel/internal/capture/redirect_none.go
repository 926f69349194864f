//go:build !unix

package capture

import (
	"errors"
	"os"
)

var errUnsupported = errors.New("capture: redirecting stdout and stderr needs a Unix system")

func dupFile(fd int, name string) (*os.File, error) { return nil, errUnsupported }

func redirect(from, fd int) error { return errUnsupported }
