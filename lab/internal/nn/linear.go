package nn

// Linear computes fully connected layers of a fixed shape: y = x·wᵀ + b with
// x N×In, w Out×In (PyTorch's layout), b of Out and y N×Out.
type Linear struct {
	N, In, Out int
}

// Forward computes y = x·wᵀ + b; b may be nil.
func (l *Linear) Forward(y, x, w, b []float32) {
	sgemm(false, true, l.N, l.Out, l.In, 1, x, l.In, w, l.In, 0, y, l.Out)
	if b != nil {
		for n := range l.N {
			row := y[n*l.Out : (n+1)*l.Out]
			for o := range row {
				row[o] += b[o]
			}
		}
	}
}

// Backward computes dx = dy·w, dw = dyᵀ·x and db = Σₙ dy from dy. Any of
// dx, dw, db may be nil to skip it.
func (l *Linear) Backward(dx, dw, db, dy, x, w []float32) {
	if dx != nil {
		sgemm(false, false, l.N, l.In, l.Out, 1, dy, l.Out, w, l.In, 0, dx, l.In)
	}
	if dw != nil {
		sgemm(true, false, l.Out, l.In, l.N, 1, dy, l.Out, x, l.In, 0, dw, l.In)
	}
	if db != nil {
		clear(db)
		for n := range l.N {
			for o, v := range dy[n*l.Out : (n+1)*l.Out] {
				db[o] += v
			}
		}
	}
}
