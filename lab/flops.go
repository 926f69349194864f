package lab

// FLOPs counts the floating-point operations of one image through the
// model, the way speed figures are quoted: each multiply-add of a
// convolution, computed directly (not as the Winograd or other fast
// algorithms that run it), and of a fully connected layer counts two; the
// other layers (activations, pooling, normalization, dropout) are not
// counted. forward is the forward pass; train adds the backward pass, the
// gradients of the weights (as many as the forward pass) and of the
// inputs (as many again, except for the first layer, whose input gradient
// is never computed), so a training step of batch n does n·train.
func (m *Model) FLOPs() (forward, train float64) {
	first := true
	for i, l := range m.layers {
		in, out := m.built[i].in, m.built[i].out
		var f float64
		switch l := l.(type) {
		case *conv2d:
			f = 2 * float64(l.out*in[0]*l.kernel*l.kernel*out[1]*out[2])
		case *linear:
			f = 2 * float64(size(in)*l.out)
		}
		forward += f
		train += 2 * f
		if f > 0 && !first {
			train += f
		}
		if f > 0 {
			first = false
		}
	}
	return forward, train
}
