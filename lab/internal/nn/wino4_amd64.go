//go:build !purego

package nn

import "golab/internal/cpu"

// The assembly kernels of wino4_amd64.s, and their kernel sets.

//go:noescape
func w4InputAVX2(v *float32, vs int, x *float32, rs int, c int)

//go:noescape
func w4InputAVX512(v *float32, vs int, x *float32, rs int, c int)

//go:noescape
func w4OutputAVX2(y *float32, rs, ys int, m *float32, ms int, k int, bias *float32, act int, slope float32)

//go:noescape
func w4OutputAVX512(y *float32, rs, ys int, m *float32, ms int, k int, bias *float32, act int, slope float32)

//go:noescape
func w4GradAVX2(m *float32, ms int, dy *float32, rs int, k int)

//go:noescape
func w4GradAVX512(m *float32, ms int, dy *float32, rs int, k int)

//go:noescape
func w4GemmAVX2(steps int, a *float32, aRow, aStep int, b *float32, bStep int, c *float32, ldc, rows int, acc bool)

//go:noescape
func w4GemmAVX512(steps int, a *float32, aRow, aStep int, b *float32, bStep int, c *float32, ldc, rows int, acc bool)

//go:noescape
func w4Gemm64AVX512(steps int, a *float32, aRow, aStep int, b *float32, bStep int, c *float32, ldc, rows int, acc bool)

//go:noescape
func w4FilterAVX2(u *float32, us, ustep int, taps *float32, gs, gstep int, n int)

//go:noescape
func w4FilterAVX512(u *float32, us, ustep int, taps *float32, gs, gstep int, n int)

//go:noescape
func w4FilterGradAVX2(dw *float32, gs, gstep int, du *float32, us, ustep int, n int)

//go:noescape
func w4FilterGradAVX512(dw *float32, gs, gstep int, du *float32, us, ustep int, n int)

//go:noescape
func w4InputAdjAVX512(x *float32, rs, ys int, m *float32, ms int, k int)

//go:noescape
func transposeAsm(dst *float32, ldd, dstUnit, dstStep int, src *float32, lds, srcUnit, srcStep int, nrows, cols, kind int)

// The kinds of transposeAsm's blocks.
const (
	tr8x8  = iota // 8 rows of 8, AVX2
	tr16x8        // 16 rows of 8 (NCHW planes into a strip), AVX-512
	tr8x16        // 8 rows of 16 (a strip into NCHW planes), AVX-512
)

var (
	w4KernelsAVX2 = w4Asm(cpu.AVX2, 8, 6, 16, w4InputAVX2, w4OutputAVX2, w4GradAVX2, w4GemmAVX2,
		w4FilterAVX2, w4FilterGradAVX2)
	w4KernelsAVX512 = withAdj(w4Asm(cpu.AVX512, 16, 12, 32, w4InputAVX512, w4OutputAVX512, w4GradAVX512, w4GemmAVX512,
		w4FilterAVX512, w4FilterGradAVX512))
	// w4KernelsAVX512Wide runs the products on the 6×64 micro-kernel,
	// for shapes whose filters come in multiples of 64.
	w4KernelsAVX512Wide = withAdj(w4Asm(cpu.AVX512, 16, 6, 64, w4InputAVX512, w4OutputAVX512, w4GradAVX512, w4Gemm64AVX512,
		w4FilterAVX512, w4FilterGradAVX512))
)

// withAdj adds the AVX-512 adjoint input transform to a kernel set.
func withAdj(kn *w4Kernels) *w4Kernels {
	kn.inputAdj = func(x []float32, rs, ys int, m []float32, ms, k int) {
		_ = x[5*rs+5*ys+k-1]
		_ = m[35*ms+k-1]
		w4InputAdjAVX512(&x[0], rs, ys, &m[0], ms, k)
	}
	return kn
}

// w4Asm wraps assembly kernels in the slice-taking kernel set, checking
// bounds once per call: the kernels touch exactly what the checks cover.
func w4Asm(isa cpu.ISA, lanes, mr, nr int,
	input func(v *float32, vs int, x *float32, rs int, c int),
	output func(y *float32, rs, ys int, m *float32, ms int, k int, bias *float32, act int, slope float32),
	grad func(m *float32, ms int, dy *float32, rs int, k int),
	gemm func(steps int, a *float32, aRow, aStep int, b *float32, bStep int, c *float32, ldc, rows int, acc bool),
	filter func(u *float32, us, ustep int, g *float32, gs, gstep int, n int),
	filterGrad func(dw *float32, gs, gstep int, du *float32, us, ustep int, n int),
) *w4Kernels {
	return &w4Kernels{isa: isa, lanes: lanes, mr: mr, nr: nr,
		input: func(v []float32, vs int, x []float32, rs, c int) {
			_ = v[35*vs+c-1]
			_ = x[5*rs+6*c-1]
			input(&v[0], vs, &x[0], rs, c)
		},
		output: func(y []float32, rs, ys int, m []float32, ms, k int, bias []float32, act int, slope float32) {
			_ = y[3*rs+3*ys+k-1]
			_ = m[35*ms+k-1]
			_ = bias[k-1]
			if act != 1 {
				if act == 0 {
					slope = 1 // LeakyReLU with slope 1 is the identity
				}
				act = 2
			}
			output(&y[0], rs, ys, &m[0], ms, k, &bias[0], act, slope)
		},
		grad: func(m []float32, ms int, g []float32, rs, k int) {
			_ = m[35*ms+k-1]
			_ = g[3*rs+4*k-1]
			grad(&m[0], ms, &g[0], rs, k)
		},
		gemm: func(steps int, a []float32, aRow, aStep int, b []float32, bStep int, c []float32, ldc, rows int, acc bool) {
			if steps <= 0 || rows <= 0 {
				panic("nn: gemm kernel: no steps or rows")
			}
			// The last group reads all mr rows.
			_ = a[((rows+mr-1)/mr*mr-1)*aRow+(steps-1)*aStep]
			_ = b[(steps-1)*bStep+nr-1]
			_ = c[(rows-1)*ldc+nr-1]
			gemm(steps, &a[0], aRow, aStep, &b[0], bStep, &c[0], ldc, rows, acc)
		},
		filter: func(u []float32, us, ustep int, g []float32, g0, gs, gstep, n int) {
			if n <= 0 {
				return
			}
			_ = u[(n-1)*ustep+35*us+lanes-1]
			last := g0 + (n-1)*gstep + lanes - 1
			_ = g[last+min(0, 8*gs)]
			_ = g[last+max(0, 8*gs)]
			_ = g[g0+min(0, 8*gs)]
			filter(&u[0], us, ustep, &g[g0], gs, gstep, n)
		},
		filterGrad: func(dw []float32, gs, gstep int, du []float32, us, ustep, n int) {
			if n <= 0 {
				return
			}
			_ = dw[(n-1)*gstep+8*gs+lanes-1]
			_ = du[(n-1)*ustep+35*us+lanes-1]
			filterGrad(&dw[0], gs, gstep, &du[0], us, ustep, n)
		},
	}
}

// transposeRows is transposeRowsGo in assembly.
func transposeRows(dst []float32, ldd, dstUnit, dstStep int, src []float32, lds, srcUnit, srcStep, nrows, cols int) {
	if nrows <= 0 {
		return
	}
	if !hasAVX2 {
		transposeRowsGo(dst, ldd, dstUnit, dstStep, src, lds, srcUnit, srcStep, nrows, cols)
		return
	}
	if cols < 8 {
		panic("nn: transposeRows needs 8 columns")
	}
	_ = src[(nrows-1)*srcStep+(cols-8)*srcUnit+7*lds+7]
	_ = dst[(nrows-1)*dstStep+(cols-8)*dstUnit+7*ldd+7]
	transposeAsm(&dst[0], ldd, dstUnit, dstStep, &src[0], lds, srcUnit, srcStep, nrows, cols, tr8x8)
}

// transposeRows16 is transposeRows16Go in assembly; it needs AVX-512.
func transposeRows16(dst []float32, ldd, dstUnit, dstStep int, src []float32, lds, srcUnit, srcStep, nrows, cols int) {
	transpose16(dst, ldd, dstUnit, dstStep, src, lds, srcUnit, srcStep, nrows, cols, false)
}

// transposeCols16 is transposeCols16Go in assembly; it needs AVX-512.
func transposeCols16(dst []float32, ldd, dstUnit, dstStep int, src []float32, lds, srcUnit, srcStep, nrows, cols int) {
	transpose16(dst, ldd, dstUnit, dstStep, src, lds, srcUnit, srcStep, nrows, cols, true)
}

func transpose16(dst []float32, ldd, dstUnit, dstStep int, src []float32, lds, srcUnit, srcStep, nrows, cols int, planes bool) {
	if nrows <= 0 {
		return
	}
	if !hasAVX512 {
		if planes {
			transposeCols16Go(dst, ldd, dstUnit, dstStep, src, lds, srcUnit, srcStep, nrows, cols)
		} else {
			transposeRows16Go(dst, ldd, dstUnit, dstStep, src, lds, srcUnit, srcStep, nrows, cols)
		}
		return
	}
	if cols < 8 {
		panic("nn: 16-wide transposes need 8 columns")
	}
	rows, width, kind := 16, 8, tr16x8 // of a source block
	if planes {
		rows, width, kind = 8, 16, tr8x16
	}
	_ = src[(nrows-1)*srcStep+(cols-8)*srcUnit+(rows-1)*lds+width-1]
	_ = dst[(nrows-1)*dstStep+(cols-8)*dstUnit+(width-1)*ldd+rows-1]
	transposeAsm(&dst[0], ldd, dstUnit, dstStep, &src[0], lds, srcUnit, srcStep, nrows, cols, kind)
}
