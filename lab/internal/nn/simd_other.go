//go:build !amd64 || purego

package nn

// Without assembly the Winograd transforms run in Go only.

var hasAVX2, hasAVX512 = false, false

func winoInputAVX2(v *float32, cl int, r0, r1, r2, r3 *float32, n int) {
	panic("nn: no AVX2 kernels in this build")
}

func winoOutputAVX2(y0, y1, m *float32, kl int, n int, bias float32, act int, slope float32) {
	panic("nn: no AVX2 kernels in this build")
}

func winoGradAVX2(m *float32, kl int, g0, g1 *float32, n int) {
	panic("nn: no AVX2 kernels in this build")
}

func winoInput4(v *float32, cl int, r0, r1, r2, r3 *float32) {
	panic("nn: no AVX2 kernels in this build")
}

func winoOutput4(y0, y1, m *float32, kl int, bias float32, act int, slope float32) {
	panic("nn: no AVX2 kernels in this build")
}

func winoGrad4(m *float32, kl int, g0, g1 *float32) {
	panic("nn: no AVX2 kernels in this build")
}

func addLeakyAVX2(out, in *float32, n int, b float32, mode int, slope float32) {
	panic("nn: no AVX2 kernels in this build")
}

func leakyGradAVX2(dx, dy, y *float32, n int, slope float32) {
	panic("nn: no AVX2 kernels in this build")
}

func addAVX2(dst, src *float32, n int) {
	panic("nn: no AVX2 kernels in this build")
}

func sgdAVX2(w, v, grad *float32, n int, lr, momentum float32, zero bool) {
	panic("nn: no AVX2 kernels in this build")
}

func pool2x2AVX2(out *float32, am *int32, r0, r1 *float32, n int, base, w int32) int {
	panic("nn: no AVX2 kernels in this build")
}

func sum64AVX2(x *float32, n int) float64 { panic("nn: no AVX2 kernels in this build") }

func sqdev64AVX2(x *float32, n int, mean float64) float64 {
	panic("nn: no AVX2 kernels in this build")
}

func scaleShiftAVX2(y, x *float32, n int, scale, shift float32) {
	panic("nn: no AVX2 kernels in this build")
}

func bnBackSumsAVX2(dy, x *float32, n int, mean, invstd float32) (sdy, sdyx float64) {
	panic("nn: no AVX2 kernels in this build")
}

func bnBackDxAVX2(dx, dy, x *float32, n int, mean, invstd, k, a, b float32) {
	panic("nn: no AVX2 kernels in this build")
}

func sum32AVX2(x *float32, n int) float32 { panic("nn: no AVX2 kernels in this build") }
