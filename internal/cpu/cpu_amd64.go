//go:build !purego

package cpu

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv0() (eax uint32)

func detect() ISA {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return Generic
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&fma == 0 || ecx1&osxsave == 0 || ecx1&avx == 0 {
		return Generic
	}
	xcr0 := xgetbv0()
	if xcr0&6 != 6 { // the OS saves XMM and YMM state
		return Generic
	}
	_, ebx7, _, _ := cpuid(7, 0)
	if ebx7&(1<<5) == 0 { // AVX2
		return Generic
	}
	const avx512f, avx512dq, avx512bw, avx512vl = 1 << 16, 1 << 17, 1 << 30, 1 << 31
	const want = avx512f | avx512dq | avx512bw | avx512vl
	// The OS must also save the opmask and the upper ZMM registers.
	if ebx7&want == want && xcr0&0xe6 == 0xe6 {
		return AVX512
	}
	return AVX2
}
