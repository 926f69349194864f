package blas

// goBackend is the pure Go Sgemm.
type goBackend struct{}

func (goBackend) name() string { return "pure Go" }

func (goBackend) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gonumBackend{}.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
