// Package blas holds the single-precision matrix multiply that the lab's
// numerical kernels are built on.
//
// Sgemm runs on OpenBLAS when it can and on pure Go otherwise:
//   - built with cgo and without the purego tag, it loads libopenblas.so.0 with
//     dlopen at first use, so neither the library nor its headers are needed to
//     build; GOLAB_OPENBLAS may name the library's path, and a conda
//     environment's ($CONDA_PREFIX/lib) is tried too; when no library loads it
//     falls back to pure Go;
//   - built with CGO_ENABLED=0 or -tags purego, it is always pure Go;
//   - GOLAB_BLAS=go in the environment picks pure Go at run time.
//
// Impl says which one is in use. OpenBLAS is kept at one thread: the lab's
// kernels parallelise over the batch themselves, and OpenBLAS's spinning
// worker threads would compete with those goroutines for the cores.
package blas

import (
	"fmt"
	"os"
	"sync"
)

// backend is one Sgemm implementation. Arguments are already checked.
type backend interface {
	sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	name() string
}

var (
	initOnce sync.Once
	active   backend
	// fallbackReason says why pure Go is in use, for Impl.
	fallbackReason string
)

func current() backend {
	initOnce.Do(func() {
		if v := os.Getenv("GOLAB_BLAS"); v == "go" || v == "purego" {
			active, fallbackReason = goBackend{}, "GOLAB_BLAS="+v
			return
		}
		b, err := loadOpenBLAS()
		if err != nil {
			active, fallbackReason = goBackend{}, err.Error()
			return
		}
		active = b
	})
	return active
}

// Impl names the implementation in use, with the reason when it is the pure Go
// fallback, for example "openblas 0.3.21 (SkylakeX, 1 thread)" or
// "pure Go (built without cgo)".
func Impl() string {
	b := current()
	if _, ok := b.(goBackend); ok {
		return b.name() + " (" + fallbackReason + ")"
	}
	return b.name()
}

// IsOpenBLAS reports whether Sgemm runs on OpenBLAS.
func IsOpenBLAS() bool {
	_, ok := current().(goBackend)
	return !ok
}

// UseGo switches Sgemm to the pure Go implementation for the rest of the
// process, for tests and benchmarks that compare the two. Call it before any
// concurrent use of Sgemm.
func UseGo() {
	current()
	active, fallbackReason = goBackend{}, "selected by UseGo"
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, where
// op(X) is X or Xᵀ as transA and transB say, op(A) is m×k, op(B) is k×n and C is
// m×n. lda, ldb and ldc are the row strides of A, B and C as stored. With beta
// 0, C is overwritten and its old contents (even NaN) are ignored.
//
// Sgemm panics when a dimension is negative, a stride is too small or a slice
// is too short: the callers are kernels whose shapes are checked upstream, so
// this is a programming error, never bad user input.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	run(current(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func run(be backend, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if err := check(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc); err != nil {
		panic(err)
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	be.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func check(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("blas: Sgemm with negative dimension m=%d n=%d k=%d", m, n, k)
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n) {
		return fmt.Errorf("blas: Sgemm stride too small: lda=%d (need ≥%d) ldb=%d (need ≥%d) ldc=%d (need ≥%d)", lda, ac, ldb, bc, ldc, n)
	}
	if m == 0 || n == 0 {
		return nil
	}
	if k > 0 && la < (ar-1)*lda+ac {
		return fmt.Errorf("blas: Sgemm A has %d elements, need %d", la, (ar-1)*lda+ac)
	}
	if k > 0 && lb < (br-1)*ldb+bc {
		return fmt.Errorf("blas: Sgemm B has %d elements, need %d", lb, (br-1)*ldb+bc)
	}
	if lc < (m-1)*ldc+n {
		return fmt.Errorf("blas: Sgemm C has %d elements, need %d", lc, (m-1)*ldc+n)
	}
	return nil
}

// scale sets C = beta·C, and C = 0 when beta is 0.
func scale(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
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
