package nn

import "math"

// Winograd F(2×2, 3×3) for 3×3, stride-1 convolutions: each 2×2 block of
// output ("tile") comes from a 4×4 block of input through
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
//
// so the products of all channels become 16 matrix products (one per
// position ξ of the 4×4 transformed tile) of K×C filters by C×tiles
// inputs: 16 multiplies per 4 outputs instead of 36, 2.25 times fewer.
// The transforms themselves are additions.

// winograd holds the transformed filters and per-worker scratch of one
// convolution shape. It works through the tiles of the batch in blocks
// small enough that the transformed inputs and products of a block stay in
// the core's L2 cache.
type winograd struct {
	s      ConvShape
	th, tw int // tiles per column and row: ceil(OutH/2), ceil(OutW/2)
	block  int // tiles per set of 16 sgemms
	u      []float32
	v, m   [][]float32 // per worker: 16 × C × block, 16 × K × block
	rows   [][]float32 // per worker: 4 padded input rows
	runbuf [][]run     // per worker: the runs of the block at hand
	xpad   []float32   // the batch zero-padded to hp×wp, when padding is needed
	hp, wp int         // padded plane size: 2·th+2 × 2·tw+2
	du     [][]float32 // per shard: 16 × K × C filter-gradient sums
}

// winogradL2 is the budget, in floats, for what one block's 16 sgemms
// touch: the transformed filters (16·K·C), inputs (16·C·block) and products
// (16·K·block). Within a core's L2 cache (2 MiB here) the sgemms run at
// their speed in isolation; past it, 1.5 times slower (BenchmarkWinogradBlock
// on DropoutCNN's conv4). Blocks stay between winogradMinBlock tiles, below
// which the sgemms are too thin, and winogradMaxBlock.
var winogradL2, winogradMinBlock, winogradMaxBlock = 320 * 1024, 48, 256

func newWinograd(s ConvShape) *winograd {
	oh, ow := s.OutH(), s.OutW()
	wg := &winograd{s: s, th: (oh + 1) / 2, tw: (ow + 1) / 2}
	wg.block = min(winogradMaxBlock, max(winogradMinBlock, (winogradL2-16*s.K*s.C)/(16*(s.C+s.K))))
	wg.block = (wg.block + wg.tw - 1) / wg.tw * wg.tw // whole rows of tiles: long runs
	wg.hp, wg.wp = 2*wg.th+2, 2*wg.tw+2
	return wg
}

// padInput returns the batch as the transforms read it: x itself when
// every tile lies inside the image, else a copy with zero padding around
// it (Pad on the top and left, up to the last tile's edge on the bottom
// and right), so that the transforms never check bounds. The returned
// shape is unpadded.
func (wg *winograd) padInput(x []float32) ([]float32, ConvShape) {
	s := wg.s
	if s.Pad == 0 && wg.hp <= s.H && wg.wp <= s.W {
		return x, s
	}
	plane := wg.hp * wg.wp
	if len(wg.xpad) != s.N*s.C*plane {
		wg.xpad = make([]float32, s.N*s.C*plane) // zero borders, kept from call to call
	}
	parallel(s.N*s.C, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			dst, src := wg.xpad[p*plane:(p+1)*plane], x[p*s.H*s.W:(p+1)*s.H*s.W]
			for i := range s.H {
				o := (i+s.Pad)*wg.wp + s.Pad
				copy(dst[o:o+s.W], src[i*s.W:(i+1)*s.W])
			}
		}
	})
	ps := s
	ps.H, ps.W, ps.Pad = wg.hp, wg.wp, 0
	return wg.xpad, ps
}

func (wg *winograd) tiles() int { return wg.th * wg.tw }

// run is a stretch of tiles [tj0, tj1) along tile row ti of image n, the
// tiles off..off+tj1−tj0 of their block.
type run struct{ n, ti, tj0, tj1, off int }

// runs splits the tiles [t0, t1) of the batch into runs, into buf. The
// transforms loop over channels outside and runs inside, so that each
// channel's row of the 16 transformed matrices is written (or read) in one
// sweep: channel by channel within a run, the 16 rows were touched a few
// tiles at a time and fell out of L1 between visits.
func (wg *winograd) runs(buf []run, t0, t1 int) []run {
	buf = buf[:0]
	t := wg.tiles()
	for tt := t0; tt < t1; {
		n, rem := tt/t, tt%t
		ti, tj0 := rem/wg.tw, rem%wg.tw
		tj1 := min(wg.tw, tj0+t1-tt)
		buf = append(buf, run{n, ti, tj0, tj1, tt - t0})
		tt += tj1 - tj0
	}
	return buf
}

// xiStride is the distance between the 16 matrices of rows×ld floats in v
// or m. It is padded to 16 floats past a multiple of 1024, so that the 16
// entries of a tile fall in 16 different L1 cache sets: at a multiple of
// 4 KiB apart they would all compete for one set.
func xiStride(rows, ld int) int {
	n := rows * ld
	return (n+1023)/1024*1024 + 16
}

// transformFilters computes U = G g Gᵀ for every filter, laid out as 16
// K×C matrices.
func (wg *winograd) transformFilters(w []float32) {
	k, c := wg.s.K, wg.s.C
	wg.u = grow(wg.u, 16*k*c)
	parallel(k, func(_, lo, hi int) { wg.transformFilterRange(w, lo, hi) })
}

func (wg *winograd) transformFilterRange(w []float32, klo, khi int) {
	k, c := wg.s.K, wg.s.C
	for kk := klo; kk < khi; kk++ {
		for cc := range c {
			g := w[(kk*c+cc)*9 : (kk*c+cc)*9+9]
			// t = G g: 4×3
			var t [4][3]float32
			for j := range 3 {
				g0, g1, g2 := g[j], g[3+j], g[6+j]
				t[0][j] = g0
				t[1][j] = 0.5 * (g0 + g1 + g2)
				t[2][j] = 0.5 * (g0 - g1 + g2)
				t[3][j] = g2
			}
			// U = t Gᵀ: 4×4
			for i := range 4 {
				t0, t1, t2 := t[i][0], t[i][1], t[i][2]
				base := (i * 4) * k * c
				wg.u[base+0*k*c+kk*c+cc] = t0
				wg.u[base+1*k*c+kk*c+cc] = 0.5 * (t0 + t1 + t2)
				wg.u[base+2*k*c+kk*c+cc] = 0.5 * (t0 - t1 + t2)
				wg.u[base+3*k*c+kk*c+cc] = t2
			}
		}
	}
}

// forward computes y = act(conv(x, w) + b) with transformFilters already
// done.
func (wg *winograd) forward(y, x, b []float32, act bool, slope float32) {
	s := &wg.s
	xp, ps := wg.padInput(x)
	t := wg.tiles()
	total := s.N * t
	nb := (total + wg.block - 1) / wg.block
	nw := workers(nb)
	wg.v = perWorker(wg.v, nw, 16*xiStride(s.C, wg.block))
	wg.m = perWorker(wg.m, nw, 16*xiStride(s.K, wg.block))
	wg.rows = perWorker(wg.rows, nw, 4*(2*wg.tw+2))
	for len(wg.runbuf) < nw {
		wg.runbuf = append(wg.runbuf, nil)
	}
	kc := s.K * s.C
	parallel(nb, func(wk, blo, bhi int) {
		v, m := wg.v[wk], wg.m[wk]
		for bl := blo; bl < bhi; bl++ {
			t0, t1 := bl*wg.block, min(total, (bl+1)*wg.block)
			ld := t1 - t0
			vs, ms := xiStride(s.C, ld), xiStride(s.K, ld)
			runs := wg.runs(wg.runbuf[wk], t0, t1)
			wg.runbuf[wk] = runs
			wg.inputTransform(v, ld, vs, xp, &ps, runs, wg.rows[wk])
			for xi := range 16 {
				sgemm(false, false, s.K, ld, s.C, 1, wg.u[xi*kc:(xi+1)*kc], s.C, v[xi*vs:xi*vs+s.C*ld], ld, 0, m[xi*ms:xi*ms+s.K*ld], ld)
			}
			wg.outputTransform(y, m, ld, ms, runs, b, act, slope)
		}
	})
}

// inputTransform writes Bᵀ d B of tiles [t0, t1) of the batch (numbered
// image by image, row by row) for every channel into v: entry ξ of channel
// c's tile t goes to v[ξ·cl + c·ld + t − t0]. x has shape s, normally
// from padInput; rows is scratch for 4 rows of 2·tw+2 floats, for runs of
// tiles that reach into zero padding all the same.
func (wg *winograd) inputTransform(v []float32, ld, cl int, x []float32, s *ConvShape, runs []run, rows []float32) {
	rw := 2*wg.tw + 2
	for c := range s.C {
		for _, ru := range runs {
			plane := x[(ru.n*s.C+c)*s.H*s.W : (ru.n*s.C+c+1)*s.H*s.W]
			y0, x0 := 2*ru.ti-s.Pad, 2*ru.tj0-s.Pad
			nt := ru.tj1 - ru.tj0
			// The run reads rows y0..y0+3 and columns x0..x0+w−1.
			w := 2*nt + 2
			var r0, r1, r2, r3 []float32
			if y0 >= 0 && y0+3 < s.H && x0 >= 0 && x0+w <= s.W {
				r0 = plane[y0*s.W+x0 : y0*s.W+x0+w]
				r1 = plane[(y0+1)*s.W+x0 : (y0+1)*s.W+x0+w]
				r2 = plane[(y0+2)*s.W+x0 : (y0+2)*s.W+x0+w]
				r3 = plane[(y0+3)*s.W+x0 : (y0+3)*s.W+x0+w]
			} else {
				// Copy the rows' part inside the image into zeroed scratch.
				clear(rows[:4*rw])
				lo, hi := max(x0, 0), min(x0+w, s.W)
				for r := range 4 {
					if yy := y0 + r; yy >= 0 && yy < s.H && lo < hi {
						copy(rows[r*rw+lo-x0:], plane[yy*s.W+lo:yy*s.W+hi])
					}
				}
				r0, r1, r2, r3 = rows[0:w], rows[rw:rw+w], rows[2*rw:2*rw+w], rows[3*rw:3*rw+w]
			}
			o := c*ld + ru.off
			k0 := 0
			if n := nt; hasAVX2 && n >= 8 {
				// 8 tiles at a time; a last, overlapping 8 covers the rest.
				_ = v[15*cl+o+n-1]
				_ = r3[2*n+1]
				n8 := n &^ 7
				winoInputAVX2(&v[o], cl, &r0[0], &r1[0], &r2[0], &r3[0], n8)
				if n8 < n {
					winoInputAVX2(&v[o+n-8], cl, &r0[2*(n-8)], &r1[2*(n-8)], &r2[2*(n-8)], &r3[2*(n-8)], 8)
				}
				k0 = n
			} else if hasAVX2 && n >= 4 {
				_ = v[15*cl+o+n-1]
				_ = r3[2*n+1]
				winoInput4(&v[o], cl, &r0[0], &r1[0], &r2[0], &r3[0])
				winoInput4(&v[o+n-4], cl, &r0[2*(n-4)], &r1[2*(n-4)], &r2[2*(n-4)], &r3[2*(n-4)])
				k0 = n
			}
			for k := k0; k < nt; k++ {
				j, ok := 2*k, o+k
				// Bᵀ d: combine rows, for the tile's 4 columns.
				a0, a1, a2, a3 := r0[j]-r2[j], r0[j+1]-r2[j+1], r0[j+2]-r2[j+2], r0[j+3]-r2[j+3]
				b0, b1, b2, b3 := r1[j]+r2[j], r1[j+1]+r2[j+1], r1[j+2]+r2[j+2], r1[j+3]+r2[j+3]
				c0, c1, c2, c3 := r2[j]-r1[j], r2[j+1]-r1[j+1], r2[j+2]-r1[j+2], r2[j+3]-r1[j+3]
				e0, e1, e2, e3 := r1[j]-r3[j], r1[j+1]-r3[j+1], r1[j+2]-r3[j+2], r1[j+3]-r3[j+3]
				// (Bᵀ d) B: combine columns.
				v[0*cl+ok], v[1*cl+ok], v[2*cl+ok], v[3*cl+ok] = a0-a2, a1+a2, a2-a1, a1-a3
				v[4*cl+ok], v[5*cl+ok], v[6*cl+ok], v[7*cl+ok] = b0-b2, b1+b2, b2-b1, b1-b3
				v[8*cl+ok], v[9*cl+ok], v[10*cl+ok], v[11*cl+ok] = c0-c2, c1+c2, c2-c1, c1-c3
				v[12*cl+ok], v[13*cl+ok], v[14*cl+ok], v[15*cl+ok] = e0-e2, e1+e2, e2-e1, e1-e3
			}
		}
	}
}

// outputTransform computes Aᵀ M A for tiles [t0, t1) of the batch, adds
// the bias, applies the activation and writes the 2×2 blocks into y.
func (wg *winograd) outputTransform(y, m []float32, ld, kl int, runs []run, b []float32, act bool, slope float32) {
	s := &wg.s
	oh, ow := s.OutH(), s.OutW()
	mode := 0 // for the AVX2 kernel; -1: not supported there
	switch {
	case act && slope == 0:
		mode = 1
	case act && slope > 0 && slope <= 1:
		mode = 2
	case act:
		mode = -1
	}
	for k := range s.K {
		for _, ru := range runs {
			n, tj0, tj1 := ru.n, ru.tj0, ru.tj1
			i := 2 * ru.ti
			var bk float32
			if b != nil {
				bk = b[k]
			}
			yk := y[(n*s.K+k)*oh*ow : (n*s.K+k+1)*oh*ow]
			base := k*ld + ru.off
			q0 := 0
			// Tiles whose 2×2 block lies inside the output go 8 at a time.
			if n := min(tj1, ow/2) - tj0; hasAVX2 && n >= 4 && n < 8 && i+1 < oh && mode >= 0 {
				_ = m[15*kl+base+n-1]
				_ = yk[(i+1)*ow+2*(tj0+n)-1]
				j := 2 * tj0
				winoOutput4(&yk[i*ow+j], &yk[(i+1)*ow+j], &m[base], kl, bk, mode, slope)
				j = 2 * (tj0 + n - 4)
				winoOutput4(&yk[i*ow+j], &yk[(i+1)*ow+j], &m[base+n-4], kl, bk, mode, slope)
				q0 = n
			} else if n >= 8 && hasAVX2 && i+1 < oh && mode >= 0 {
				_ = m[15*kl+base+n-1]
				_ = yk[(i+1)*ow+2*(tj0+n)-1]
				n8 := n &^ 7
				winoOutputAVX2(&yk[i*ow+2*tj0], &yk[(i+1)*ow+2*tj0], &m[base], kl, n8, bk, mode, slope)
				if n8 < n {
					j := 2 * (tj0 + n - 8)
					winoOutputAVX2(&yk[i*ow+j], &yk[(i+1)*ow+j], &m[base+n-8], kl, 8, bk, mode, slope)
				}
				q0 = n
			}
			for q := q0; q < tj1-tj0; q++ {
				o := base + q
				m0, m1, m2, m3 := m[0*kl+o], m[1*kl+o], m[2*kl+o], m[3*kl+o]
				m4, m5, m6, m7 := m[4*kl+o], m[5*kl+o], m[6*kl+o], m[7*kl+o]
				m8, m9, m10, m11 := m[8*kl+o], m[9*kl+o], m[10*kl+o], m[11*kl+o]
				m12, m13, m14, m15 := m[12*kl+o], m[13*kl+o], m[14*kl+o], m[15*kl+o]
				// Aᵀ M: rows.
				s0, s1, s2, s3 := m0+m4+m8, m1+m5+m9, m2+m6+m10, m3+m7+m11
				d0, d1, d2, d3 := m4-m8-m12, m5-m9-m13, m6-m10-m14, m7-m11-m15
				// (Aᵀ M) A: columns.
				y00, y01 := s0+s1+s2+bk, s1-s2-s3+bk
				y10, y11 := d0+d1+d2+bk, d1-d2-d3+bk
				if act {
					y00, y01, y10, y11 = leaky(y00, slope), leaky(y01, slope), leaky(y10, slope), leaky(y11, slope)
				}
				j := 2 * (tj0 + q)
				if i+1 < oh && j+1 < ow {
					yk[i*ow+j], yk[i*ow+j+1] = y00, y01
					yk[(i+1)*ow+j], yk[(i+1)*ow+j+1] = y10, y11
					continue
				}
				yk[i*ow+j] = y00
				if j+1 < ow {
					yk[i*ow+j+1] = y01
				}
				if i+1 < oh {
					yk[(i+1)*ow+j] = y10
				}
			}
		}
	}
}

// leaky is LeakyReLU, NaN propagating, as addLeaky computes it.
func leaky(v, slope float32) float32 {
	if slope == 0 {
		return max(v, 0)
	}
	m := uint32(int32(math.Float32bits(v)) >> 31) // all ones when v < 0
	return v * math.Float32frombits(oneBits&^m|math.Float32bits(slope)&m)
}

// backwardFilter computes dw (K×C×3×3) and db (nil to skip) from dy and
// x: with the products' gradient A dy Aᵀ of each tile, the gradient of the
// transformed filters is dU[ξ] = Σ_tiles (A dy Aᵀ)[ξ] ⊙ V[ξ], again 16
// matrix products, and dw = Gᵀ dU G. The blocks of tiles are summed over
// fixed shards in a fixed order, so the result does not depend on the
// number of threads.
func (wg *winograd) backwardFilter(dw, db, dy, x []float32) {
	s := &wg.s
	xp, ps := wg.padInput(x)
	t := wg.tiles()
	total := s.N * t
	nb := (total + wg.block - 1) / wg.block
	ns := shards(nb)
	nw := workers(ns)
	kc := s.K * s.C
	wg.v = perWorker(wg.v, nw, 16*xiStride(s.C, wg.block))
	wg.m = perWorker(wg.m, nw, 16*xiStride(s.K, wg.block))
	wg.du = perWorker(wg.du, ns, 16*kc)
	wg.rows = perWorker(wg.rows, nw, 4*(2*wg.tw+2))
	for len(wg.runbuf) < nw {
		wg.runbuf = append(wg.runbuf, nil)
	}
	parallel(ns, func(wk, slo, shi int) {
		v, m := wg.v[wk], wg.m[wk]
		for sh := slo; sh < shi; sh++ {
			du := wg.du[sh]
			for bl := sh * nb / ns; bl < (sh+1)*nb/ns; bl++ {
				t0, t1 := bl*wg.block, min(total, (bl+1)*wg.block)
				ld := t1 - t0
				vs, ms := xiStride(s.C, ld), xiStride(s.K, ld)
				runs := wg.runs(wg.runbuf[wk], t0, t1)
				wg.runbuf[wk] = runs
				wg.inputTransform(v, ld, vs, xp, &ps, runs, wg.rows[wk])
				wg.gradTransform(m, ld, ms, dy, runs)
				beta := float32(1)
				if bl == sh*nb/ns {
					beta = 0
				}
				for xi := range 16 {
					sgemm(false, true, s.K, s.C, ld, 1, m[xi*ms:xi*ms+s.K*ld], ld, v[xi*vs:xi*vs+s.C*ld], ld, beta, du[xi*kc:(xi+1)*kc], s.C)
				}
			}
		}
	})
	du := wg.du[0]
	parallelElems(len(du), func(lo, hi int) {
		for sh := 1; sh < ns; sh++ { // in shard order, for any split of [lo, hi)
			add(du[lo:hi], wg.du[sh][lo:hi])
		}
	})
	parallel(kc, func(_, lo, hi int) { wg.filterGradTransform(dw, du, lo, hi) })
	if db != nil {
		p := s.OutH() * s.OutW()
		parallel(s.K, func(_, lo, hi int) {
			for k := lo; k < hi; k++ {
				var sum float32
				for n := range s.N {
					var one [1]float32
					rowSums(one[:], dy[(n*s.K+k)*p:(n*s.K+k+1)*p], p)
					sum += one[0]
				}
				db[k] = sum
			}
		})
	}
}

// gradTransform writes A g Aᵀ of the output-gradient tiles g (2×2, zero
// past the output's edge) of tiles [t0, t1) for every channel into m:
// entry ξ of channel k's tile t goes to m[ξ·kl + k·ld + t − t0].
func (wg *winograd) gradTransform(m []float32, ld, kl int, dy []float32, runs []run) {
	s := &wg.s
	oh, ow := s.OutH(), s.OutW()
	for k := range s.K {
		for _, ru := range runs {
			n, tj0, tj1 := ru.n, ru.tj0, ru.tj1
			i := 2 * ru.ti
			g := dy[(n*s.K+k)*oh*ow : (n*s.K+k+1)*oh*ow]
			base := k*ld + ru.off
			q0 := 0
			if n := min(tj1, ow/2) - tj0; hasAVX2 && n >= 4 && n < 8 && i+1 < oh {
				_ = m[15*kl+base+n-1]
				_ = g[(i+1)*ow+2*(tj0+n)-1]
				j := 2 * tj0
				winoGrad4(&m[base], kl, &g[i*ow+j], &g[(i+1)*ow+j])
				j = 2 * (tj0 + n - 4)
				winoGrad4(&m[base+n-4], kl, &g[i*ow+j], &g[(i+1)*ow+j])
				q0 = n
			} else if hasAVX2 && n >= 8 && i+1 < oh {
				_ = m[15*kl+base+n-1]
				_ = g[(i+1)*ow+2*(tj0+n)-1]
				n8 := n &^ 7
				winoGradAVX2(&m[base], kl, &g[i*ow+2*tj0], &g[(i+1)*ow+2*tj0], n8)
				if n8 < n {
					j := 2 * (tj0 + n - 8)
					winoGradAVX2(&m[base+n-8], kl, &g[i*ow+j], &g[(i+1)*ow+j], 8)
				}
				q0 = n
			}
			for q := q0; q < tj1-tj0; q++ {
				j := 2 * (tj0 + q)
				var g00, g01, g10, g11 float32
				if i+1 < oh && j+1 < ow {
					g00, g01, g10, g11 = g[i*ow+j], g[i*ow+j+1], g[(i+1)*ow+j], g[(i+1)*ow+j+1]
				} else {
					g00 = g[i*ow+j]
					if j+1 < ow {
						g01 = g[i*ow+j+1]
					}
					if i+1 < oh {
						g10 = g[(i+1)*ow+j]
					}
				}
				// A g: rows (g0, g0+g1, g0−g1, −g1); then the same on columns.
				a0, a1 := g00, g01
				b0, b1 := g00+g10, g01+g11
				c0, c1 := g00-g10, g01-g11
				d0, d1 := -g10, -g11
				o := base + q
				m[0*kl+o], m[1*kl+o], m[2*kl+o], m[3*kl+o] = a0, a0+a1, a0-a1, -a1
				m[4*kl+o], m[5*kl+o], m[6*kl+o], m[7*kl+o] = b0, b0+b1, b0-b1, -b1
				m[8*kl+o], m[9*kl+o], m[10*kl+o], m[11*kl+o] = c0, c0+c1, c0-c1, -c1
				m[12*kl+o], m[13*kl+o], m[14*kl+o], m[15*kl+o] = d0, d0+d1, d0-d1, -d1
			}
		}
	}
}

// filterGradTransform writes dw = Gᵀ dU G for filters [lo, hi) (numbered
// k·C + c), from the 16 K×C matrices du.
func (wg *winograd) filterGradTransform(dw, du []float32, lo, hi int) {
	kc := wg.s.K * wg.s.C
	for i := lo; i < hi; i++ {
		var u [16]float32
		for xi := range 16 {
			u[xi] = du[xi*kc+i]
		}
		// T = Gᵀ dU: 3×4.
		var t [3][4]float32
		for j := range 4 {
			u0, u1, u2, u3 := u[j], u[4+j], u[8+j], u[12+j]
			t[0][j] = u0 + 0.5*(u1+u2)
			t[1][j] = 0.5 * (u1 - u2)
			t[2][j] = 0.5*(u1+u2) + u3
		}
		g := dw[i*9 : i*9+9]
		for r := range 3 {
			t0, t1, t2, t3 := t[r][0], t[r][1], t[r][2], t[r][3]
			g[r*3+0] = t0 + 0.5*(t1+t2)
			g[r*3+1] = 0.5 * (t1 - t2)
			g[r*3+2] = 0.5*(t1+t2) + t3
		}
	}
}
