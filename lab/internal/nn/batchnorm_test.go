package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refBatchNorm is batch normalization by its definition, in float64:
// the training forward pass, the running statistics and the gradients.
func refBatchNorm(n, c, hw int, eps, mom float64, x, gamma, beta, rm, rv, dy []float32) (y, nrm, nrv, dx, dg, db []float32) {
	m := float64(n * hw)
	y, dx = make([]float32, len(x)), make([]float32, len(x))
	nrm, nrv, dg, db = make([]float32, c), make([]float32, c), make([]float32, c), make([]float32, c)
	for ch := range c {
		at := func(i, j int) int { return (i*c+ch)*hw + j }
		var sum, ss float64
		for i := range n {
			for j := range hw {
				sum += float64(x[at(i, j)])
			}
		}
		mean := sum / m
		for i := range n {
			for j := range hw {
				d := float64(x[at(i, j)]) - mean
				ss += d * d
			}
		}
		v := ss / m
		inv := 1 / math.Sqrt(v+eps)
		nrm[ch] = float32((1-mom)*float64(rm[ch]) + mom*mean)
		nrv[ch] = float32((1-mom)*float64(rv[ch]) + mom*ss/(m-1))
		var sdx, sdxx, sdy, sdyx float64
		for i := range n {
			for j := range hw {
				xh := (float64(x[at(i, j)]) - mean) * inv
				y[at(i, j)] = float32(xh*float64(gamma[ch]) + float64(beta[ch]))
				g := float64(dy[at(i, j)])
				sdy += g
				sdyx += g * xh
				sdx += g * float64(gamma[ch])
				sdxx += g * float64(gamma[ch]) * xh
			}
		}
		dg[ch], db[ch] = float32(sdyx), float32(sdy)
		for i := range n {
			for j := range hw {
				xh := (float64(x[at(i, j)]) - mean) * inv
				g := float64(dy[at(i, j)]) * float64(gamma[ch])
				dx[at(i, j)] = float32(inv / m * (m*g - sdx - xh*sdxx))
			}
		}
	}
	return
}

func TestBatchNormMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	for _, avx := range []bool{false, true} {
		if avx && !hasAVX2 {
			continue
		}
		func() {
			defer func(h bool) { hasAVX2 = h }(hasAVX2)
			hasAVX2 = avx
			for _, g := range [][3]int{{2, 3, 37}, {4, 5, 64}, {3, 2, 5}} {
				n, c, hw := g[0], g[1], g[2]
				x, dy := randSlice(r, n*c*hw), randSlice(r, n*c*hw)
				for i := range x {
					x[i] = 3 + 2*x[i] // a mean away from zero
				}
				gamma, beta, rm, rv := randSlice(r, c), randSlice(r, c), randSlice(r, c), randSlice(r, c)
				for i := range rv {
					rv[i] = float32(math.Abs(float64(rv[i]))) + 0.5
				}
				wy, wrm, wrv, wdx, wdg, wdb := refBatchNorm(n, c, hw, 1e-5, 0.1, x, gamma, beta, rm, rv, dy)
				b := &BatchNorm{N: n, C: c, HW: hw, Eps: 1e-5, Momentum: 0.1}
				y := make([]float32, len(x))
				b.ForwardTrain(y, x, gamma, beta, rm, rv)
				close(t, "batchnorm y", y, wy, 1e-5)
				close(t, "running mean", rm, wrm, 1e-6)
				close(t, "running var", rv, wrv, 1e-6)
				dx, dg, db := make([]float32, len(x)), make([]float32, c), make([]float32, c)
				b.Backward(dx, dg, db, dy, x, gamma)
				close(t, "batchnorm dx", dx, wdx, 1e-4)
				close(t, "batchnorm dgamma", dg, wdg, 1e-5)
				close(t, "batchnorm dbeta", db, wdb, 1e-5)
				b.ForwardEval(y, x, gamma, beta, rm, rv)
				for i := range y {
					ch := (i / hw) % c
					want := (float64(x[i])-float64(rm[ch]))/math.Sqrt(float64(rv[ch])+1e-5)*float64(gamma[ch]) + float64(beta[ch])
					if math.Abs(float64(y[i])-want) > 1e-5*(1+math.Abs(want)) {
						t.Fatalf("avx %v eval y[%d] = %v, want %v", avx, i, y[i], want)
					}
				}
			}
		}()
	}
}

func TestSum32(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	for _, n := range []int{0, 1, 7, 8, 31, 32, 33, 100, 1000} {
		x := randSlice(r, n)
		var want, scale float64
		for _, v := range x {
			want += float64(v)
			scale += math.Abs(float64(v))
		}
		if got := sum32(x); math.Abs(float64(got)-want) > 1e-6*scale+1e-30 {
			t.Errorf("sum32 of %d = %v, want %v", n, got, want)
		}
		if got := sum64(x); math.Abs(got-want) > 1e-12*scale+1e-30 {
			t.Errorf("sum64 of %d = %v, want %v", n, got, want)
		}
	}
}

// The fused forms equal BatchNorm then LeakyReLU, and their gradients.
func TestBatchNormLeakyReLU(t *testing.T) {
	r := rand.New(rand.NewPCG(67, 68))
	const n, c, hw = 3, 4, 29
	x, dy := randSlice(r, n*c*hw), randSlice(r, n*c*hw)
	gamma, beta := randSlice(r, c), randSlice(r, c)
	for _, slope := range []float32{0, 0.01} {
		rm1, rv1, rm2, rv2 := make([]float32, c), ones(c), make([]float32, c), ones(c)
		b1 := &BatchNorm{N: n, C: c, HW: hw, Eps: 1e-5, Momentum: 0.1}
		b2 := &BatchNorm{N: n, C: c, HW: hw, Eps: 1e-5, Momentum: 0.1}
		z, y, yf := make([]float32, len(x)), make([]float32, len(x)), make([]float32, len(x))
		b1.ForwardTrain(z, x, gamma, beta, rm1, rv1)
		LeakyReLU(y, z, slope)
		b2.ForwardTrainLeakyReLU(yf, x, gamma, beta, rm2, rv2, slope)
		close(t, "fused forward", yf, y, 0)
		dz, dx, dg, db := make([]float32, len(x)), make([]float32, len(x)), make([]float32, c), make([]float32, c)
		LeakyReLUBackward(dz, dy, y, slope)
		b1.Backward(dx, dg, db, dz, x, gamma)
		dxf, dgf, dbf := make([]float32, len(x)), make([]float32, c), make([]float32, c)
		b2.BackwardLeakyReLU(dxf, dgf, dbf, dy, yf, x, gamma, slope)
		close(t, "fused dx", dxf, dx, 0)
		close(t, "fused dgamma", dgf, dg, 0)
		close(t, "fused dbeta", dbf, db, 0)
		b2.ForwardEvalLeakyReLU(yf, x, gamma, beta, rm2, rv2, slope)
		b1.ForwardEval(z, x, gamma, beta, rm1, rv1)
		LeakyReLU(y, z, slope)
		close(t, "fused eval", yf, y, 0)
	}
}
