package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"golab/internal/cpu"
)

// w4Sets are the engine's kernel sets this build and CPU can run,
// whatever GOLAB_ISA says: Go always, then AVX2 and AVX-512 (12×32 and
// 6×64 products).
func w4Sets() []*w4Kernels {
	sets := []*w4Kernels{w4KernelsGo}
	if cpu.Detected >= cpu.AVX2 && w4KernelsAVX2 != nil {
		sets = append(sets, w4KernelsAVX2)
	}
	if cpu.Detected >= cpu.AVX512 && w4KernelsAVX512 != nil {
		sets = append(sets, w4KernelsAVX512, w4KernelsAVX512Wide)
	}
	return sets
}

// same reports whether two results are equal as numbers (−0 = +0) or both
// NaN.
func same(a, b float32) bool { return a == b || (a != a && b != b) }

// The assembly transforms run the Go kernels' operations in the same
// order, so they must agree exactly, NaN and infinities included.
func TestWino4TransformsMatchGo(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, kn := range w4Sets()[1:] {
		c := 3 * kn.lanes
		rs, vs := 7*c+5, 3*c+11 // any strides beyond what a tile needs
		x := randSlice(r, 6*rs)
		x[2*rs+3*c+1] = float32(math.NaN())
		x[4*rs+c+2] = float32(math.Inf(-1))
		want, got := make([]float32, 36*vs), make([]float32, 36*vs)
		w4InputGo(want, vs, x, rs, c)
		kn.input(got, vs, x, rs, c)
		for i := range want {
			if !same(got[i], want[i]) {
				t.Fatalf("%v input transform [%d] = %v, want %v", kn.isa, i, got[i], want[i])
			}
		}

		m := randSlice(r, 36*vs)
		m[7*vs+1] = float32(math.NaN())
		bias := randSlice(r, c)
		for _, a := range []struct {
			act   int
			slope float32
		}{{0, 0}, {1, 0}, {2, 0.01}, {2, 1}} {
			want, got := make([]float32, 4*rs), make([]float32, 4*rs)
			w4OutputGo(want, rs, c+3, m, vs, c, bias, a.act, a.slope)
			kn.output(got, rs, c+3, m, vs, c, bias, a.act, a.slope)
			for i := range want {
				if !same(got[i], want[i]) {
					t.Fatalf("%v output transform act %d [%d] = %v, want %v", kn.isa, a.act, i, got[i], want[i])
				}
			}
		}

		g := randSlice(r, 4*rs)
		want, got = make([]float32, 36*vs), make([]float32, 36*vs)
		w4GradGo(want, vs, g, rs, c)
		kn.grad(got, vs, g, rs, c)
		for i := range want {
			if !same(got[i], want[i]) {
				t.Fatalf("%v gradient transform [%d] = %v, want %v", kn.isa, i, got[i], want[i])
			}
		}

		if kn.inputAdj != nil { // added into what the window holds
			want, got = randSlice(r, 6*rs), nil
			got = append(got, want...)
			w4InputAdjGo(want, rs, c+2, m, vs, c)
			kn.inputAdj(got, rs, c+2, m, vs, c)
			for i := range want {
				if !same(got[i], want[i]) {
					t.Fatalf("%v adjoint input transform [%d] = %v, want %v", kn.isa, i, got[i], want[i])
				}
			}
		}
	}
}

// The adjoint input transform is the input transform's adjoint:
// ⟨Bᵀ d B, M⟩ = ⟨d, B M Bᵀ⟩ for any tile d and products' gradient M.
func TestWino4InputAdjoint(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	d, m := randSlice(r, 36), randSlice(r, 36)
	v, dd := make([]float32, 36), make([]float32, 36)
	w4InputGo(v, 1, d, 6, 1)
	w4InputAdjGo(dd, 6, 1, m, 1, 1)
	var lhs, rhs, scale float64
	for i := range 36 {
		lhs += float64(v[i]) * float64(m[i])
		rhs += float64(d[i]) * float64(dd[i])
		scale += math.Abs(float64(v[i]) * float64(m[i]))
	}
	if math.Abs(lhs-rhs) > 1e-5*scale {
		t.Fatalf("⟨Bᵀ d B, M⟩ = %v, ⟨d, B M Bᵀ⟩ = %v", lhs, rhs)
	}
}

// The filter transforms likewise, with the taps read forwards and
// backwards.
func TestWino4FilterTransformsMatchGo(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	for _, kn := range w4Sets()[1:] {
		const n = 3
		l := kn.lanes
		gstep, us, ustep := 9*l+3, n*l+5, l+1
		g := randSlice(r, n*gstep+9*l)
		for _, flip := range []bool{false, true} {
			g0, gs := 0, l
			if flip {
				g0, gs = 8*l, -l
			}
			want, got := make([]float32, 36*us+n*ustep+l), make([]float32, 36*us+n*ustep+l)
			for lane := range l {
				w4FilterGo(want[lane:], us, ustep, g, g0+lane, gs, gstep, n)
			}
			kn.filter(got, us, ustep, g, g0, gs, gstep, n)
			for i := range want {
				if !same(got[i], want[i]) {
					t.Fatalf("%v filter transform (flipped %v) [%d] = %v, want %v", kn.isa, flip, i, got[i], want[i])
				}
			}
		}
		du := randSlice(r, 36*us+n*ustep+l)
		want, got := make([]float32, n*gstep+9*l), make([]float32, n*gstep+9*l)
		for lane := range l {
			w4FilterGradGo(want[lane:], l, gstep, du[lane:], us, ustep, n)
		}
		kn.filterGrad(got, l, gstep, du, us, ustep, n)
		for i := range want {
			if !same(got[i], want[i]) {
				t.Fatalf("%v filter-gradient transform [%d] = %v, want %v", kn.isa, i, got[i], want[i])
			}
		}
	}
}

// The micro-kernels against float64, in both uses: rows of A along its
// rows (forward) and along its columns (filter gradient), every row count
// and with accumulation, in one register block or several.
func TestWino4GemmMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for _, kn := range w4Sets() {
		for _, steps := range []int{1, 4, 7, 9, 64, 66} {
			for _, fwd := range []bool{true, false} {
				lda := steps + 3 // row stride of A as stored
				aRow, aStep := lda, 1
				if !fwd {
					lda = kn.mr + 5
					aRow, aStep = 1, lda
				}
				maxRows := 3*kn.mr + 1
				a := randSlice(r, (4*kn.mr+steps)*lda+4*kn.mr)
				bStep := kn.nr + 4
				b := randSlice(r, steps*bStep)
				for rows := 1; rows <= maxRows; rows++ {
					for _, acc := range []bool{false, true} {
						ldc := kn.nr + 2
						c := randSlice(r, maxRows*ldc)
						c0 := append([]float32(nil), c...)
						kn.gemm(steps, a, aRow, aStep, b, bStep, c, ldc, rows, acc)
						for i := range maxRows {
							for j := range ldc {
								got := c[i*ldc+j]
								if i >= rows || j >= kn.nr {
									if got != c0[i*ldc+j] {
										t.Fatalf("%v: wrote c[%d][%d] outside the block", kn.isa, i, j)
									}
									continue
								}
								var want, scale float64
								if acc {
									want, scale = float64(c0[i*ldc+j]), math.Abs(float64(c0[i*ldc+j]))
								}
								for p := range steps {
									v := float64(a[i*aRow+p*aStep]) * float64(b[p*bStep+j])
									want += v
									scale += math.Abs(v)
								}
								if d := math.Abs(float64(got) - want); d > 1e-6*scale {
									t.Fatalf("%v steps %d fwd %v rows %d acc %v: c[%d][%d] = %v, want %v", kn.isa, steps, fwd, rows, acc, i, j, got, want)
								}
							}
						}
					}
				}
			}
		}
	}
}

func abs32(s []float32) []float32 {
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = float32(math.Abs(float64(v)))
	}
	return out
}

// within checks |got − want| ≤ eps·scale elementwise, where scale is the
// sum of the absolute values of the terms of each result: rounding errors
// grow with it, whatever the cancellations in the result.
func within(t *testing.T, what string, got, want, scale []float32, eps float64) float64 {
	t.Helper()
	worst := 0.0
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if !(d <= eps*float64(scale[i])+1e-30) {
			t.Fatalf("%s[%d] = %v, want %v (error %.3g of scale %.3g, bound %.3g)", what, i, got[i], want[i], d, scale[i], eps)
		}
		worst = max(worst, d/(float64(scale[i])+1e-30))
	}
	return worst
}

// tileScale spreads the scale of each output of a convolution (N×K×oh×ow)
// over its 4×4 Winograd tile, the largest of the tile's: the transforms
// mix a tile's outputs, so an output next to zero padding carries the
// rounding errors of its tile's other outputs.
func tileScale(scale []float32, n, k, oh, ow int) []float32 {
	out := make([]float32, len(scale))
	for p := range n * k {
		pl, op := scale[p*oh*ow:(p+1)*oh*ow], out[p*oh*ow:(p+1)*oh*ow]
		for ti := 0; ti < oh; ti += 4 {
			for tj := 0; tj < ow; tj += 4 {
				var m float32
				for i := ti; i < min(ti+4, oh); i++ {
					for j := tj; j < min(tj+4, ow); j++ {
						m = max(m, pl[i*ow+j])
					}
				}
				for i := ti; i < min(ti+4, oh); i++ {
					for j := tj; j < min(tj+4, ow); j++ {
						op[i*ow+j] = m
					}
				}
			}
		}
	}
	return out
}

// wino4Eps bounds the engine's error, relative to the sum of the absolute
// values of the terms of each output (Σ|w·x| forward, Σ|dy·x| for the
// filter gradient), the largest of its 4×4 tile for outputs (tileScale):
// 128 units of 2⁻²⁴ (7.6·10⁻⁶). TestWino4Error measured
// 17–34 units on the assignment's layers (F(2×2, 3×3): under 2, im2col
// with sgemm: under 6); the largest error of a layer grows slowly with the
// number of outputs, and the bound leaves room for that. A wrong transform
// errs by whole units of the result, far above it.
const wino4Eps = 128 * 0x1p-24

var wino4Shapes = []ConvShape{
	{N: 3, C: 16, H: 14, W: 11, K: 32, R: 3, S: 3, Stride: 1, Pad: 1},
	{N: 3, C: 32, H: 14, W: 11, K: 32, R: 3, S: 3, Stride: 1, Pad: 1},
	{N: 2, C: 32, H: 10, W: 10, K: 64, R: 3, S: 3, Stride: 1, Pad: 1},
	{N: 5, C: 48, H: 7, W: 9, K: 32, R: 3, S: 3, Stride: 1, Pad: 2},
	{N: 2, C: 32, H: 10, W: 30, K: 32, R: 3, S: 3, Stride: 1},
	{N: 4, C: 16, H: 6, W: 10, K: 32, R: 3, S: 3, Stride: 1, Pad: 2},
	{N: 2, C: 32, H: 26, W: 26, K: 32, R: 3, S: 3, Stride: 1},
	{N: 2, C: 64, H: 10, W: 9, K: 64, R: 3, S: 3, Stride: 1, Pad: 1},
	{N: 3, C: 64, H: 12, W: 12, K: 128, R: 3, S: 3, Stride: 1},
	{N: 3, C: 128, H: 10, W: 9, K: 128, R: 3, S: 3, Stride: 1, Pad: 1}, // big filters (backwardByXi)
}

func TestWino4MatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	for _, kn := range w4Sets() {
		ran := 0
		for _, s := range wino4Shapes {
			if !useWino4(s, kn) {
				if kn.nr <= 32 {
					t.Fatalf("%v cannot run %+v", kn.isa, s)
				}
				continue // the 6×64 products need filters in multiples of 64
			}
			ran++
			x, w, b, dy := convData(r, s)
			wantY := directConv(s, x, w, b)
			scaleY := tileScale(directConv(s, abs32(x), abs32(w), abs32(b)), s.N, s.K, s.OutH(), s.OutW())
			wantDw, wantDb := refConvBackwardFilter(s, dy, x)
			scaleDw, scaleDb := refConvBackwardFilter(s, abs32(dy), abs32(x))
			// Default blocks, then blocks of one micro-kernel's rows: many
			// blocks, several shards, partial blocks.
			for _, small := range []bool{false, true} {
				wg := newWino4(s, kn)
				if small {
					wg.imgs = 1
				}
				what := fmt.Sprintf("%v %+v images per block %d", kn.isa, s, wg.imgs)
				y := make([]float32, len(wantY))
				for range 2 { // stale scratch would show the second time
					wg.forward(y, x, w, b, false, false, 0)
					within(t, what+" forward", y, wantY, scaleY, wino4Eps)
				}
				for _, slope := range []float32{0, 0.01, 2} {
					wg.forward(y, x, w, b, false, true, slope)
					want := append([]float32(nil), wantY...)
					LeakyReLU(want, want, slope)
					within(t, fmt.Sprintf("%s leaky %v", what, slope), y, want, scaleY, wino4Eps*max(1, float64(slope)))
				}
				// The input gradient: the flipped filters over dy padded by
				// 2−Pad, as Conv.BackwardData runs it.
				bs := ConvShape{N: s.N, C: s.K, H: s.OutH(), W: s.OutW(), K: s.C, R: 3, S: 3, Stride: 1, Pad: 2 - s.Pad}
				if useWino4(bs, kn) {
					back := newWino4(bs, kn)
					if small {
						back.imgs = 1
					}
					dx := make([]float32, len(x))
					back.forward(dx, dy, w, nil, true, false, 0)
					wantDx := refConvBackwardData(s, dy, w)
					scaleDx := tileScale(refConvBackwardData(s, abs32(dy), abs32(w)), s.N, s.C, s.H, s.W)
					within(t, what+" dx", dx, wantDx, scaleDx, wino4Eps)
				}
				if wg.kd != nil { // the input gradient over the forward pass's tiles
					wantDx := refConvBackwardData(s, dy, w)
					scaleDx := refConvBackwardData(s, abs32(dy), abs32(w))
					dx := make([]float32, len(x))
					for range 2 {
						wg.backwardData(dx, dy, w)
						within(t, what+" dx over forward tiles", dx, wantDx, scaleDx, wino4Eps)
					}
				}
				dw, db := make([]float32, len(w)), make([]float32, s.K)
				for range 2 {
					wg.backwardFilter(dw, db, dy, x)
					within(t, what+" dw", dw, wantDw, scaleDw, wino4Eps)
					within(t, what+" db", db, wantDb, scaleDb, 1e-5)
				}
				if wg.kd != nil { // both in one pass: the same sums
					dx := make([]float32, len(x))
					wg.backwardData(dx, dy, w)
					fdx, fdw, fdb := make([]float32, len(x)), make([]float32, len(w)), make([]float32, s.K)
					for range 2 {
						wg.backward(fdx, fdw, fdb, dy, x, w)
						for _, c := range []struct {
							name      string
							got, want []float32
						}{{"dx", fdx, dx}, {"dw", fdw, dw}, {"db", fdb, db}} {
							for i := range c.want {
								if math.Float32bits(c.got[i]) != math.Float32bits(c.want[i]) {
									t.Fatalf("%s: one pass's %s[%d] = %v, the passes' alone %v", what, c.name, i, c.got[i], c.want[i])
								}
							}
						}
					}
				}
			}
		}
		if ran < 2 {
			t.Fatalf("%v/%d ran %d shapes", kn.isa, kn.nr, ran)
		}
	}
}

// TestWino4Error measures the engine's rounding error on the assignment's
// layers at batch 4, against float64, as a fraction of the scale of each
// result (see within), beside F(2×2, 3×3) and im2col with sgemm; and
// checks it stays within wino4Eps.
func TestWino4Error(t *testing.T) {
	if testing.Short() {
		t.Skip("float64 references of full layers")
	}
	r := rand.New(rand.NewPCG(47, 48))
	sets := w4Sets()
	for _, l := range modelConvs {
		s := l.s
		s.N = 1
		switch l.name {
		case "c2_32x30x30_k32", "drop4_64x26x26_k128", "drop5_128x12x12_k256", "drop6_256x5x5_k512", "imp4_256x12x12_k128":
		default:
			continue // the others are alike, and each costs seconds
		}
		x, w, b, dy := convData(r, s)
		wantY, scaleY := directConv(s, x, w, b), tileScale(directConv(s, abs32(x), abs32(w), abs32(b)), s.N, s.K, s.OutH(), s.OutW())
		wantDw, _ := refConvBackwardFilter(s, dy, x)
		scaleDw, _ := refConvBackwardFilter(s, abs32(dy), abs32(x))
		kn := sets[len(sets)-1] // the widest set whose products fit the filters
		for i := len(sets) - 1; s.K%kn.nr != 0; i-- {
			kn = sets[i-1]
		}
		wg := newWino4(s, kn)
		y := make([]float32, len(wantY))
		wg.forward(y, x, w, b, false, false, 0)
		e4 := within(t, l.name+" F(4x4,3x3)", y, wantY, scaleY, wino4Eps)
		dw := make([]float32, len(w))
		wg.backwardFilter(dw, nil, dy, x)
		e4w := within(t, l.name+" F(4x4,3x3) dw", dw, wantDw, scaleDw, wino4Eps)
		w2 := newWinograd(s)
		w2.transformFilters(w)
		w2.forward(y, x, b, false, 0)
		e2 := within(t, l.name+" F(2x2,3x3)", y, wantY, scaleY, wino4Eps)
		func() {
			defer func(on bool) { winogradOn, wino4On = on, true }(winogradOn)
			winogradOn, wino4On = false, false
			c, _ := NewConv(s)
			c.Forward(y, x, w, b)
		}()
		eg := within(t, l.name+" im2col", y, wantY, scaleY, wino4Eps)
		t.Logf("%-22s error / scale, in units of 2⁻²⁴: F(4×4,3×3) %5.2f (dw %5.2f), F(2×2,3×3) %5.2f, im2col+sgemm %5.2f",
			l.name, e4*0x1p24, e4w*0x1p24, e2*0x1p24, eg*0x1p24)
	}
}

// The engine's results do not depend on the number of threads.
func TestWino4Deterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	r := rand.New(rand.NewPCG(49, 50))
	for _, kn := range w4Sets() {
		s := ConvShape{N: 9, C: 32, H: 12, W: 12, K: 64, R: 3, S: 3, Stride: 1, Pad: 1}
		x, w, b, dy := convData(r, s)
		var first [][]float32
		for _, procs := range []int{1, 2, 3, 8} {
			runtime.GOMAXPROCS(procs)
			wg := newWino4(s, kn)
			wg.imgs = 1 // many blocks: all shards in use
			y, dw, db := make([]float32, len(dy)), make([]float32, len(w)), make([]float32, s.K)
			wg.forward(y, x, w, b, false, true, 0)
			wg.backwardFilter(dw, db, dy, x)
			got := [][]float32{y, dw, db}
			if first == nil {
				first = got
				continue
			}
			sameBits(t, fmt.Sprintf("%v GOMAXPROCS=%d", kn.isa, procs), got, first)
		}
	}
}

// The 6×64 products sum in the 12×32 ones' order, so w4For's choice
// between them leaves every result the same, bit for bit.
func TestWino4WideSameBits(t *testing.T) {
	if w4KernelsAVX512Wide == nil || cpu.Detected < cpu.AVX512 {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(51, 52))
	s := ConvShape{N: 5, C: 64, H: 14, W: 13, K: 128, R: 3, S: 3, Stride: 1, Pad: 1}
	x, w, b, dy := convData(r, s)
	var first [][]float32
	for _, kn := range []*w4Kernels{w4KernelsAVX512, w4KernelsAVX512Wide} {
		wg := newWino4(s, kn)
		y, dw, db := make([]float32, len(dy)), make([]float32, len(w)), make([]float32, s.K)
		wg.forward(y, x, w, b, false, true, 0.01)
		wg.backwardFilter(dw, db, dy, x)
		got := [][]float32{y, dw, db}
		if first != nil {
			sameBits(t, fmt.Sprintf("%v/%d", kn.isa, kn.nr), got, first)
		}
		first = got
	}
}

// The 8×8 block transposes, both ways round (the blocks moving along the
// source's rows or along its columns), with overlapping last blocks.
func TestTransposeRows(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no assembly")
	}
	r := rand.New(rand.NewPCG(55, 56))
	for _, cols := range []int{8, 13, 24, 26} {
		for _, alongRows := range []bool{false, true} {
			const nrows, lds, ldd = 3, 40, 37
			srcUnit, dstUnit := 1, ldd
			if alongRows {
				srcUnit, dstUnit = lds, 1
			}
			srcStep, dstStep := 50*lds, 45*ldd
			src := randSlice(r, nrows*srcStep+cols*lds+8)
			want, got := make([]float32, nrows*dstStep+cols*ldd+8), make([]float32, nrows*dstStep+cols*ldd+8)
			transposeRowsGo(want, ldd, dstUnit, dstStep, src, lds, srcUnit, srcStep, nrows, cols)
			transposeRows(got, ldd, dstUnit, dstStep, src, lds, srcUnit, srcStep, nrows, cols)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("cols %d along rows %v: [%d] = %v, want %v", cols, alongRows, i, got[i], want[i])
				}
			}
		}
	}
}

// The 16-wide transposes: 16 rows (channels) of 8 columns (pixels) into
// a strip, and 8 rows (pixels) of 16 (channels) back into planes, along
// rows of blocks with overlapping last blocks.
func TestTransposeRows16(t *testing.T) {
	r := rand.New(rand.NewPCG(57, 58))
	type transpose func(dst []float32, ldd, dstUnit, dstStep int, src []float32, lds, srcUnit, srcStep, nrows, cols int)
	for _, k := range []struct {
		name         string
		asm, ref     transpose
		rows, width  int
		alongSrcRows bool
	}{
		{"rows16", transposeRows16, transposeRows16Go, 16, 8, false},
		{"cols16", transposeCols16, transposeCols16Go, 8, 16, true},
	} {
		for _, cols := range []int{8, 13, 24, 26} {
			const nrows, lds, ldd = 3, 40, 37
			srcUnit, dstUnit := 1, ldd
			if k.alongSrcRows {
				srcUnit, dstUnit = lds, 1
			}
			srcStep, dstStep := 50*lds, 45*ldd
			src := randSlice(r, nrows*srcStep+(cols+16)*lds+16)
			n := nrows*dstStep + (cols+16)*ldd + 16
			want, got := make([]float32, n), make([]float32, n)
			k.ref(want, ldd, dstUnit, dstStep, src, lds, srcUnit, srcStep, nrows, cols)
			for j := range k.width { // the Go reference itself, on row 1's first block
				for rr := range k.rows {
					if w := want[dstStep+j*ldd+rr]; w != src[srcStep+rr*lds+j] {
						t.Fatalf("%s Go: [%d][%d] = %v", k.name, j, rr, w)
					}
				}
			}
			k.asm(got, ldd, dstUnit, dstStep, src, lds, srcUnit, srcStep, nrows, cols)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s cols %d: [%d] = %v, want %v", k.name, cols, i, got[i], want[i])
				}
			}
		}
	}
}

func TestTransposeBlock(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, avx := range []bool{false, true} {
		if avx && !hasAVX2 {
			continue
		}
		func() {
			defer func(h bool) { hasAVX2 = h }(hasAVX2)
			hasAVX2 = avx
			for _, d := range [][2]int{{1, 1}, {3, 5}, {8, 8}, {9, 17}, {16, 8}, {27, 30}, {64, 100}} {
				rows, cols := d[0], d[1]
				lds, ldd := cols+3, rows+2
				src := randSlice(r, rows*lds)
				dst := make([]float32, cols*ldd)
				transposeBlock(dst, ldd, src, lds, rows, cols)
				for i := range rows {
					for j := range cols {
						if dst[j*ldd+i] != src[i*lds+j] {
							t.Fatalf("avx %v %dx%d: dst[%d][%d] = %v, want %v", avx, rows, cols, j, i, dst[j*ldd+i], src[i*lds+j])
						}
					}
				}
				for j := range cols {
					for i := rows; i < ldd; i++ {
						if dst[j*ldd+i] != 0 {
							t.Fatalf("avx %v %dx%d: wrote outside the block", avx, rows, cols)
						}
					}
				}
			}
		}()
	}
}

// The im2col convolutions on the micro-kernels, for every kernel set,
// against float64, with row counts that leave a partial register block and
// unrolled widths padded to whole panels.
func TestGemmConvMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(69, 70))
	for _, kn := range w4Sets() {
		for _, s := range []ConvShape{
			{N: 5, C: 32, H: 5, W: 5, K: 32, R: 3, S: 3, Stride: 1},
			{N: 3, C: 64, H: 4, W: 6, K: 64, R: 3, S: 3, Stride: 1, Pad: 1},
			{N: 2, C: 32, H: 7, W: 7, K: 96, R: 3, S: 3, Stride: 1, Pad: 2},
		} {
			if kn == w4KernelsAVX512Wide {
				continue // gemmConv runs on w4Active's kernels
			}
			if !useGemmConv(s, kn) {
				t.Fatalf("%v cannot run %+v", kn.isa, s)
			}
			g := newGemmConv(s, kn)
			x, w, b, dy := convData(r, s)
			y := make([]float32, len(dy))
			what := fmt.Sprintf("%v %+v", kn.isa, s)
			for range 2 { // stale scratch would show the second time
				g.forward(y, x, w, b, false, 0)
				within(t, what+" forward", y, directConv(s, x, w, b), directConv(s, abs32(x), abs32(w), abs32(b)), 1e-5)
			}
			g.forward(y, x, w, b, true, 0.1)
			want := directConv(s, x, w, b)
			LeakyReLU(want, want, 0.1)
			within(t, what+" forward leaky", y, want, directConv(s, abs32(x), abs32(w), abs32(b)), 1e-5)
			dx := make([]float32, len(x))
			g.backwardData(dx, dy, w)
			within(t, what+" dx", dx, refConvBackwardData(s, dy, w), refConvBackwardData(s, abs32(dy), abs32(w)), 1e-5)
			dw, db := make([]float32, len(w)), make([]float32, s.K)
			g.backwardFilter(dw, db, dy, x)
			wdw, wdb := refConvBackwardFilter(s, dy, x)
			sdw, sdb := refConvBackwardFilter(s, abs32(dy), abs32(x))
			within(t, what+" dw", dw, wdw, sdw, 1e-5)
			within(t, what+" db", db, wdb, sdb, 1e-5)
		}
	}
}

// And their results do not depend on the number of threads.
func TestGemmConvDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	r := rand.New(rand.NewPCG(71, 72))
	kn := w4Active()
	if kn == nil {
		t.Skip("no assembly kernels")
	}
	s := ConvShape{N: 7, C: 64, H: 5, W: 5, K: 64, R: 3, S: 3, Stride: 1}
	x, w, b, dy := convData(r, s)
	var first [][]float32
	for _, procs := range []int{1, 2, 3, 8} {
		runtime.GOMAXPROCS(procs)
		g := newGemmConv(s, kn)
		y, dx, dw, db := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w)), make([]float32, s.K)
		g.forward(y, x, w, b, true, 0)
		g.backwardData(dx, dy, w)
		g.backwardFilter(dw, db, dy, x)
		got := [][]float32{y, dx, dw, db}
		if first == nil {
			first = got
			continue
		}
		sameBits(t, fmt.Sprintf("GOMAXPROCS=%d", procs), got, first)
	}
}

// sameBits fails the test unless got and want are equal bit for bit.
func sameBits(t *testing.T, what string, got, want [][]float32) {
	t.Helper()
	for i := range got {
		for j := range got[i] {
			if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
				t.Fatalf("%s: output %d differs at %d: %v vs %v", what, i, j, got[i][j], want[i][j])
			}
		}
	}
}
