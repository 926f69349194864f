//go:build !linux

package cpu

import "time"

func threadTime() (time.Duration, bool) { return 0, false }
