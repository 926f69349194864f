// Package cpu says which vector instructions golab's kernels may use on
// this machine, and measures the machine's peak float32 arithmetic.
//
// Kernels choose their code path at run time from Level: the best
// instruction set the CPU and the operating system support (Detected),
// lowered by the GOLAB_ISA environment variable ("avx512", "avx2" or "go")
// so that the lower paths can be run, tested and timed on a machine that
// has the higher ones. Builds with the purego tag, and other
// architectures than amd64, have no assembly: Detected is Generic there.
package cpu

import (
	"fmt"
	"os"
	"strings"
)

// ISA is an instruction set level the kernels have code for. Each level
// includes the ones below it.
type ISA int

const (
	// Generic is pure Go.
	Generic ISA = iota
	// AVX2 is AVX2 with FMA3 (Intel Haswell, AMD Zen and later).
	AVX2
	// AVX512 is AVX-512 F, DQ, BW and VL (Intel Skylake-SP, AMD Zen 4 and
	// later), on top of AVX2.
	AVX512
)

func (i ISA) String() string {
	switch i {
	case Generic:
		return "go"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	}
	return fmt.Sprintf("ISA(%d)", int(i))
}

// ParseISA reads an ISA by the names String gives ("go", "avx2",
// "avx512"), case-insensitively; "purego" and "generic" mean "go".
func ParseISA(s string) (ISA, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "go", "purego", "generic":
		return Generic, nil
	case "avx2":
		return AVX2, nil
	case "avx512", "avx-512":
		return AVX512, nil
	}
	return Generic, fmt.Errorf("cpu: unknown instruction set %q: want avx512, avx2 or go", s)
}

// Detected is the best level this build, CPU and OS support.
var Detected = detect()

// Level is the level the kernels use: Detected, or lower when GOLAB_ISA
// asks for less. Asking for more than Detected gives Detected.
var Level, levelNote = level(Detected, os.Getenv("GOLAB_ISA"))

func level(det ISA, env string) (ISA, string) {
	if env == "" {
		return det, ""
	}
	want, err := ParseISA(env)
	if err != nil {
		return det, "GOLAB_ISA ignored: " + err.Error()
	}
	if want > det {
		return det, fmt.Sprintf("GOLAB_ISA=%s ignored: this CPU or build has only %s", env, det)
	}
	return want, "GOLAB_ISA=" + env
}

// Describe names the level in use and why, for logs: "avx512",
// "avx2 (GOLAB_ISA=avx2)".
func Describe() string {
	if levelNote == "" {
		return Level.String()
	}
	return Level.String() + " (" + levelNote + ")"
}
