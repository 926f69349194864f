// Package kerneltest is bound into the kernel only for its own tests
// (GOLAB_KERNEL_TEST=1). It stands in for compiled lab code: long calls that
// watch the cell's context, prints from compiled code and runtime faults.
package kerneltest

import (
	"fmt"
	"os"
	"time"

	"golab/frontend"
)

// Spin works until the running cell is interrupted, polling frontend.Context
// like lab's training loop does, and returns how long it ran.
func Spin(max time.Duration) time.Duration {
	start := time.Now()
	ctx := frontend.Context()
	for time.Since(start) < max {
		select {
		case <-ctx.Done():
			return time.Since(start)
		default:
		}
		busy(time.Millisecond)
	}
	return time.Since(start)
}

// busy burns CPU for about d, like a training step does.
func busy(d time.Duration) {
	end := time.Now().Add(d)
	x := 0
	for time.Now().Before(end) {
		x++
	}
	_ = x
}

// Print writes lines to stdout from compiled code, pausing between them.
func Print(lines int, pause time.Duration) {
	for i := 0; i < lines; i++ {
		fmt.Printf("compiled line %d\n", i)
		time.Sleep(pause)
	}
}

// Eprint writes s to stderr from compiled code.
func Eprint(s string) { fmt.Fprintln(os.Stderr, s) }

// NilMapWrite writes to a nil map.
func NilMapWrite() {
	var m map[string]int
	m["x"] = 1
}

// Index reads s[i], which is out of range for a large i.
func Index(s []int, i int) int { return s[i] }

// Panic panics with msg.
func Panic(msg string) { panic(msg) }
