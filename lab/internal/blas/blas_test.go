package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// backends lists every implementation this build can run.
func backends(t testing.TB) map[string]backend {
	bs := map[string]backend{"go": goBackend{}, "gonum": gonumBackend{}}
	if ob, err := loadOpenBLAS(); err == nil {
		bs["openblas"] = ob
	} else {
		t.Logf("OpenBLAS not tested: %v", err)
	}
	return bs
}

// refSgemm is the textbook triple loop in float64.
func refSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for l := 0; l < k; l++ {
				var av, bv float32
				if transA {
					av = a[l*lda+i]
				} else {
					av = a[i*lda+l]
				}
				if transB {
					bv = b[j*ldb+l]
				} else {
					bv = b[l*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			old := float64(c[i*ldc+j])
			if beta == 0 {
				old = 0
			}
			c[i*ldc+j] = float32(float64(alpha)*s + float64(beta)*old)
		}
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

func TestSgemmMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dims := [][3]int{{1, 1, 1}, {1, 7, 3}, {5, 1, 9}, {3, 4, 0}, {17, 33, 65}, {32, 784, 288}, {64, 100, 576}, {8, 13, 300}, {31, 29, 27}, {100, 10, 1}}
	scalars := [][2]float32{{1, 0}, {1, 1}, {0.5, -2}, {0, 3}}
	for name, be := range backends(t) {
		for _, d := range dims {
			m, n, k := d[0], d[1], d[2]
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					for si, ab := range scalars {
						pad := si // exercise strides larger than the row length
						ar, ac := m, k
						if tA {
							ar, ac = k, m
						}
						br, bc := k, n
						if tB {
							br, bc = n, k
						}
						lda, ldb, ldc := max(ac, 1)+pad, max(bc, 1)+pad, n+pad
						a := randSlice(r, max(ar*lda, 1))
						b := randSlice(r, max(br*ldb, 1))
						c := randSlice(r, m*ldc)
						if ab[1] == 0 {
							for i := range c {
								c[i] = float32(math.NaN()) // beta 0 must ignore C
							}
						}
						want := append([]float32(nil), c...)
						refSgemm(tA, tB, m, n, k, ab[0], a, lda, b, ldb, ab[1], want, ldc)
						run(be, tA, tB, m, n, k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
						for i := 0; i < m; i++ {
							for j := 0; j < ldc; j++ {
								got, exp := c[i*ldc+j], want[i*ldc+j]
								if j >= n { // padding is left alone
									if math.Float32bits(got) != math.Float32bits(exp) {
										t.Fatalf("%s %v: padding C[%d,%d] changed", name, d, i, j)
									}
									continue
								}
								tol := 1e-4 * float32(math.Sqrt(float64(k)+1)) * (1 + abs(exp))
								if !(abs(got-exp) <= tol) {
									t.Fatalf("%s m,n,k=%v tA=%v tB=%v alpha,beta=%v: C[%d,%d]=%v want %v", name, d, tA, tB, ab, i, j, got, exp)
								}
							}
						}
					}
				}
			}
		}
	}
}

func abs(x float32) float32 { return float32(math.Abs(float64(x))) }

func TestSgemmPanicsOnBadArguments(t *testing.T) {
	cases := []struct {
		name string
		f    func()
		want string
	}{
		{"negative", func() { Sgemm(false, false, -1, 1, 1, 1, nil, 1, nil, 1, 0, nil, 1) }, "negative dimension"},
		{"stride", func() {
			Sgemm(false, false, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}, "stride too small"},
		{"shortA", func() {
			Sgemm(false, false, 2, 2, 3, 1, make([]float32, 5), 3, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}, "A has 5 elements, need 6"},
		{"shortC", func() {
			Sgemm(true, true, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 3, 0, make([]float32, 3), 2)
		}, "C has 3 elements, need 4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), c.want) {
					t.Fatalf("panic %v, want one containing %q", r, c.want)
				}
			}()
			c.f()
		})
	}
}

func TestImplNamesBackend(t *testing.T) {
	s := Impl()
	if IsOpenBLAS() != strings.HasPrefix(s, "openblas") {
		t.Fatalf("Impl() = %q but IsOpenBLAS() = %v", s, IsOpenBLAS())
	}
	if !IsOpenBLAS() && !strings.Contains(s, "(") {
		t.Fatalf("pure Go Impl() %q does not say why", s)
	}
	t.Log(s)
}

// gemmShapes are the sgemm calls of one CNNModel image: forward (W·col),
// weight gradient (dY·colᵀ) and input gradient (Wᵀ·dY) of conv2..conv4.
var gemmShapes = []struct {
	name    string
	tA, tB  bool
	m, n, k int
}{
	{"conv2_fwd", false, false, 32, 784, 288},
	{"conv2_fwd_wide", false, false, 32, 840, 288},
	{"conv2_dW_wide", false, true, 32, 288, 840},
	{"conv2_dW", false, true, 32, 288, 784},
	{"conv2_dX", true, false, 288, 784, 32},
	{"conv3_fwd", false, false, 64, 144, 288},
	{"conv4_fwd", false, false, 64, 100, 576},
	{"conv4_dX", true, false, 576, 100, 64},
	{"fc_fwd_b32", false, true, 32, 512, 1600},
	{"square256", false, false, 256, 256, 256},
	{"imp2_fwd", false, false, 64, 840, 288},
	{"imp2_backconv", false, false, 32, 960, 576},
	{"imp2_col2im", true, false, 288, 784, 64},
	{"imp2_col2im_g2", true, false, 288, 1568, 64},
	{"wino_drop4_fwd_132", false, false, 128, 132, 64},
	{"wino_drop4_fwd_264", false, false, 128, 264, 64},
	{"wino_drop4_fwd_528", false, false, 128, 528, 64},
	{"wino_drop4_filt_132", false, true, 128, 64, 132},
	{"wino_drop4_filt_528", false, true, 128, 64, 528},
	{"wino_c2_fwd_140", false, false, 32, 140, 32},
	{"wino_c2_fwd_560", false, false, 32, 560, 32},
}

func BenchmarkSgemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for name, be := range backends(b) {
		for _, s := range gemmShapes {
			b.Run(name+"/"+s.name, func(b *testing.B) {
				lda, ldb := s.k, s.n
				if s.tA {
					lda = s.m
				}
				if s.tB {
					ldb = s.k
				}
				a, bb, c := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n), randSlice(r, s.m*s.n)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					run(be, s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
