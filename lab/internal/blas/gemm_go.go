package blas

import "golab/lab/internal/blas/gemm"

// goBackend is the Sgemm without OpenBLAS: package gemm's AVX2/FMA kernel
// where this build and CPU have it, else gonum's.
type goBackend struct{}

func (goBackend) name() string {
	if gemm.Available() {
		return "pure Go (AVX2/FMA kernel)"
	}
	return "pure Go (gonum)"
}

func (goBackend) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if gemm.Available() {
		gemm.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gonumBackend{}.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
