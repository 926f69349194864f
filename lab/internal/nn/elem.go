package nn

import "math"

// Element-wise loops without data-dependent branches: on activations the
// sign of each value is a coin toss, and a mispredicted branch per element
// made these loops 5-8x slower.

const oneBits = 0x3f800000 // math.Float32bits(1)

// addLeaky writes out[i] = act(in[i] + b), where act is ReLU for slope 0
// (NaN propagates) and LeakyReLU otherwise.
func addLeaky(out, in []float32, b, slope float32) {
	out = out[:len(in)]
	if n := len(in) &^ 7; hasAVX2 && n > 0 && slope >= 0 && slope <= 1 {
		mode := 2
		if slope == 0 {
			mode = 1
		}
		addLeakyAVX2(&out[0], &in[0], n, b, mode, slope)
		out, in = out[n:], in[n:]
	}
	if slope == 0 {
		for i, v := range in {
			out[i] = max(v+b, 0)
		}
		return
	}
	sb := math.Float32bits(slope)
	for i, v := range in {
		v += b
		m := uint32(int32(math.Float32bits(v)) >> 31) // all ones when v < 0
		out[i] = v * math.Float32frombits(oneBits&^m|sb&m)
	}
}

// addBias writes out[i] = in[i] + b.
func addBias(out, in []float32, b float32) {
	out = out[:len(in)]
	if n := len(in) &^ 7; hasAVX2 && n > 0 {
		addLeakyAVX2(&out[0], &in[0], n, b, 0, 0)
		out, in = out[n:], in[n:]
	}
	for i, v := range in {
		out[i] = v + b
	}
}

// leakyGrad writes dx[i] = dy[i] where y[i] > 0 and slope·dy[i] elsewhere.
func leakyGrad(dx, dy, y []float32, slope float32) {
	dy = dy[:len(y)]
	dx = dx[:len(y)]
	if n := len(y) &^ 7; hasAVX2 && n > 0 {
		leakyGradAVX2(&dx[0], &dy[0], &y[0], n, slope)
		dx, dy, y = dx[n:], dy[n:], y[n:]
	}
	sb := math.Float32bits(slope)
	for i, v := range y {
		dx[i] = dy[i] * math.Float32frombits(gradFactor(v, sb))
	}
}

// gradFactor returns the bits of 1 when y > 0 and of slope (whose bits are
// sb) otherwise, NaN included, as PyTorch's (Leaky)ReLU gradient.
func gradFactor(y float32, sb uint32) uint32 {
	// y > 0 exactly when its bits, as an unsigned number, are in
	// (0, +Inf]: negative floats have the sign bit set, NaNs lie above +Inf.
	m := b2u(math.Float32bits(y)-1 < 0x7f800000) - 1 // all ones unless y > 0
	return oneBits&^m | sb&m
}

// b2u is 1 for true; the compiler makes it a SETcc, not a branch.
func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// Clear sets every value of a to +0, on several goroutines when a is large
// (a model's gradient buffers before each step: 17 MB for ImprovedCNN).
func Clear(a []float32) {
	parallelElems(len(a), func(lo, hi int) { clear(a[lo:hi]) })
}
