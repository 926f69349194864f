package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestWinogradForwardMatchesDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, s := range []ConvShape{
		{N: 1, C: 3, H: 8, W: 8, K: 4, R: 3, S: 3, Stride: 1},
		{N: 5, C: 7, H: 9, W: 11, K: 13, R: 3, S: 3, Stride: 1},
		{N: 8, C: 4, H: 7, W: 6, K: 3, R: 3, S: 3, Stride: 1, Pad: 1},
		{N: 3, C: 32, H: 30, W: 30, K: 32, R: 3, S: 3, Stride: 1},
		{N: 32, C: 9, H: 5, W: 5, K: 10, R: 3, S: 3, Stride: 1, Pad: 2},
		{N: 2, C: 5, H: 37, W: 41, K: 6, R: 3, S: 3, Stride: 1, Pad: 1}, // runs for the AVX2 kernels, odd edges
	} {
		x, w, b, _ := convData(r, s)
		wg := newWinograd(s)
		wg.transformFilters(w)
		y := make([]float32, s.N*s.K*s.OutH()*s.OutW())
		wg.forward(y, x, b, false, 0)
		close(t, "winograd forward", y, directConv(s, x, w, b), 1e-4*math.Sqrt(float64(s.C*9)))
		for _, slope := range []float32{0, 0.1, 2} {
			wg.forward(y, x, b, true, slope)
			want := directConv(s, x, w, b)
			LeakyReLU(want, want, slope)
			close(t, fmt.Sprintf("winograd forward leaky %v", slope), y, want, 1e-4*math.Sqrt(float64(s.C*9)))
		}
	}
}

func TestWinogradBackwardFilterMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, s := range []ConvShape{
		{N: 1, C: 3, H: 8, W: 8, K: 4, R: 3, S: 3, Stride: 1},
		{N: 5, C: 7, H: 9, W: 11, K: 13, R: 3, S: 3, Stride: 1},
		{N: 8, C: 4, H: 7, W: 6, K: 3, R: 3, S: 3, Stride: 1, Pad: 1},
		{N: 32, C: 9, H: 5, W: 5, K: 10, R: 3, S: 3, Stride: 1, Pad: 2},
		{N: 3, C: 4, H: 38, W: 40, K: 5, R: 3, S: 3, Stride: 1},
		{N: 2, C: 5, H: 37, W: 41, K: 6, R: 3, S: 3, Stride: 1, Pad: 1},
	} {
		x, w, _, dy := convData(r, s)
		rdw, rdb := refConvBackwardFilter(s, dy, x)
		tol := 1e-4 * math.Sqrt(float64(s.N*s.OutH()*s.OutW()))
		// Default blocks, then blocks of 16 tiles: many blocks and shards.
		for _, mb := range []int{winogradMinBlock, 1} {
			func() {
				defer func(mb, xb int) { winogradMinBlock, winogradMaxBlock = mb, xb }(winogradMinBlock, winogradMaxBlock)
				winogradMinBlock = mb
				if mb == 1 {
					winogradMaxBlock = 1
				}
				wg := newWinograd(s)
				wg.transformFilters(w)
				dw, db := make([]float32, len(w)), make([]float32, s.K)
				wg.backwardFilter(dw, db, dy, x)
				close(t, "winograd dw", dw, rdw, tol)
				close(t, "winograd db", db, rdb, tol)
				y := make([]float32, len(dy))
				wg.forward(y, x, nil, false, 0)
				close(t, "winograd forward", y, directConv(s, x, w, nil), 1e-4*math.Sqrt(float64(s.C*9)))
			}()
		}
	}
}

func TestSIMDAvailableHere(t *testing.T) {
	// Not a requirement, but the speed figures assume it: say so when the
	// AVX2 kernels are off.
	t.Logf("AVX2 kernels: %v", hasAVX2)
}
