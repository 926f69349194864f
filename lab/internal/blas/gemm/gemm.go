// Package gemm is the single-precision matrix multiply that package blas
// uses without OpenBLAS: a blocked, packed product around a 6×16 AVX2/FMA
// micro-kernel in Go assembly. It is a package of its own because a
// package that uses cgo, as blas does, cannot hold Go assembly.
package gemm

import "sync"

// Available reports whether this build and CPU have the kernel: amd64
// without the purego tag, with AVX2 and FMA.
func Available() bool { return hasKernel }

// Block sizes: a kc×16 panel of B (16 KiB at kc = 256) stays in L1 while
// the mc×kc block of A (72 KiB) stays in L2.
const (
	mr, nr = 6, 16
	kc, mc = 256, 72
)

// packs are the packing buffers, reused across calls.
var packs = sync.Pool{New: func() any {
	return &packBufs{a: make([]float32, mc*kc), b: make([]float32, 0, kc*nr*64)}
}}

type packBufs struct {
	a, b []float32
	tile [mr * nr]float32
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, as
// blas.Sgemm, whose checks it relies on; k and alpha are not zero. It
// panics unless Available.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !hasKernel {
		panic("gemm: no kernel in this build or on this CPU")
	}
	scale(m, n, beta, c, ldc)
	p := packs.Get().(*packBufs)
	defer packs.Put(p)
	np := (n + nr - 1) / nr
	for pc := 0; pc < k; pc += kc {
		kb := min(kc, k-pc)
		// Pack B[pc:pc+kb, :] into np panels of kb×16, zero-padded.
		if cap(p.b) < np*kb*nr {
			p.b = make([]float32, np*kb*nr)
		}
		bp := p.b[:np*kb*nr]
		packB(bp, b, ldb, transB, pc, kb, n)
		for ic := 0; ic < m; ic += mc {
			mb := min(mc, m-ic)
			ap := p.a[:((mb+mr-1)/mr)*mr*kb]
			packA(ap, a, lda, transA, ic, mb, pc, kb)
			for jp := range np {
				j := jp * nr
				nb := min(nr, n-j)
				bpan := bp[jp*kb*nr : (jp+1)*kb*nr]
				for ir := 0; ir < mb; ir += mr {
					rb := min(mr, mb-ir)
					apan := ap[(ir/mr)*mr*kb : (ir/mr+1)*mr*kb]
					ci := (ic+ir)*ldc + j
					if rb == mr && nb == nr {
						kernel6x16(kb, &apan[0], &bpan[0], &c[ci], ldc, alpha)
						continue
					}
					// A partial tile: compute into scratch, add the valid part.
					clear(p.tile[:])
					kernel6x16(kb, &apan[0], &bpan[0], &p.tile[0], nr, alpha)
					for r := range rb {
						row := c[ci+r*ldc : ci+r*ldc+nb]
						for q := range row {
							row[q] += p.tile[r*nr+q]
						}
					}
				}
			}
		}
	}
}

// packB writes op(B)[pc:pc+kb, 0:n] as panels of 16 columns: panel jp holds,
// for each of the kb rows, its 16 values (zero past column n).
func packB(dst, b []float32, ldb int, trans bool, pc, kb, n int) {
	np := (n + nr - 1) / nr
	for jp := range np {
		pan := dst[jp*kb*nr : (jp+1)*kb*nr]
		j0 := jp * nr
		w := min(nr, n-j0)
		if trans { // column q of the panel is row j0+q of B, contiguous
			if w < nr {
				clear(pan)
			}
			for q := range w {
				src := b[(j0+q)*ldb+pc : (j0+q)*ldb+pc+kb]
				for l, v := range src {
					pan[l*nr+q] = v
				}
			}
			continue
		}
		for l := range kb {
			row := pan[l*nr : (l+1)*nr]
			copy(row, b[(pc+l)*ldb+j0:(pc+l)*ldb+j0+w])
			clear(row[w:])
		}
	}
}

// packA writes op(A)[ic:ic+mb, pc:pc+kb] as panels of 6 rows: panel ip
// holds, for each of the kb columns, its 6 values (zero past row mb).
func packA(dst, a []float32, lda int, trans bool, ic, mb, pc, kb int) {
	for ip := 0; ip*mr < mb; ip++ {
		pan := dst[ip*mr*kb : (ip+1)*mr*kb]
		r0 := ic + ip*mr
		h := min(mr, mb-ip*mr)
		if !trans { // row r of the panel is row r0+r of A, contiguous
			if h < mr {
				clear(pan)
			}
			for r := range h {
				src := a[(r0+r)*lda+pc : (r0+r)*lda+pc+kb]
				for l, v := range src {
					pan[l*mr+r] = v
				}
			}
			continue
		}
		for l := range kb {
			col := pan[l*mr : (l+1)*mr]
			copy(col[:h], a[(pc+l)*lda+r0:(pc+l)*lda+r0+h])
			clear(col[h:])
		}
	}
}

// scale sets C = beta·C, and C = 0 when beta is 0.
func scale(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
