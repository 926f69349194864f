package cpu

import (
	"syscall"
	"time"
)

// threadTime is the CPU time of the calling OS thread (the goroutine must
// be locked to it), or false where it cannot be read.
func threadTime() (time.Duration, bool) {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
