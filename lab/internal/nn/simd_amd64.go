//go:build !purego

package nn

// AVX2 kernels in winograd_amd64.s. They process 8 tiles at a time; the
// callers do the rest in Go.

//go:noescape
func winoInputAVX2(v *float32, cl int, r0, r1, r2, r3 *float32, n int)

//go:noescape
func winoOutputAVX2(y0, y1, m *float32, kl int, n int, bias float32, act int, slope float32)

//go:noescape
func winoGradAVX2(m *float32, kl int, g0, g1 *float32, n int)

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv0() (eax uint32)

// hasAVX2 reports whether the CPU and OS support AVX2.
var hasAVX2 = func() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false
	}
	if xgetbv0()&6 != 6 { // the OS saves XMM and YMM state
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}()

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
