//go:build cgo && !purego

package blas

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

typedef void (*golab_sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                               const float *, int, float, float *, int);
typedef void (*golab_setthreads_fn)(int);
typedef char *(*golab_str_fn)(void);

static golab_sgemm_fn golab_sgemm_p;
static golab_setthreads_fn golab_setthreads_p;
static golab_str_fn golab_config_p, golab_corename_p;

// golab_open loads the OpenBLAS at path and resolves the symbols Sgemm
// needs. It returns 0 on success, 1 when the library could not be opened,
// 2 when it has no cblas_sgemm.
static int golab_open(const char *path) {
	// OpenBLAS 0.3.21 does not know CPUs newer than its release (Sapphire and
	// Emerald Rapids among them) and falls back to its SSE3 Prescott kernels,
	// 4x slower. Unless the user chose a core, pick one from the CPU's features
	// before the library's constructor reads OPENBLAS_CORETYPE. (x86 only:
	// the builtins do not exist on arm64, Apple Silicon included.)
#if defined(__x86_64__) || defined(__i386__)
	if (getenv("OPENBLAS_CORETYPE") == NULL) {
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		    __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
			setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
		} else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
			setenv("OPENBLAS_CORETYPE", "Haswell", 0);
		}
	}
#endif
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		return 1;
	}
	golab_sgemm_p = (golab_sgemm_fn)dlsym(h, "cblas_sgemm");
	if (golab_sgemm_p == NULL) {
		return 2;
	}
	golab_setthreads_p = (golab_setthreads_fn)dlsym(h, "openblas_set_num_threads");
	golab_config_p = (golab_str_fn)dlsym(h, "openblas_get_config");
	golab_corename_p = (golab_str_fn)dlsym(h, "openblas_get_corename");
	return 0;
}

static void golab_set_threads(int n) {
	if (golab_setthreads_p != NULL) golab_setthreads_p(n);
}

static const char *golab_config(void) {
	return golab_config_p != NULL ? golab_config_p() : "";
}

static const char *golab_corename(void) {
	return golab_corename_p != NULL ? golab_corename_p() : "";
}

static void golab_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                        const float *b, int ldb, float beta, float *c, int ldc) {
	// 101: CblasRowMajor, 111: CblasNoTrans, 112: CblasTrans.
	golab_sgemm_p(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unsafe"
)

type openBLAS struct{ desc string }

// candidates are the libraries loadOpenBLAS tries, in order: the one
// GOLAB_OPENBLAS names, the system's, a conda environment's (conda does
// not put its lib folder on the loader's path) and Homebrew's on macOS
// (keg-only, so not on the loader's path either).
var candidates = func() []string {
	var c []string
	if p := os.Getenv("GOLAB_OPENBLAS"); p != "" {
		c = append(c, p)
	}
	c = append(c, "libopenblas.so.0", "libopenblas.so", "libopenblas.dylib")
	if p := os.Getenv("CONDA_PREFIX"); p != "" {
		c = append(c, filepath.Join(p, "lib", "libopenblas.so.0"), filepath.Join(p, "lib", "libopenblas.dylib"))
	}
	if runtime.GOOS == "darwin" {
		c = append(c, "/opt/homebrew/opt/openblas/lib/libopenblas.dylib", "/usr/local/opt/openblas/lib/libopenblas.dylib")
	}
	return c
}

func loadOpenBLAS() (backend, error) {
	var loaded string
	for _, name := range candidates() {
		cs := C.CString(name)
		rc := C.golab_open(cs)
		C.free(unsafe.Pointer(cs))
		if rc == 2 {
			return nil, fmt.Errorf("%s has no cblas_sgemm", name)
		}
		if rc == 0 {
			loaded = name
			break
		}
	}
	if loaded == "" {
		return nil, errors.New("libopenblas.so.0 not found; install libopenblas0 (Debian), openblas (conda, Homebrew) or set GOLAB_OPENBLAS to the library's path")
	}
	C.golab_set_threads(1)
	cfg := strings.Fields(C.GoString(C.golab_config()))
	ver := "openblas"
	if len(cfg) >= 2 {
		ver = "openblas " + cfg[1]
	}
	return openBLAS{desc: fmt.Sprintf("%s (%s, 1 thread)", ver, C.GoString(C.golab_corename()))}, nil
}

func (o openBLAS) name() string { return o.desc }

func (openBLAS) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m > math.MaxInt32 || n > math.MaxInt32 || k > math.MaxInt32 || lda > math.MaxInt32 || ldb > math.MaxInt32 || ldc > math.MaxInt32 {
		panic("blas: Sgemm dimension overflows a C int")
	}
	var pa, pb *C.float
	if k > 0 {
		pa, pb = (*C.float)(&a[0]), (*C.float)(&b[0])
	}
	C.golab_sgemm(cbool(transA), cbool(transB), C.int(m), C.int(n), C.int(k), C.float(alpha),
		pa, C.int(lda), pb, C.int(ldb), C.float(beta), (*C.float)(&c[0]), C.int(ldc))
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
