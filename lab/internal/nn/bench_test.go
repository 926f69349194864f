package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Layer shapes of CNNModel at batch 32.
var cnnConvs = []ConvShape{
	{N: 32, C: 3, H: 32, W: 32, K: 32, R: 3, S: 3, Stride: 1},
	{N: 32, C: 32, H: 30, W: 30, K: 32, R: 3, S: 3, Stride: 1},
	{N: 32, C: 32, H: 14, W: 14, K: 64, R: 3, S: 3, Stride: 1},
	{N: 32, C: 64, H: 12, W: 12, K: 64, R: 3, S: 3, Stride: 1},
}

func BenchmarkConvLayers(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for i, s := range cnnConvs {
		c, _ := NewConv(s)
		x, w, bias, dy := convData(r, s)
		y, dx, dw, db := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w)), make([]float32, s.K)
		flop := 2 * float64(s.N*s.K*s.OutH()*s.OutW()*s.C*s.R*s.S)
		report := func(b *testing.B) {
			b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		b.Run(fmt.Sprintf("conv%d/forward", i+1), func(b *testing.B) {
			for range b.N {
				c.ForwardLeakyReLU(y, x, w, bias, 0)
			}
			report(b)
		})
		b.Run(fmt.Sprintf("conv%d/data", i+1), func(b *testing.B) {
			for range b.N {
				c.BackwardData(dx, dy, w)
			}
			report(b)
		})
		b.Run(fmt.Sprintf("conv%d/filter", i+1), func(b *testing.B) {
			for range b.N {
				c.BackwardFilter(dw, db, dy, x)
			}
			report(b)
		})
	}
}
