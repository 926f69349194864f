package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// fastConvShapes cover the fast paths and their edges: batch 1 and the
// tail batch 8, channel counts that are not multiples of 8, stride and
// padding variants, 1×1, a non-square kernel, padding wider than the
// kernel (the col2im path) and the CNNModel layers.
var fastConvShapes = []ConvShape{
	{N: 1, C: 3, H: 10, W: 10, K: 5, R: 3, S: 3, Stride: 1},
	{N: 8, C: 7, H: 9, W: 11, K: 13, R: 3, S: 3, Stride: 1, Pad: 1},
	{N: 5, C: 3, H: 12, W: 12, K: 6, R: 3, S: 3, Stride: 2, Pad: 1},
	{N: 3, C: 6, H: 7, W: 7, K: 9, R: 1, S: 1, Stride: 1},
	{N: 2, C: 4, H: 7, W: 7, K: 3, R: 1, S: 1, Stride: 2},
	{N: 4, C: 5, H: 8, W: 9, K: 3, R: 2, S: 3, Stride: 1},
	{N: 2, C: 2, H: 6, W: 6, K: 3, R: 3, S: 3, Stride: 1, Pad: 3},
	{N: 6, C: 4, H: 9, W: 9, K: 2, R: 5, S: 5, Stride: 1, Pad: 2},
	{N: 3, C: 3, H: 32, W: 32, K: 32, R: 3, S: 3, Stride: 1},
	{N: 2, C: 64, H: 12, W: 12, K: 64, R: 3, S: 3, Stride: 1},
	// Small outputs: images grouped into one sgemm, plain unrolling.
	{N: 32, C: 9, H: 5, W: 5, K: 10, R: 3, S: 3, Stride: 1},
	{N: 13, C: 6, H: 12, W: 12, K: 7, R: 3, S: 3, Stride: 1},
	{N: 7, C: 3, H: 4, W: 6, K: 5, R: 3, S: 3, Stride: 1, Pad: 1},
	{N: 9, C: 4, H: 6, W: 6, K: 3, R: 1, S: 1, Stride: 1},
	// Winograd (see useWinograd), with odd outputs and padding.
	{N: 3, C: 16, H: 19, W: 21, K: 17, R: 3, S: 3, Stride: 1, Pad: 1},
	{N: 2, C: 64, H: 11, W: 9, K: 20, R: 3, S: 3, Stride: 1},
	// The shallow forward pass (see useShallow), with padding, stride
	// and chunks of several images.
	{N: 5, C: 3, H: 13, W: 11, K: 32, R: 3, S: 3, Stride: 1, Pad: 1},
	{N: 9, C: 2, H: 9, W: 9, K: 64, R: 3, S: 3, Stride: 2, Pad: 1},
	// The F(4×4, 3×3) engine's gradients in one pass (Conv.Backward): by
	// blocks, with fewer tiles than the flipped convolution, and by ξ (big
	// filters), with as many.
	{N: 2, C: 32, H: 18, W: 18, K: 64, R: 3, S: 3, Stride: 1},
	{N: 2, C: 128, H: 12, W: 12, K: 128, R: 3, S: 3, Stride: 1},
}

func convData(r *rand.Rand, s ConvShape) (x, w, b, dy []float32) {
	return randSlice(r, s.N*s.C*s.H*s.W), randSlice(r, s.K*s.C*s.R*s.S), randSlice(r, s.K), randSlice(r, s.N*s.K*s.OutH()*s.OutW())
}

// convConfigs force each path of Conv: full width or plain unrolling, one
// image or many per sgemm, the input gradient by convolution or by col2im.
var convConfigs = []struct {
	wide, group, back float64
}{{1.25, 512, 1.3}, {100, 1, 100}, {1, 1e6, 0}, {100, 1e6, 0}, {1, 1, 100}}

// withConfig runs f with the given path choices and Winograd off, the
// default configuration being tested apart (TestConvDefaultPaths).
func withConfig(wide, group, back float64, f func()) {
	w, g, b, k, wo := maxWideWaste, groupCols, backConvMaxRatio, backConvMaxK, winogradOn
	defer func() { maxWideWaste, groupCols, backConvMaxRatio, backConvMaxK, winogradOn = w, g, b, k, wo }()
	maxWideWaste, groupCols, backConvMaxRatio, winogradOn = wide, int(group), back, false
	if back > 10 {
		backConvMaxK = 1 << 30
	}
	f()
}

func TestConvMatchesReference(t *testing.T) {
	wino := 0
	for _, s := range fastConvShapes {
		if useWinograd(s) {
			wino++
		}
	}
	if wino < 3 {
		t.Fatalf("only %d test shapes take the Winograd path", wino)
	}
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range fastConvShapes {
		x, w, b, dy := convData(r, s)
		tol := 1e-4 * math.Sqrt(float64(s.C*s.R*s.S))
		wantY := directConv(s, x, w, b)
		wantAct := directConv(s, x, w, b)
		LeakyReLU(wantAct, wantAct, 0.01)
		wantDx := refConvBackwardData(s, dy, w)
		wantDw, wantDb := refConvBackwardFilter(s, dy, x)
		ftol := 1e-4 * math.Sqrt(float64(s.N*s.OutH()*s.OutW()))
		for ci, cfg := range append(convConfigs, convConfigs[0]) {
			run := withConfig
			if ci == len(convConfigs) { // the defaults, Winograd included
				run = func(_, _, _ float64, f func()) { f() }
			}
			run(cfg.wide, cfg.group, cfg.back, func() {
				c, err := NewConv(s)
				if err != nil {
					t.Fatal(err)
				}
				y := make([]float32, len(dy))
				// Run twice so stale scratch buffers would show.
				for range 2 {
					c.Forward(y, x, w, b)
					close(t, fmt.Sprintf("%+v %v forward", s, cfg), y, wantY, tol)
				}
				c.ForwardLeakyReLU(y, x, w, b, 0.01)
				close(t, "forward leaky", y, wantAct, tol)
				dx := make([]float32, len(x))
				for range 2 {
					c.BackwardData(dx, dy, w)
					close(t, fmt.Sprintf("%+v %v backward data", s, cfg), dx, wantDx, tol*math.Sqrt(float64(s.K)))
				}
				dw, db := make([]float32, len(w)), make([]float32, s.K)
				for range 2 {
					c.BackwardFilter(dw, db, dy, x)
					close(t, fmt.Sprintf("%+v %v backward filter", s, cfg), dw, wantDw, ftol)
					close(t, "backward bias", db, wantDb, ftol)
				}
				c.BackwardFilter(dw, nil, dy, x)
				close(t, "backward filter without bias", dw, wantDw, ftol)
				for range 2 { // both, in one pass where the engine can
					c.Backward(dx, dw, db, dy, x, w)
					close(t, fmt.Sprintf("%+v %v backward, data", s, cfg), dx, wantDx, tol*math.Sqrt(float64(s.K)))
					close(t, fmt.Sprintf("%+v %v backward, filter", s, cfg), dw, wantDw, ftol)
					close(t, "backward, bias", db, wantDb, ftol)
				}
			})
		}
	}
}

// TestConvDeterministic checks that results are bit-identical whatever
// GOMAXPROCS is.
func TestConvDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	r := rand.New(rand.NewPCG(9, 10))
	for _, s := range []ConvShape{
		{N: 11, C: 5, H: 9, W: 9, K: 7, R: 3, S: 3, Stride: 1},
		{N: 11, C: 16, H: 12, W: 12, K: 24, R: 3, S: 3, Stride: 1}, // Winograd
		{N: 32, C: 9, H: 5, W: 5, K: 10, R: 3, S: 3, Stride: 1},    // grouped images
		{N: 11, C: 32, H: 5, W: 5, K: 64, R: 3, S: 3, Stride: 1},   // im2col on the micro-kernels
		{N: 5, C: 32, H: 14, W: 14, K: 64, R: 3, S: 3, Stride: 1},  // F(4×4, 3×3)
		{N: 7, C: 3, H: 16, W: 16, K: 32, R: 3, S: 3, Stride: 1},   // shallow forward
	} {
		x, w, b, dy := convData(r, s)
		var first [][]float32
		for _, procs := range []int{1, 2, 3, 8} {
			runtime.GOMAXPROCS(procs)
			c, _ := NewConv(s)
			y, dx, dw, db := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w)), make([]float32, s.K)
			c.Forward(y, x, w, b)
			c.BackwardData(dx, dy, w)
			c.BackwardFilter(dw, db, dy, x)
			got := [][]float32{y, dx, dw, db}
			if first == nil {
				first = got
				continue
			}
			sameBits(t, fmt.Sprintf("%+v GOMAXPROCS=%d", s, procs), got, first)
		}
	}
}

// refMaxPool is the textbook max pooling with PyTorch's tie and NaN rules,
// and its gradient.
func refMaxPool(n, c, h, w, size, stride int, x, dy []float32) (y, dx []float32) {
	oh, ow := (h-size)/stride+1, (w-size)/stride+1
	y = make([]float32, n*c*oh*ow)
	dx = make([]float32, len(x))
	for pl := range n * c {
		for i := range oh {
			for j := range ow {
				best, at := float32(math.Inf(-1)), -1
				for r := range size {
					for q := range size {
						k := pl*h*w + (i*stride+r)*w + j*stride + q
						if at < 0 || x[k] > best || (x[k] != x[k] && best == best) {
							best, at = x[k], k
						}
					}
				}
				y[pl*oh*ow+i*ow+j] = best
				dx[at] += dy[pl*oh*ow+i*ow+j]
			}
		}
	}
	return y, dx
}

func TestMaxPoolMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, g := range [][6]int{{1, 1, 2, 2, 2, 2}, {2, 3, 28, 28, 2, 2}, {3, 5, 5, 7, 2, 2}, {2, 2, 9, 9, 3, 2}, {1, 4, 6, 6, 3, 3}, {8, 3, 3, 3, 2, 2}, {2, 4, 37, 39, 2, 2}} {
		n, c, h, w, size, stride := g[0], g[1], g[2], g[3], g[4], g[5]
		p, err := NewMaxPool(n, c, h, w, size, stride)
		if err != nil {
			t.Fatal(err)
		}
		x := randSlice(r, n*c*h*w)
		for i := range x { // ReLU output: many ties at zero, and a NaN
			x[i] = max(x[i], 0)
		}
		x[len(x)/2] = float32(math.NaN())
		x[len(x)/3] = float32(math.Inf(1))
		x[len(x)/5] = float32(math.Inf(-1))
		dy := randSlice(r, n*c*p.OutH()*p.OutW())
		wantY, wantDx := refMaxPool(n, c, h, w, size, stride, x, dy)
		y, dx := make([]float32, len(dy)), make([]float32, len(x))
		p.Forward(y, x)
		for i := range y {
			if math.Float32bits(y[i]) != math.Float32bits(wantY[i]) && !(y[i] != y[i] && wantY[i] != wantY[i]) {
				t.Fatalf("%v: y[%d] = %v, want %v", g, i, y[i], wantY[i])
			}
		}
		p.Backward(dx, dy)
		close(t, "pool backward", dx, wantDx, 0)
		// Fused with the ReLU before it: positions routed a zero maximum
		// get no gradient.
		p.BackwardLeakyReLU(dx, dy, y, 0)
		for i := range wantDx {
			if !(x[i] > 0) { // NaN included, as in PyTorch
				wantDx[i] = 0
			}
		}
		close(t, "pool+relu backward", dx, wantDx, 0)
	}
}

// ForwardEval gives Forward's maxima, NaN included.
func TestMaxPoolForwardEval(t *testing.T) {
	r := rand.New(rand.NewPCG(65, 66))
	for _, g := range [][6]int{{2, 3, 28, 28, 2, 2}, {3, 5, 5, 7, 2, 2}, {2, 2, 9, 9, 3, 2}, {4, 2, 10, 10, 2, 2}} {
		n, c, h, w, size, stride := g[0], g[1], g[2], g[3], g[4], g[5]
		p, _ := NewMaxPool(n, c, h, w, size, stride)
		x := randSlice(r, n*c*h*w)
		x[len(x)/2] = float32(math.NaN())
		x[len(x)/3] = float32(math.Inf(-1))
		y, ye := make([]float32, n*c*p.OutH()*p.OutW()), make([]float32, n*c*p.OutH()*p.OutW())
		p.Forward(y, x)
		p.ForwardEval(ye, x)
		for i := range y {
			if !(y[i] == ye[i] || (y[i] != y[i] && ye[i] != ye[i])) {
				t.Fatalf("%v: eval y[%d] = %v, want %v", g, i, ye[i], y[i])
			}
		}
	}
}
