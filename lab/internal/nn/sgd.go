package nn

// SGDMomentum applies one step of SGD with momentum, as PyTorch's
// torch.optim.SGD without dampening or weight decay: v = momentum·v + g,
// then w −= lr·v.
func SGDMomentum(w, v, g []float32, lr, momentum float32) {
	v, g = v[:len(w)], g[:len(w)]
	parallelElems(len(w), func(lo, hi int) {
		ws, vs, gs := w[lo:hi], v[lo:hi], g[lo:hi]
		for i := range ws {
			vi := momentum*vs[i] + gs[i]
			vs[i] = vi
			ws[i] -= lr * vi
		}
	})
}
