package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// linearRef is Linear's forward and backward passes in float64.
func linearRef(l Linear, x, w, b, dy []float32) (y, dx, dw, db []float32) {
	wy, wdx, wdw, wdb := make([]float64, l.N*l.Out), make([]float64, len(x)), make([]float64, len(w)), make([]float64, l.Out)
	for n := range l.N {
		for o := range l.Out {
			s := float64(b[o])
			for i := range l.In {
				s += float64(x[n*l.In+i]) * float64(w[o*l.In+i])
				wdx[n*l.In+i] += float64(dy[n*l.Out+o]) * float64(w[o*l.In+i])
				wdw[o*l.In+i] += float64(dy[n*l.Out+o]) * float64(x[n*l.In+i])
			}
			wy[n*l.Out+o] = s
			wdb[o] += float64(dy[n*l.Out+o])
		}
	}
	return f32s(wy), f32s(wdx), f32s(wdw), f32s(wdb)
}

// linearCheck runs pass (forward and backward of l) on 1, 2 and 5
// threads: the first run must match the float64 reference, the others
// the first bit for bit.
func linearCheck(t *testing.T, name string, l Linear, pass func(y, dx, dw, db, x, w, b, dy []float32)) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	r := rand.New(rand.NewPCG(13, 14))
	x, w, b, dy := randSlice(r, l.N*l.In), randSlice(r, l.Out*l.In), randSlice(r, l.Out), randSlice(r, l.N*l.Out)
	var first [][]float32
	for _, procs := range []int{1, 2, 5} {
		runtime.GOMAXPROCS(procs)
		y, dx, dw, db := make([]float32, l.N*l.Out), make([]float32, len(x)), make([]float32, len(w)), make([]float32, l.Out)
		for i := range dx {
			dx[i] = float32(math.NaN()) // every output must be written
		}
		pass(y, dx, dw, db, x, w, b, dy)
		got := [][]float32{y, dx, dw, db}
		if first == nil {
			first = got
			wy, wdx, wdw, wdb := linearRef(l, x, w, b, dy)
			tol := 1e-4 * math.Sqrt(float64(l.In+l.N+l.Out))
			close(t, name+" y", y, wy, tol)
			close(t, name+" dx", dx, wdx, tol)
			close(t, name+" dw", dw, wdw, tol)
			close(t, name+" db", db, wdb, tol)
			continue
		}
		for i := range got {
			for j := range got[i] {
				if math.Float32bits(got[i][j]) != math.Float32bits(first[i][j]) {
					t.Fatalf("%s %+v GOMAXPROCS=%d: output %d differs at %d", name, l, procs, i, j)
				}
			}
		}
	}
}

func TestLinearBlocksMatchReference(t *testing.T) {
	for _, l := range []Linear{{N: 1, In: 3, Out: 1}, {N: 8, In: 300, Out: 129}, {N: 32, In: 1600, Out: 512}, {N: 5, In: 512, Out: 10}} {
		linearCheck(t, "linear", l, func(y, dx, dw, db, x, w, b, dy []float32) {
			l.Forward(y, x, w, b)
			l.Backward(dx, dw, db, dy, x, w)
		})
	}
}

// Every kernel set on the micro-kernel paths: batches padded to whole
// panels, outputs not in whole groups of rows, reductions shorter than
// panelProduct's shards, and In a multiple of one set's nr but not the
// other's.
func TestLinearKernelsMatchReference(t *testing.T) {
	for _, kn := range w4Sets() {
		for _, l := range []Linear{{N: 32, In: 256, Out: 200}, {N: 20, In: 192, Out: 64}, {N: 3, In: 64, Out: 70}, {N: 64, In: 128, Out: 1000}} {
			if l.In%kn.nr != 0 {
				continue
			}
			np := (l.N + kn.nr - 1) / kn.nr * kn.nr
			linearCheck(t, fmt.Sprintf("%v %d×%d", kn.isa, kn.mr, kn.nr), l, func(y, dx, dw, db, x, w, b, dy []float32) {
				l.forwardKernels(kn, np, y, x, w, b)
				l.backwardKernels(kn, dx, dw, db, dy, x, w)
			})
		}
	}
}

// BenchmarkLinear times ImprovedCNN's linear layers on sgemm and on the
// micro-kernels, with the weights in the cache and out of it (64 MB
// written between runs, as the rest of a training step does).
func BenchmarkLinear(b *testing.B) {
	defer func(on bool) { linearKernelsOn = on }(linearKernelsOn)
	r := rand.New(rand.NewPCG(1, 1))
	sweep := make([]float32, 16<<20)
	for _, l := range []Linear{{N: 32, In: 3200, Out: 1024}, {N: 32, In: 1024, Out: 512}} {
		x, w, bias, dy := randSlice(r, l.N*l.In), randSlice(r, l.Out*l.In), randSlice(r, l.Out), randSlice(r, l.N*l.Out)
		y, dx, dw, db := make([]float32, l.N*l.Out), make([]float32, len(x)), make([]float32, len(w)), make([]float32, l.Out)
		for _, on := range []bool{false, true} {
			linearKernelsOn = on
			path := map[bool]string{false: "sgemm", true: "kernels"}[on]
			for _, cold := range []bool{false, true} {
				name := fmt.Sprintf("%dx%d/%s/%s", l.In, l.Out, path, map[bool]string{false: "hot", true: "cold"}[cold])
				run := func(b *testing.B, f func()) {
					for range b.N {
						if cold {
							b.StopTimer()
							for i := range sweep {
								sweep[i]++
							}
							b.StartTimer()
						}
						f()
					}
				}
				b.Run(name+"/forward", func(b *testing.B) { run(b, func() { l.Forward(y, x, w, bias) }) })
				b.Run(name+"/dx", func(b *testing.B) { run(b, func() { l.Backward(dx, nil, nil, dy, x, w) }) })
				b.Run(name+"/dw", func(b *testing.B) { run(b, func() { l.Backward(nil, dw, db, dy, x, w) }) })
			}
		}
	}
}
