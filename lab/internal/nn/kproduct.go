package nn

// Matrix products on the Winograd engine's micro-kernels, for im2col
// convolutions (gemmConv) and linear layers. Every entry of a product is
// summed by kernel calls over fixed chunks of steps in order, so results do
// not depend on how the work is split over the workers.

// productSteps is the chunk of the reduction one kernel call sums: a panel
// of B is productSteps × nr floats (32 KB at 256 × 32).
const productSteps = 256

// kernelProduct computes the rows×cols matrix c (row stride ldc) = op(A)·B
// with kernels kn, where B is steps×cols (row stride ldb, cols a multiple
// of nr) and op(A) is rows×steps: with transA, a holds A as steps×rows
// (row stride lda), else rows×steps. With acc, it adds to c. The groups of
// mr rows are split over the workers. The steps go in chunks: for each, a
// worker runs each of its groups of rows (in L1) over every panel of nr
// columns of the chunk of B (in L2), adding the chunk's sums to the
// earlier ones in order.
func kernelProduct(kn *w4Kernels, c []float32, ldc int, a []float32, lda int, transA bool, b []float32, ldb, rows, steps, cols int, acc bool) {
	mr, nr := kn.mr, kn.nr
	aRow, aStep := lda, 1
	if transA {
		aRow, aStep = 1, lda
	}
	groups := (rows + mr - 1) / mr
	parallel(groups, func(_, lo, hi int) {
		// A group of fewer than mr rows (the last) goes through a copy
		// padded with zero rows: the kernel reads mr rows.
		var tail []float32
		if hi == groups && rows%mr != 0 {
			tail = getScratch(mr * productSteps)
			defer putScratch(tail)
		}
		for s0 := 0; s0 < steps; s0 += productSteps {
			n := min(productSteps, steps-s0)
			for gr := lo; gr < hi; gr++ {
				r0, nrows := gr*mr, min(mr, rows-gr*mr)
				ap, apRow, apStep := a[r0*aRow+s0*aStep:], aRow, aStep
				if nrows < mr {
					clear(tail)
					for i := range nrows {
						for q := range n {
							tail[i*productSteps+q] = a[(r0+i)*aRow+(s0+q)*aStep]
						}
					}
					ap, apRow, apStep = tail, productSteps, 1
				}
				for pn := range cols / nr {
					kn.gemm(n, ap, apRow, apStep, b[s0*ldb+pn*nr:], ldb, c[r0*ldc+pn*nr:], ldc, nrows, acc || s0 > 0)
				}
			}
		}
	})
}

// panelSteps is the chunk of the reduction panelProduct runs over every
// panel before the next: 64 rows of B (a linear layer's weights), which
// stay in L2 from kernel call to kernel call.
const panelSteps = 64

// panelShards is the number of fixed parts of the reduction panelProduct
// splits over the workers, summed in order after.
const panelShards = 2

// panelProduct is kernelProduct (without transA or acc, and with ldc =
// cols) for few rows and a large B, a linear layer's input gradient dy·w.
// The steps are split into panelShards parts, each summed into its own
// copy of c and those added in order, so that each worker reads its own
// contiguous part of B, chunk by chunk; within a chunk, each call of the
// kernel runs every group of rows over one panel. A worker reading B panel
// by panel instead, columns of 256-byte pieces 12.8 KB apart in
// ImprovedCNN's first linear layer, waits on memory for every piece:
// 2.2–3.1 ms against 1.5 ms with the weights out of the cache
// (BenchmarkLinear). A is copied once, padded to whole groups.
func panelProduct(kn *w4Kernels, c, a []float32, lda int, b []float32, ldb, rows, steps, cols int) {
	mr, nr := kn.mr, kn.nr
	padded := (rows + mr - 1) / mr * mr
	ap := getScratch(padded * steps)
	defer putScratch(ap)
	for r := range rows {
		copy(ap[r*steps:(r+1)*steps], a[r*lda:r*lda+steps])
	}
	clear(ap[rows*steps:])
	part := getScratch(rows * cols)
	defer putScratch(part)
	parallel(panelShards, func(_, lo, hi int) {
		for sh := lo; sh < hi; sh++ {
			dst := c
			if sh > 0 {
				dst = part
			}
			first := sh * steps / panelShards / panelSteps * panelSteps
			last := (sh + 1) * steps / panelShards / panelSteps * panelSteps
			if sh == panelShards-1 {
				last = steps
			}
			if first == last { // too few steps to split
				clear(dst[:rows*cols])
			}
			for s0 := first; s0 < last; s0 += panelSteps {
				n := min(panelSteps, last-s0)
				for pn := range cols / nr {
					kn.gemm(n, ap[s0:], steps, 1, b[s0*ldb+pn*nr:], ldb, dst[pn*nr:], cols, rows, s0 > first)
				}
			}
		}
	})
	parallelElems(rows*cols, func(lo, hi int) { add(c[lo:hi], part[lo:hi]) })
}
