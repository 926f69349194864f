//go:build !amd64 || purego

package nn

// Without assembly the engine has only its Go kernels, which are for tests.
var w4KernelsAVX2, w4KernelsAVX512, w4KernelsAVX512Wide *w4Kernels

func transposeRows(dst []float32, ldd, dstUnit, dstStep int, src []float32, lds, srcUnit, srcStep, nrows, cols int) {
	transposeRowsGo(dst, ldd, dstUnit, dstStep, src, lds, srcUnit, srcStep, nrows, cols)
}

func transposeRows16(dst []float32, ldd, dstUnit, dstStep int, src []float32, lds, srcUnit, srcStep, nrows, cols int) {
	transposeRows16Go(dst, ldd, dstUnit, dstStep, src, lds, srcUnit, srcStep, nrows, cols)
}

func transposeCols16(dst []float32, ldd, dstUnit, dstStep int, src []float32, lds, srcUnit, srcStep, nrows, cols int) {
	transposeCols16Go(dst, ldd, dstUnit, dstStep, src, lds, srcUnit, srcStep, nrows, cols)
}
