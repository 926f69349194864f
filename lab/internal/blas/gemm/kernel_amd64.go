//go:build !purego

package gemm

import "golab/internal/cpu"

// kernel6x16 is the AVX2/FMA micro-kernel of the Go Sgemm, in gemm_amd64.s.
//
//go:noescape
func kernel6x16(k int, a, b, c *float32, ldc int, alpha float32)

// hasKernel reports whether the kernel may run: the CPU and OS have AVX2
// and FMA, and GOLAB_ISA does not ask for pure Go (package cpu).
var hasKernel = cpu.Level >= cpu.AVX2
