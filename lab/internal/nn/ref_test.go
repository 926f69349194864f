package nn

// Naive references, in float64, for the fast kernels. They follow the
// definitions literally and are only used by tests.

// refConvBackwardData is the input gradient of directConv by definition.
func refConvBackwardData(s ConvShape, dy, w []float32) []float32 {
	oh, ow := s.OutH(), s.OutW()
	dx := make([]float64, s.N*s.C*s.H*s.W)
	for n := range s.N {
		for k := range s.K {
			for i := range oh {
				for j := range ow {
					g := float64(dy[((n*s.K+k)*oh+i)*ow+j])
					for c := range s.C {
						for r := range s.R {
							for q := range s.S {
								yy, xx := i*s.Stride+r-s.Pad, j*s.Stride+q-s.Pad
								if yy < 0 || yy >= s.H || xx < 0 || xx >= s.W {
									continue
								}
								dx[((n*s.C+c)*s.H+yy)*s.W+xx] += g * float64(w[((k*s.C+c)*s.R+r)*s.S+q])
							}
						}
					}
				}
			}
		}
	}
	return f32s(dx)
}

// refConvBackwardFilter is the weight and bias gradient of directConv.
func refConvBackwardFilter(s ConvShape, dy, x []float32) (dw, db []float32) {
	oh, ow := s.OutH(), s.OutW()
	w := make([]float64, s.K*s.C*s.R*s.S)
	b := make([]float64, s.K)
	for n := range s.N {
		for k := range s.K {
			for i := range oh {
				for j := range ow {
					g := float64(dy[((n*s.K+k)*oh+i)*ow+j])
					b[k] += g
					for c := range s.C {
						for r := range s.R {
							for q := range s.S {
								yy, xx := i*s.Stride+r-s.Pad, j*s.Stride+q-s.Pad
								if yy < 0 || yy >= s.H || xx < 0 || xx >= s.W {
									continue
								}
								w[((k*s.C+c)*s.R+r)*s.S+q] += g * float64(x[((n*s.C+c)*s.H+yy)*s.W+xx])
							}
						}
					}
				}
			}
		}
	}
	return f32s(w), f32s(b)
}

func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
