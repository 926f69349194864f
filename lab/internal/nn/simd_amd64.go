//go:build !purego

package nn

import "golab/internal/cpu"

// AVX2 kernels in winograd_amd64.s. They process 8 tiles at a time; the
// callers do the rest in Go.

//go:noescape
func winoInputAVX2(v *float32, cl int, r0, r1, r2, r3 *float32, n int)

//go:noescape
func winoOutputAVX2(y0, y1, m *float32, kl int, n int, bias float32, act int, slope float32)

//go:noescape
func winoGradAVX2(m *float32, kl int, g0, g1 *float32, n int)

// hasAVX2 and hasAVX512 say which assembly kernels run: what the CPU has,
// lowered by GOLAB_ISA (package cpu). Tests set them to cover each path.
var (
	hasAVX2   = cpu.Level >= cpu.AVX2
	hasAVX512 = cpu.Level >= cpu.AVX512
)

//go:noescape
func winoInput4(v *float32, cl int, r0, r1, r2, r3 *float32)

//go:noescape
func winoOutput4(y0, y1, m *float32, kl int, bias float32, act int, slope float32)

//go:noescape
func winoGrad4(m *float32, kl int, g0, g1 *float32)

//go:noescape
func addLeakyAVX2(out, in *float32, n int, b float32, mode int, slope float32)

//go:noescape
func leakyGradAVX2(dx, dy, y *float32, n int, slope float32)

//go:noescape
func addAVX2(dst, src *float32, n int)

//go:noescape
func sgdAVX2(w, v, grad *float32, n int, lr, momentum float32, zero bool)

//go:noescape
func pool2x2AVX2(out *float32, am *int32, r0, r1 *float32, n int, base, w int32) int

//go:noescape
func sum64AVX2(x *float32, n int) float64

//go:noescape
func sqdev64AVX2(x *float32, n int, mean float64) float64

//go:noescape
func scaleShiftAVX2(y, x *float32, n int, scale, shift float32)

//go:noescape
func bnBackSumsAVX2(dy, x *float32, n int, mean, invstd float32) (sdy, sdyx float64)

//go:noescape
func bnBackDxAVX2(dx, dy, x *float32, n int, mean, invstd, k, a, b float32)

//go:noescape
func sum32AVX2(x *float32, n int) float32
