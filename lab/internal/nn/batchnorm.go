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
	b.forwardTrain(y, x, gamma, beta, runMean, runVar, false, 0)
}

// ForwardTrainLeakyReLU is ForwardTrain followed by LeakyReLU(slope)
// (slope 0: ReLU), in one pass over each channel: the layers' fused op.
// Its gradient is BackwardLeakyReLU.
func (b *BatchNorm) ForwardTrainLeakyReLU(y, x, gamma, beta, runMean, runVar []float32, slope float32) {
	b.forwardTrain(y, x, gamma, beta, runMean, runVar, true, slope)
}

func (b *BatchNorm) forwardTrain(y, x, gamma, beta, runMean, runVar []float32, act bool, slope float32) {
	b.mean = grow(b.mean, b.C)
	b.invstd = grow(b.invstd, b.C)
	m := float64(b.N * b.HW)
	parallel(b.C, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			b.trainChannel(y, x, gamma, beta, runMean, runVar, c, m)
			if act {
				b.activate(y, c, slope)
			}
		}
	})
}

// activate applies LeakyReLU(slope) to channel c of y in place.
func (b *BatchNorm) activate(y []float32, c int, slope float32) {
	for n := range b.N {
		ys := y[(n*b.C+c)*b.HW : (n*b.C+c+1)*b.HW]
		addLeaky(ys, ys, 0, slope)
	}
}

func (b *BatchNorm) trainChannel(y, x, gamma, beta, runMean, runVar []float32, c int, m float64) {
	var sum float64
	for n := range b.N {
		sum += sum64(x[(n*b.C+c)*b.HW : (n*b.C+c+1)*b.HW])
	}
	mean := sum / m
	var ss float64
	for n := range b.N {
		ss += sqdev64(x[(n*b.C+c)*b.HW:(n*b.C+c+1)*b.HW], mean)
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
	b.forwardEval(y, x, gamma, beta, runMean, runVar, false, 0)
}

// ForwardEvalLeakyReLU is ForwardEval followed by LeakyReLU(slope).
func (b *BatchNorm) ForwardEvalLeakyReLU(y, x, gamma, beta, runMean, runVar []float32, slope float32) {
	b.forwardEval(y, x, gamma, beta, runMean, runVar, true, slope)
}

func (b *BatchNorm) forwardEval(y, x, gamma, beta, runMean, runVar []float32, act bool, slope float32) {
	parallel(b.C, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			invstd := float32(1 / math.Sqrt(float64(runVar[c])+float64(b.Eps)))
			b.affine(y, x, c, runMean[c], invstd, gamma[c], beta[c])
			if act {
				b.activate(y, c, slope)
			}
		}
	})
}

func (b *BatchNorm) affine(y, x []float32, c int, mean, invstd, gamma, beta float32) {
	scale := invstd * gamma
	shift := beta - mean*scale
	for n := range b.N {
		lo, hi := (n*b.C+c)*b.HW, (n*b.C+c+1)*b.HW
		ys, xs := y[lo:hi], x[lo:hi]
		if k := len(xs) &^ 7; hasAVX2 && k > 0 {
			scaleShiftAVX2(&ys[0], &xs[0], k, scale, shift)
			ys, xs = ys[k:], xs[k:]
		}
		for i, v := range xs {
			ys[i] = float32(v*scale) + shift
		}
	}
}

// sum64 is Σ x in float64.
func sum64(x []float32) float64 {
	var s float64
	if k := len(x) &^ 7; hasAVX2 && k > 0 {
		s = sum64AVX2(&x[0], k)
		x = x[k:]
	}
	for _, v := range x {
		s += float64(v)
	}
	return s
}

// sqdev64 is Σ (x − mean)² in float64.
func sqdev64(x []float32, mean float64) float64 {
	var s float64
	if k := len(x) &^ 7; hasAVX2 && k > 0 {
		s = sqdev64AVX2(&x[0], k, mean)
		x = x[k:]
	}
	for _, v := range x {
		d := float64(v) - mean
		s += d * d
	}
	return s
}

// sum32 is Σ x in float32, in 8 lanes where there is AVX2.
func sum32(x []float32) float32 {
	var s float32
	if k := len(x) &^ 7; hasAVX2 && k > 0 {
		s = sum32AVX2(&x[0], k)
		x = x[k:]
	}
	for _, v := range x {
		s += v
	}
	return s
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

// BackwardLeakyReLU computes dx, dgamma and dbeta for the last
// ForwardTrainLeakyReLU, whose output was y, from dy, the gradient with
// respect to y: the activation's gradient goes into dx first, and the
// normalization's gradient is computed from there in place.
func (b *BatchNorm) BackwardLeakyReLU(dx, dgamma, dbeta, dy, y, x, gamma []float32, slope float32) {
	m := float64(b.N * b.HW)
	parallel(b.C, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			for n := range b.N {
				lo, hi := (n*b.C+c)*b.HW, (n*b.C+c+1)*b.HW
				leakyGrad(dx[lo:hi], dy[lo:hi], y[lo:hi], slope)
			}
			b.backwardChannel(dx, dgamma, dbeta, dx, x, gamma, c, m)
		}
	})
}

func (b *BatchNorm) backwardChannel(dx, dgamma, dbeta, dy, x, gamma []float32, c int, m float64) {
	mean, invstd := b.mean[c], b.invstd[c]
	var sdy, sdyx float64
	for n := range b.N {
		lo, hi := (n*b.C+c)*b.HW, (n*b.C+c+1)*b.HW
		xs, gs := x[lo:hi], dy[lo:hi]
		if k := len(xs) &^ 7; hasAVX2 && k > 0 {
			a, b := bnBackSumsAVX2(&gs[0], &xs[0], k, mean, invstd)
			sdy, sdyx = sdy+a, sdyx+b
			xs, gs = xs[k:], gs[k:]
		}
		for i, g := range gs {
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
		if n := len(xs) &^ 7; hasAVX2 && n > 0 {
			bnBackDxAVX2(&ds[0], &gs[0], &xs[0], n, mean, invstd, k, a, bb)
			xs, gs, ds = xs[n:], gs[n:], ds[n:]
		}
		for i, g := range gs {
			xhat := (xs[i] - mean) * invstd
			ds[i] = k * ((g - a) - float32(xhat*bb))
		}
	}
}
