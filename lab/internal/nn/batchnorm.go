package nn

import "math"

// BatchNorm is 2-D batch normalization over N×C×HW inputs, with PyTorch's
// semantics: training normalizes with the batch's statistics (biased
// variance) and moves the running statistics towards them (unbiased
// variance); evaluation normalizes with the running statistics.
type BatchNorm struct {
	N, C, HW int
	Eps      float32 // added to the variance; PyTorch's default is 1e-5
	Momentum float32 // weight of the new batch in the running statistics; default 0.1

	mean, invstd []float32 // the last training batch's, kept for Backward
}

// ForwardTrain normalizes x with its own per-channel statistics into y and
// updates runMean and runVar in place.
func (b *BatchNorm) ForwardTrain(y, x, gamma, beta, runMean, runVar []float32) {
	b.mean = grow(b.mean, b.C)
	b.invstd = grow(b.invstd, b.C)
	m := float64(b.N * b.HW)
	parallel(b.C, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			b.trainChannel(y, x, gamma, beta, runMean, runVar, c, m)
		}
	})
}

func (b *BatchNorm) trainChannel(y, x, gamma, beta, runMean, runVar []float32, c int, m float64) {
	var sum float64
	for n := range b.N {
		for _, v := range x[(n*b.C+c)*b.HW : (n*b.C+c+1)*b.HW] {
			sum += float64(v)
		}
	}
	mean := sum / m
	var ss float64
	for n := range b.N {
		for _, v := range x[(n*b.C+c)*b.HW : (n*b.C+c+1)*b.HW] {
			d := float64(v) - mean
			ss += d * d
		}
	}
	variance := ss / m
	invstd := 1 / math.Sqrt(variance+float64(b.Eps))
	b.mean[c], b.invstd[c] = float32(mean), float32(invstd)
	unbiased := variance
	if m > 1 {
		unbiased = ss / (m - 1)
	}
	mom := float64(b.Momentum)
	runMean[c] = float32((1-mom)*float64(runMean[c]) + mom*mean)
	runVar[c] = float32((1-mom)*float64(runVar[c]) + mom*unbiased)
	b.affine(y, x, c, float32(mean), float32(invstd), gamma[c], beta[c])
}

// ForwardEval normalizes x with the running statistics into y.
func (b *BatchNorm) ForwardEval(y, x, gamma, beta, runMean, runVar []float32) {
	parallel(b.C, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			invstd := float32(1 / math.Sqrt(float64(runVar[c])+float64(b.Eps)))
			b.affine(y, x, c, runMean[c], invstd, gamma[c], beta[c])
		}
	})
}

func (b *BatchNorm) affine(y, x []float32, c int, mean, invstd, gamma, beta float32) {
	scale := invstd * gamma
	shift := beta - mean*scale
	for n := range b.N {
		lo, hi := (n*b.C+c)*b.HW, (n*b.C+c+1)*b.HW
		ys := y[lo:hi]
		for i, v := range x[lo:hi] {
			ys[i] = v*scale + shift
		}
	}
}

// Backward computes dx, dgamma and dbeta from dy for the last ForwardTrain.
func (b *BatchNorm) Backward(dx, dgamma, dbeta, dy, x, gamma []float32) {
	m := float64(b.N * b.HW)
	parallel(b.C, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			b.backwardChannel(dx, dgamma, dbeta, dy, x, gamma, c, m)
		}
	})
}

func (b *BatchNorm) backwardChannel(dx, dgamma, dbeta, dy, x, gamma []float32, c int, m float64) {
	mean, invstd := b.mean[c], b.invstd[c]
	var sdy, sdyx float64
	for n := range b.N {
		lo, hi := (n*b.C+c)*b.HW, (n*b.C+c+1)*b.HW
		xs := x[lo:hi]
		for i, g := range dy[lo:hi] {
			sdy += float64(g)
			sdyx += float64(g) * float64((xs[i]-mean)*invstd)
		}
	}
	dgamma[c], dbeta[c] = float32(sdyx), float32(sdy)
	if dx == nil {
		return
	}
	k := gamma[c] * invstd
	a, bb := float32(sdy/m), float32(sdyx/m)
	for n := range b.N {
		lo, hi := (n*b.C+c)*b.HW, (n*b.C+c+1)*b.HW
		xs, gs, ds := x[lo:hi], dy[lo:hi], dx[lo:hi]
		for i, g := range gs {
			xhat := (xs[i] - mean) * invstd
			ds[i] = k * (g - a - xhat*bb)
		}
	}
}
