package nn

import "math/rand/v2"

// LeakyReLU writes y = x for x > 0 and slope·x otherwise. Slope 0 is ReLU.
// y and x may be the same slice.
func LeakyReLU(y, x []float32, slope float32) {
	y = y[:len(x)]
	parallelElems(len(x), func(lo, hi int) { addLeaky(y[lo:hi], x[lo:hi], 0, slope) })
}

// LeakyReLUBackward writes dx = dy where the activation's output y is
// positive and slope·dy elsewhere. (y > 0 exactly where x > 0, so the output
// serves as well as the input and lets the input buffer be freed.)
func LeakyReLUBackward(dx, dy, y []float32, slope float32) {
	dx, dy = dx[:len(y)], dy[:len(y)]
	parallelElems(len(y), func(lo, hi int) { leakyGrad(dx[lo:hi], dy[lo:hi], y[lo:hi], slope) })
}

// ScaleGroups writes y[i] = x[i]·scale[i/group]. With a dropout mask as the
// scale it is both the forward and the backward of dropout: group 1 for
// Dropout, H·W for Dropout2d (one draw per channel of each image).
func ScaleGroups(y, x, scale []float32, group int) {
	if group == 1 {
		y, scale = y[:len(x)], scale[:len(x)]
		parallelElems(len(x), func(lo, hi int) {
			ys, ss := y[lo:hi], scale[lo:hi]
			for i, v := range x[lo:hi] {
				ys[i] = v * ss[i]
			}
		})
		return
	}
	parallel(len(scale), func(_, lo, hi int) {
		for g := lo; g < hi; g++ {
			s := scale[g]
			xs := x[g*group : (g+1)*group]
			ys := y[g*group : (g+1)*group]
			for i, v := range xs {
				ys[i] = v * s
			}
		}
	})
}

// DropoutMaskSeeded fills mask with 0 (probability p) or 1/(1−p): scaling
// the kept units by 1/(1−p) keeps the expected activation unchanged, so
// nothing is rescaled at test time ("inverted dropout", as in PyTorch).
// It draws from the random streams of seed: the mask is cut into
// fixed chunks, each drawn from its own PCG stream (seed, chunk), so the
// chunks fill in parallel and the mask depends on seed alone, not on the
// number of threads.
func DropoutMaskSeeded(mask []float32, p float32, seed uint64) {
	const chunk = 4096
	keep := 1 / (1 - p)
	// Drop when a uniform 32-bit draw falls below p·2³².
	thr := uint64(float64(p) * (1 << 32))
	n := (len(mask) + chunk - 1) / chunk
	parallel(n, func(_, lo, hi int) {
		var src rand.PCG
		for c := lo; c < hi; c++ {
			src.Seed(seed, uint64(c))
			m := mask[c*chunk : min(len(mask), (c+1)*chunk)]
			for i := 0; i < len(m); i += 2 {
				u := src.Uint64()
				m[i] = keep * float32(b2u(u&0xffffffff >= thr))
				if i+1 < len(m) {
					m[i+1] = keep * float32(b2u(u>>32 >= thr))
				}
			}
		}
	})
}
