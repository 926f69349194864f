package nn

import (
	"math/rand/v2"
	"testing"
)

// The distinct convolutions of CNNModel, DropoutCNN and ImprovedCNN at
// batch 32.
var modelConvs = []struct {
	name string
	s    ConvShape
}{
	{"c1_3x32x32_k32", ConvShape{N: 32, C: 3, H: 32, W: 32, K: 32, R: 3, S: 3, Stride: 1}},
	{"c2_32x30x30_k32", ConvShape{N: 32, C: 32, H: 30, W: 30, K: 32, R: 3, S: 3, Stride: 1}},
	{"cnn3_32x14x14_k64", ConvShape{N: 32, C: 32, H: 14, W: 14, K: 64, R: 3, S: 3, Stride: 1}},
	{"cnn4_64x12x12_k64", ConvShape{N: 32, C: 64, H: 12, W: 12, K: 64, R: 3, S: 3, Stride: 1}},
	{"drop3_32x28x28_k64", ConvShape{N: 32, C: 32, H: 28, W: 28, K: 64, R: 3, S: 3, Stride: 1}},
	{"drop4_64x26x26_k128", ConvShape{N: 32, C: 64, H: 26, W: 26, K: 128, R: 3, S: 3, Stride: 1}},
	{"drop5_128x12x12_k256", ConvShape{N: 32, C: 128, H: 12, W: 12, K: 256, R: 3, S: 3, Stride: 1}},
	{"drop6_256x5x5_k512", ConvShape{N: 32, C: 256, H: 5, W: 5, K: 512, R: 3, S: 3, Stride: 1}},
	{"imp2_32x30x30_k64", ConvShape{N: 32, C: 32, H: 30, W: 30, K: 64, R: 3, S: 3, Stride: 1}},
	{"imp3_64x14x14_k256", ConvShape{N: 32, C: 64, H: 14, W: 14, K: 256, R: 3, S: 3, Stride: 1}},
	{"imp4_256x12x12_k128", ConvShape{N: 32, C: 256, H: 12, W: 12, K: 128, R: 3, S: 3, Stride: 1}},
}

// BenchmarkConvLayers times forward (with ReLU), input gradient and filter
// gradient of each layer, and the two gradients by Backward; GFLOP/s
// counts the direct convolution's work.
func BenchmarkConvLayers(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, l := range modelConvs {
		s := l.s
		c, _ := NewConv(s)
		x, w, bias, dy := convData(r, s)
		y, dx, dw, db := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w)), make([]float32, s.K)
		flop := 2 * float64(s.N*s.K*s.OutH()*s.OutW()*s.C*s.R*s.S)
		report := func(b *testing.B) {
			b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		b.Run(l.name+"/forward", func(b *testing.B) {
			for range b.N {
				c.ForwardLeakyReLU(y, x, w, bias, 0)
			}
			report(b)
		})
		b.Run(l.name+"/data", func(b *testing.B) {
			for range b.N {
				c.BackwardData(dx, dy, w)
			}
			report(b)
		})
		b.Run(l.name+"/filter", func(b *testing.B) {
			for range b.N {
				c.BackwardFilter(dw, db, dy, x)
			}
			report(b)
		})
		b.Run(l.name+"/backward", func(b *testing.B) { // both gradients, in one pass where Backward can
			for range b.N {
				c.Backward(dx, dw, db, dy, x, w)
			}
			b.ReportMetric(2*flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkConvPaths times each layer's passes under each path choice, to
// tune maxWideWaste, groupCols and backConvMaxRatio.
func BenchmarkConvPaths(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	cfgs := []struct {
		name              string
		wide, group, back float64
	}{
		{"wide_g1_back", 100, 1, 100},
		{"wide_g512_back", 100, 512, 100},
		{"wide_g512_col2im", 100, 512, 0},
		{"plain_g512_col2im", 1, 512, 0},
		{"wide_g2048_col2im", 100, 2048, 0},
	}
	for _, l := range modelConvs {
		s := l.s
		x, w, bias, dy := convData(r, s)
		y, dx, dw, db := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w)), make([]float32, s.K)
		for _, cfg := range cfgs {
			withConfig(cfg.wide, cfg.group, cfg.back, func() {
				c, _ := NewConv(s)
				b.Run(l.name+"/forward/"+cfg.name, func(b *testing.B) {
					timeCPU(b, func() { c.ForwardLeakyReLU(y, x, w, bias, 0) })
				})
				b.Run(l.name+"/data/"+cfg.name, func(b *testing.B) {
					timeCPU(b, func() { c.BackwardData(dx, dy, w) })
				})
				b.Run(l.name+"/filter/"+cfg.name, func(b *testing.B) {
					timeCPU(b, func() { c.BackwardFilter(dw, db, dy, x) })
				})
			})
		}
	}
}

// BenchmarkWinograd compares each layer's passes with im2col+sgemm only
// ("gemm"), Winograd F(2×2, 3×3) where useWinograd allows it ("f2") and
// F(4×4, 3×3) where useWino4 does ("f4"), in CPU time.
func BenchmarkWinograd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	defer func(on, on4 bool) { winogradOn, wino4On = on, on4 }(winogradOn, wino4On)
	for _, l := range modelConvs {
		s := l.s
		x, w, bias, dy := convData(r, s)
		y, dx, dw, db := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w)), make([]float32, s.K)
		for _, v := range []struct {
			name    string
			on, on4 bool
		}{{"gemm", false, false}, {"f2", true, false}, {"f4", true, true}} {
			winogradOn, wino4On = v.on, v.on4
			c, _ := NewConv(s)
			c.BackwardData(dx, dy, w) // make the back convolution under this setting
			name := l.name + "/" + v.name
			b.Run(name+"/forward", func(b *testing.B) {
				timeCPU(b, func() { c.ForwardLeakyReLU(y, x, w, bias, 0) })
			})
			b.Run(name+"/data", func(b *testing.B) {
				timeCPU(b, func() { c.BackwardData(dx, dy, w) })
			})
			b.Run(name+"/filter", func(b *testing.B) {
				timeCPU(b, func() { c.BackwardFilter(dw, db, dy, x) })
			})
		}
	}
}

// BenchmarkWino4ByXi times the models' big-filter layers' forward pass and
// both gradients (Conv.Backward) by blocks and by ξ.
func BenchmarkWino4ByXi(b *testing.B) {
	defer func(on bool) { wino4ByXi = on }(wino4ByXi)
	r := rand.New(rand.NewPCG(1, 1))
	for _, l := range modelConvs {
		s := l.s
		if 36*s.C*s.K <= wino4UCache || !useWino4(s, w4For(s)) {
			continue
		}
		x, w, bias, dy := convData(r, s)
		y, dx, dw, db := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w)), make([]float32, s.K)
		for _, on := range []bool{false, true} {
			wino4ByXi = on
			c, _ := NewConv(s)
			name := l.name + map[bool]string{false: "/blocks", true: "/xi"}[on]
			b.Run(name+"/forward", func(b *testing.B) {
				wino4ByXi = on
				timeCPU(b, func() { c.ForwardLeakyReLU(y, x, w, bias, 0) })
			})
			b.Run(name+"/backward", func(b *testing.B) {
				wino4ByXi = on
				timeCPU(b, func() { c.Backward(dx, dw, db, dy, x, w) })
			})
		}
	}
}
