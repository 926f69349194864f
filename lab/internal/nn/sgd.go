package nn

// SGDMomentum applies one step of SGD with momentum, as PyTorch's
// torch.optim.SGD without dampening or weight decay: v = momentum·v + g,
// then w −= lr·v. With zeroGrad it also clears g for the next step, in the
// same pass. Each element is computed as the plain Go loop would, so
// results do not depend on the number of threads or on AVX2.
func SGDMomentum(w, v, g []float32, lr, momentum float32, zeroGrad bool) {
	v, g = v[:len(w)], g[:len(w)]
	parallelElems(len(w), func(lo, hi int) {
		ws, vs, gs := w[lo:hi], v[lo:hi], g[lo:hi]
		if n := len(ws) &^ 7; hasAVX2 && n > 0 {
			sgdAVX2(&ws[0], &vs[0], &gs[0], n, lr, momentum, zeroGrad)
			ws, vs, gs = ws[n:], vs[n:], gs[n:]
		}
		for i := range ws {
			vi := momentum*vs[i] + gs[i]
			vs[i] = vi
			ws[i] -= lr * vi
			if zeroGrad {
				gs[i] = 0
			}
		}
	})
}
