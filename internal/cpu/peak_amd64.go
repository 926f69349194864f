//go:build !purego

package cpu

//go:noescape
func fmaAVX2(n int)

//go:noescape
func fmaAVX512(n int)

// fmaKernel returns the peak kernel of isa and the float32 operations one
// of its rounds does (a multiply-add counts two), or nil.
func fmaKernel(isa ISA) (func(n int), float64) {
	switch isa {
	case AVX2:
		return fmaAVX2, 12 * 8 * 2
	case AVX512:
		return fmaAVX512, 16 * 16 * 2
	}
	return nil, 0
}
