//go:build !cgo || purego

package blas

import "errors"

func loadOpenBLAS() (backend, error) {
	return nil, errors.New("built without cgo or with the purego tag")
}
