package stdlib

import (
	"errors"
	"log"
	"os"
	"strconv"
)

// A notebook cell must not end the kernel: the bindings of os.Exit and
// log.Fatal panic instead (the extractor names these functions for the
// symbols it restricts), and os.FindProcess refuses the kernel's own pid.

var errRestricted = errors.New("restricted in the golab kernel")

func osExit(code int) {
	panic("os.Exit(" + strconv.Itoa(code) + ") in a notebook cell; the kernel keeps running")
}

func osFindProcess(pid int) (*os.Process, error) {
	if pid == os.Getpid() {
		return nil, errRestricted
	}
	return os.FindProcess(pid)
}

func logFatal(v ...any)                 { log.Panic(v...) }
func logFatalf(format string, v ...any) { log.Panicf(format, v...) }
func logFatalln(v ...any)               { log.Panicln(v...) }
