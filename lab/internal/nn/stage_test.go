package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"golab/internal/cpu"
)

// BenchmarkConvStages splits c2's forward into its stages, single-threaded,
// to see what the unrolling costs beside the sgemm.
func BenchmarkConvStages(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	s := ConvShape{N: 32, C: 32, H: 30, W: 30, K: 32, R: 3, S: 3, Stride: 1}
	c, _ := NewConv(s)
	x, w, bias, _ := convData(r, s)
	y := make([]float32, s.N*s.K*s.OutH()*s.OutW())
	c.prepare(1)
	col, yb := c.col[0], c.ybuf[0]
	crs, ld := s.C*9, c.cols
	b.Run("unroll", func(b *testing.B) {
		timeCPU(b, func() {
			for n := range s.N {
				c.unroll(col, x, n, n+1, 0)
			}
		})
	})
	b.Run("sgemm", func(b *testing.B) {
		c.unroll(col, x, 0, 1, 0)
		timeCPU(b, func() {
			for range s.N {
				sgemm(false, false, s.K, ld, crs, 1, w, crs, col, ld, 0, yb, ld)
			}
		})
	})
	b.Run("unroll+sgemm", func(b *testing.B) {
		timeCPU(b, func() {
			for n := range s.N {
				c.unroll(col, x, n, n+1, 0)
				sgemm(false, false, s.K, ld, crs, 1, w, crs, col, ld, 0, yb, ld)
			}
		})
	})
	b.Run("all", func(b *testing.B) {
		timeCPU(b, func() {
			for n := range s.N {
				c.unroll(col, x, n, n+1, 0)
				sgemm(false, false, s.K, ld, crs, 1, w, crs, col, ld, 0, yb, ld)
				biasAct(y[n*c.outSize():(n+1)*c.outSize()], yb, ld, bias, s.OutH(), s.OutW(), c.ws, true, 0)
			}
		})
	})
}

func BenchmarkBiasAct(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	src := randSlice(r, 32*28*30)
	y := make([]float32, 32*28*28)
	bias := randSlice(r, 32)
	b.Run("wide", func(b *testing.B) {
		timeCPU(b, func() { biasAct(y, src, 28*30, bias, 28, 28, 30, true, 0) })
	})
	b.Run("contig", func(b *testing.B) {
		timeCPU(b, func() { biasAct(y, src, 28*28, bias, 28, 28, 28, true, 0) })
	})
	b.Run("contig_noact", func(b *testing.B) {
		timeCPU(b, func() { biasAct(y, src, 28*28, bias, 28, 28, 28, false, 0) })
	})
}

// BenchmarkWinogradTransforms times the transforms of one block alone.
func BenchmarkWinogradTransforms(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	s := ConvShape{N: 32, C: 64, H: 26, W: 26, K: 128, R: 3, S: 3, Stride: 1}
	x, _, bias, dy := convData(r, s)
	y := make([]float32, len(dy))
	wg := newWinograd(s)
	ld := wg.block
	vs, ms := xiStride(s.C, ld), xiStride(s.K, ld)
	v, m := make([]float32, 16*vs), make([]float32, 16*ms)
	rows := make([]float32, 4*(2*wg.tw+2))
	total := s.N * wg.tiles()
	b.Run("input", func(b *testing.B) {
		timeCPU(b, func() {
			for t0 := 0; t0+ld <= total; t0 += ld {
				wg.inputTransform(v, ld, vs, x, &s, wg.runs(nil, t0, t0+ld), rows)
			}
		})
	})
	b.Run("output", func(b *testing.B) {
		timeCPU(b, func() {
			for t0 := 0; t0+ld <= total; t0 += ld {
				wg.outputTransform(y, m, ld, ms, wg.runs(nil, t0, t0+ld), bias, true, 0)
			}
		})
	})
	b.Run("grad", func(b *testing.B) {
		timeCPU(b, func() {
			for t0 := 0; t0+ld <= total; t0 += ld {
				wg.gradTransform(m, ld, ms, dy, wg.runs(nil, t0, t0+ld))
			}
		})
	})
}

// BenchmarkWinogradBlock sweeps the block size of the Winograd layers.
func BenchmarkWinogradBlock(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	defer func(l2, mb, xb int) { winogradL2, winogradMinBlock, winogradMaxBlock = l2, mb, xb }(winogradL2, winogradMinBlock, winogradMaxBlock)
	for _, l := range modelConvs {
		s := l.s
		if !useWinograd(s) {
			continue
		}
		x, w, bias, dy := convData(r, s)
		y, dx, dw, db := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w)), make([]float32, s.K)
		for _, blk := range []int{32, 64, 128, 256, 512} {
			winogradL2, winogradMinBlock, winogradMaxBlock = 0, blk, blk
			c, _ := NewConv(s)
			c.BackwardData(dx, dy, w)
			name := fmt.Sprintf("%s/block=%d", l.name, blk)
			b.Run(name+"/forward", func(b *testing.B) { timeCPU(b, func() { c.ForwardLeakyReLU(y, x, w, bias, 0) }) })
			b.Run(name+"/data", func(b *testing.B) { timeCPU(b, func() { c.BackwardData(dx, dy, w) }) })
			b.Run(name+"/filter", func(b *testing.B) { timeCPU(b, func() { c.BackwardFilter(dw, db, dy, x) }) })
		}
	}
}

func BenchmarkPool2x2(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	in := randSlice(r, 32*28*28)
	for i := range in {
		in[i] = max(in[i], 0)
	}
	out, am := make([]float32, len(in)/4), make([]int32, len(in)/4)
	for _, avx := range []bool{false, true} {
		b.Run(fmt.Sprintf("avx2=%v", avx), func(b *testing.B) {
			defer func(h bool) { hasAVX2 = h }(hasAVX2)
			hasAVX2 = hasAVX2 && avx
			timeCPU(b, func() {
				for p := range 32 {
					pool2x2(out[p*196:(p+1)*196], am[p*196:(p+1)*196], in[p*784:(p+1)*784], 14, 14, 28)
				}
			})
		})
	}
}

// BenchmarkWino4Stages times the stages of the F(4×4, 3×3) engine's
// passes on one layer, single-threaded, over the whole batch: the filter
// transforms, the input strips and transform, the products, the output
// transform and strips, and the gradient strips and transform.
func BenchmarkWino4Stages(b *testing.B) {
	if w4Active() == nil {
		b.Skip("no assembly kernels")
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, name := range []string{"drop4_64x26x26_k128", "drop5_128x12x12_k256", "imp4_256x12x12_k128"} {
		var s ConvShape
		for _, l := range modelConvs {
			if l.name == name {
				s = l.s
			}
		}
		kn := w4For(s)
		x, w, bias, dy := convData(r, s)
		y := make([]float32, len(dy))
		wg := newWino4(s, kn)
		wg.transformFilters(w, false)
		vs, ms := wg.strides()
		bufs := wg.buffers(1)
		v, m, strip, ostrip := bufs.v[0], bufs.m[0], bufs.strip[0], bufs.ostrip[0]
		c, k := s.C, s.K
		per := wg.th * wg.tw
		images := func(f func(n int)) func() {
			return func() {
				for n := range s.N {
					f(n)
				}
			}
		}
		tiles := s.N * per
		flops := 2 * float64(36*tiles*s.C*s.K)
		rs := 4 * wg.tw * k
		b.Run(name+"/filters", func(b *testing.B) { timeCPU(b, func() { wg.transformFilters(w, false) }) })
		b.Run(name+"/filters_flipped", func(b *testing.B) { timeCPU(b, func() { wg.transformFilters(w, true) }) })
		b.Run(name+"/input_strips", func(b *testing.B) { timeCPU(b, images(func(n int) { wg.fillInput(strip, x, n) })) })
		b.Run(name+"/input", func(b *testing.B) {
			timeCPU(b, images(func(n int) { wg.inputImage(v[(n%wg.imgs)*per*c:], vs, strip) }))
		})
		b.Run(name+"/products", func(b *testing.B) {
			timeCPU(b, func() {
				for bl := range wg.blocks() {
					n0, n1 := wg.blockImages(bl)
					wg.products(m, ms, v, vs, (n1-n0)*per)
				}
			})
			b.ReportMetric(flops*float64(b.N)/1e9/(b.Elapsed().Seconds()), "GFLOP/s")
		})
		b.Run(name+"/output", func(b *testing.B) {
			timeCPU(b, images(func(n int) { wg.outputImage(ostrip, m[(n%wg.imgs)*per*kn.nr:], ms, wg.panelStride(), bias, 1, 0) }))
		})
		b.Run(name+"/output_strips", func(b *testing.B) { timeCPU(b, images(func(n int) { wg.flushOutput(y, ostrip, n) })) })
		b.Run(name+"/grad_strips", func(b *testing.B) { timeCPU(b, images(func(n int) { wg.fillGrad(ostrip, dy, n) })) })
		b.Run(name+"/grad", func(b *testing.B) {
			timeCPU(b, images(func(n int) {
				mn := m[(n%wg.imgs)*per*k:]
				for ti := range wg.th {
					for tj := range wg.tw {
						kn.grad(mn[(ti*wg.tw+tj)*k:], ms, ostrip[(4*ti*4*wg.tw+4*tj)*k:], rs, k)
					}
				}
			}))
		})
	}
}

// BenchmarkW4Gemm times the AVX-512 micro-kernels, 12×32 and 6×64, alone
// on operands in L1 and L2, on the engine's shapes: the products (steps
// C, rows tiles, A by rows) and the filter gradient (steps tiles, rows C,
// A by columns, added to C).
func BenchmarkW4Gemm(b *testing.B) {
	if w4KernelsAVX512 == nil || cpu.Detected < cpu.AVX512 {
		b.Skip("no AVX-512")
	}
	for _, d := range []struct {
		steps, rows int
		filter      bool
	}{{64, 36, false}, {128, 72, false}, {256, 72, false}, {36, 64, true}, {72, 256, true}} {
		for _, kn := range []*w4Kernels{w4KernelsAVX512, w4KernelsAVX512Wide} {
			aRow, aStep := d.steps, 1
			if d.filter {
				aRow, aStep = 1, d.rows+kn.mr
			}
			a := make([]float32, (d.rows+kn.mr)*d.steps+kn.mr)
			bm := make([]float32, d.steps*kn.nr)
			c := make([]float32, d.rows*kn.nr)
			for i := range a {
				a[i] = 1
			}
			name := fmt.Sprintf("steps%d_rows%d_filter%v/%dx%d", d.steps, d.rows, d.filter, kn.mr, kn.nr)
			b.Run(name, func(b *testing.B) {
				for range b.N {
					kn.gemm(d.steps, a, aRow, aStep, bm, kn.nr, c, kn.nr, d.rows, d.filter)
				}
				b.ReportMetric(2*float64(d.steps*d.rows*kn.nr)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkTranspose times the strips' layout changes on one image of
// DropoutCNN's conv4 (64 channels of 26×26 in, 128 of 24×24 out), with
// the 8×8 transposes and with AVX-512's 16-wide ones: filling an input
// strip from NCHW planes, and emptying an output strip into them.
func BenchmarkTranspose(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512")
	}
	const c, w, k, ow = 64, 26, 128, 24
	x, strip := make([]float32, c*w*w), make([]float32, (w+2)*(w+2)*c)
	y, ostrip := make([]float32, k*ow*ow), make([]float32, k*ow*ow)
	for _, v := range []struct {
		name        string
		fill, flush transposer
		g           int
	}{{"8x8", transposeRows, transposeRows, 8}, {"16", transposeRows16, transposeCols16, 16}} {
		b.Run("fill/"+v.name, func(b *testing.B) {
			for range b.N {
				for c0 := 0; c0 < c; c0 += v.g {
					v.fill(strip[c0:], c, c, (w+2)*c, x[c0*w*w:], w*w, 1, w, w, w)
				}
			}
			b.SetBytes(int64(4 * len(x)))
		})
		b.Run("flush/"+v.name, func(b *testing.B) {
			for range b.N {
				for k0 := 0; k0 < k; k0 += v.g {
					v.flush(y[k0*ow*ow:], ow*ow, 1, ow, ostrip[k0:], k, k, ow*k, ow, ow)
				}
			}
			b.SetBytes(int64(4 * len(y)))
		})
	}
}
