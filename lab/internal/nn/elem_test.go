package nn

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestElementwiseKernels checks the element-wise kernels (AVX2 where
// available) against the definitions, on lengths around the 8-wide
// blocks and on NaN, ±Inf and ±0.
func TestElementwiseKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), -float32(math.NaN())}
	same := func(a, b float32) bool {
		return a == b || (a != a && b != b)
	}
	for n := range 41 {
		x, y, dy := randSlice(r, n), randSlice(r, n), randSlice(r, n)
		for i := range x {
			if r.IntN(4) == 0 {
				x[i] = special[r.IntN(len(special))]
			}
			if r.IntN(4) == 0 {
				y[i] = special[r.IntN(len(special))]
			}
		}
		for _, slope := range []float32{0, 0.01, 0.5, 1, 2, -0.1} {
			for _, b := range []float32{0, 0.25} {
				out := make([]float32, n)
				addLeaky(out, x, b, slope)
				for i, v := range x {
					v += b
					want := v
					if v < 0 {
						want = v * slope
					}
					if slope == 0 && v <= 0 {
						want = 0
					}
					if !same(out[i], want) {
						t.Fatalf("addLeaky n=%d slope=%v b=%v: [%d] = %v for %v, want %v", n, slope, b, i, out[i], x[i], want)
					}
				}
				addBias(out, x, b)
				for i, v := range x {
					if !same(out[i], v+b) {
						t.Fatalf("addBias n=%d: [%d] = %v, want %v", n, i, out[i], v+b)
					}
				}
			}
			dx := make([]float32, n)
			leakyGrad(dx, dy, y, slope)
			for i, v := range y {
				want := dy[i] * slope
				if v > 0 {
					want = dy[i]
				}
				if !same(dx[i], want) {
					t.Fatalf("leakyGrad n=%d slope=%v: [%d] = %v for y=%v, want %v", n, slope, i, dx[i], v, want)
				}
			}
		}
		dst := append([]float32(nil), y...)
		add(dst, x)
		for i := range dst {
			if !same(dst[i], y[i]+x[i]) {
				t.Fatalf("add n=%d: [%d] = %v, want %v", n, i, dst[i], y[i]+x[i])
			}
		}
	}
}

func TestSGDMomentum(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, n := range []int{0, 1, 7, 8, 9, 100, 40000} {
		for _, zero := range []bool{false, true} {
			w, v, g := randSlice(r, n), randSlice(r, n), randSlice(r, n)
			ww, wv, wg := append([]float32(nil), w...), append([]float32(nil), v...), append([]float32(nil), g...)
			for i := range ww {
				wv[i] = 0.9*wv[i] + wg[i]
				ww[i] -= 0.001 * wv[i]
				if zero {
					wg[i] = 0
				}
			}
			SGDMomentum(w, v, g, 0.001, 0.9, zero)
			for i := range w {
				if math.Float32bits(w[i]) != math.Float32bits(ww[i]) || math.Float32bits(v[i]) != math.Float32bits(wv[i]) || math.Float32bits(g[i]) != math.Float32bits(wg[i]) {
					t.Fatalf("n=%d zero=%v: element %d: w,v,g = %v,%v,%v, want %v,%v,%v", n, zero, i, w[i], v[i], g[i], ww[i], wv[i], wg[i])
				}
			}
		}
	}
}

// TestPoolAVX2Runs checks that the AVX2 pooling kernel does the work when
// it can (it may hand groups with NaN or Inf to Go, which would hide a
// kernel that never runs) and agrees with the Go loop.
func TestPoolAVX2Runs(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2 here")
	}
	r := rand.New(rand.NewPCG(35, 36))
	const w, ow = 37, 18
	in := randSlice(r, 2*w)
	for i := range in {
		if r.IntN(3) == 0 {
			in[i] = 0 // ties
		}
	}
	out, am := make([]float32, ow), make([]int32, ow)
	n := pool2x2AVX2(&out[0], &am[0], &in[0], &in[w], ow, 100, w)
	if n != 16 {
		t.Fatalf("kernel did %d of %d outputs, want 16", n, ow)
	}
	wantOut, wantAm := make([]float32, ow), make([]int32, ow)
	func() {
		defer func(h bool) { hasAVX2 = h }(hasAVX2)
		hasAVX2 = false
		pool2x2(wantOut, wantAm, in, 1, ow, w)
	}()
	for j := range n {
		if out[j] != wantOut[j] || am[j] != wantAm[j]+100 {
			t.Fatalf("output %d: %v at %d, want %v at %d", j, out[j], am[j], wantOut[j], wantAm[j]+100)
		}
	}
	in[5] = float32(math.Inf(1))
	if n := pool2x2AVX2(&out[0], &am[0], &in[0], &in[w], ow, 0, w); n != 0 {
		t.Fatalf("kernel took a group with +Inf: did %d", n)
	}
}

// TestPool2x2Shapes checks the vector pooling against the Go loop on
// every row length, the packed small planes and the overlapping last
// groups among them, with ties, and with a NaN or an infinity somewhere,
// which sends the work back to Go: same maxima, same offsets.
func TestPool2x2Shapes(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2 here")
	}
	r := rand.New(rand.NewPCG(37, 38))
	for oh := 1; oh <= 9; oh++ {
		for ow := 1; ow <= 20; ow++ {
			for odd := range 2 { // an unused last column and row
				h, w := 2*oh+odd, 2*ow+odd
				for _, special := range []float32{0, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
					in := randSlice(r, h*w)
					for i := range in {
						if r.IntN(3) == 0 {
							in[i] = 0 // ties
						}
					}
					if special != 0 {
						in[r.IntN(len(in))] = special
					}
					out, am := make([]float32, oh*ow), make([]int32, oh*ow)
					pool2x2(out, am, in, oh, ow, w)
					wantOut, wantAm := make([]float32, oh*ow), make([]int32, oh*ow)
					func() {
						defer func(h bool) { hasAVX2 = h }(hasAVX2)
						hasAVX2 = false
						pool2x2(wantOut, wantAm, in, oh, ow, w)
					}()
					for j := range out {
						same := out[j] == wantOut[j] || out[j] != out[j] && wantOut[j] != wantOut[j]
						if !same || am[j] != wantAm[j] {
							t.Fatalf("%d×%d from %d×%d, special %v: output %d is %v at %d, want %v at %d",
								oh, ow, h, w, special, j, out[j], am[j], wantOut[j], wantAm[j])
						}
					}
				}
			}
		}
	}
}

// The seeded masks drop the right share, scale the rest, and do not
// depend on the number of threads.
func TestDropoutMaskSeeded(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, p := range []float32{0.05, 0.5, 0.8} {
		var first []float32
		for _, procs := range []int{1, 2, 5} {
			runtime.GOMAXPROCS(procs)
			mask := make([]float32, 100001)
			DropoutMaskSeeded(mask, p, 12345)
			if first == nil {
				first = mask
				dropped := 0
				for _, v := range mask {
					switch v {
					case 0:
						dropped++
					case 1 / (1 - p):
					default:
						t.Fatalf("p %v: mask value %v", p, v)
					}
				}
				// Binomial: within 5 standard deviations.
				n := float64(len(mask))
				sd := math.Sqrt(n * float64(p) * (1 - float64(p)))
				if d := float64(dropped) - n*float64(p); math.Abs(d) > 5*sd {
					t.Errorf("p %v: dropped %d of %d", p, dropped, len(mask))
				}
				continue
			}
			for i := range mask {
				if mask[i] != first[i] {
					t.Fatalf("p %v GOMAXPROCS=%d: mask differs at %d", p, procs, i)
				}
			}
		}
		other := make([]float32, 100001)
		DropoutMaskSeeded(other, p, 12346)
		same := 0
		for i := range other {
			if other[i] == first[i] {
				same++
			}
		}
		if same == len(other) {
			t.Errorf("p %v: another seed gives the same mask", p)
		}
	}
}
