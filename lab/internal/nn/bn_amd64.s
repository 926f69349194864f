//go:build !purego

#include "textflag.h"

// Reductions and element-wise passes of batch normalization and the bias
// gradient, 8 floats at a time (AVX2). They handle n &^ 7 elements; the
// callers do the rest in Go. Sums of statistics accumulate in float64.

// func sum64AVX2(x *float32, n int) float64
TEXT ·sum64AVX2(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	SHRQ   $3, CX
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	TESTQ  CX, CX
	JZ     s64done

s64loop:
	VCVTPS2PD (SI), Y1
	VCVTPS2PD 16(SI), Y2
	VADDPD    Y1, Y8, Y8
	VADDPD    Y2, Y9, Y9
	ADDQ      $32, SI
	DECQ      CX
	JNZ       s64loop

s64done:
	VADDPD       Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X0
	VADDPD       X0, X8, X8
	VHADDPD      X8, X8, X8
	VMOVSD       X8, ret+16(FP)
	VZEROUPPER
	RET

// func sqdev64AVX2(x *float32, n int, mean float64) float64
// Σ (x[i] − mean)².
TEXT ·sqdev64AVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	SHRQ         $3, CX
	VBROADCASTSD mean+16(FP), Y15
	VXORPD       Y8, Y8, Y8
	VXORPD       Y9, Y9, Y9
	TESTQ        CX, CX
	JZ           sqdone

sqloop:
	VCVTPS2PD   (SI), Y1
	VCVTPS2PD   16(SI), Y2
	VSUBPD      Y15, Y1, Y1
	VSUBPD      Y15, Y2, Y2
	VFMADD231PD Y1, Y1, Y8
	VFMADD231PD Y2, Y2, Y9
	ADDQ        $32, SI
	DECQ        CX
	JNZ         sqloop

sqdone:
	VADDPD       Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X0
	VADDPD       X0, X8, X8
	VHADDPD      X8, X8, X8
	VMOVSD       X8, ret+24(FP)
	VZEROUPPER
	RET

// func scaleShiftAVX2(y, x *float32, n int, scale, shift float32)
// y = x·scale + shift, rounded after the product as the Go loop does.
TEXT ·scaleShiftAVX2(SB), NOSPLIT, $0-32
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $3, CX
	VBROADCASTSS scale+24(FP), Y14
	VBROADCASTSS shift+28(FP), Y15
	TESTQ        CX, CX
	JZ           ssdone

ssloop:
	VMULPS  (SI), Y14, Y0
	VADDPS  Y15, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     ssloop

ssdone:
	VZEROUPPER
	RET

// func bnBackSumsAVX2(dy, x *float32, n int, mean, invstd float32) (sdy, sdyx float64)
// Σ dy and Σ dy·x̂, x̂ = (x − mean)·invstd in float32, the sums in float64.
TEXT ·bnBackSumsAVX2(SB), NOSPLIT, $0-48
	MOVQ         dy+0(FP), DX
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $3, CX
	VBROADCASTSS mean+24(FP), Y13
	VBROADCASTSS invstd+28(FP), Y14
	VXORPD       Y8, Y8, Y8
	VXORPD       Y9, Y9, Y9
	VXORPD       Y10, Y10, Y10
	VXORPD       Y11, Y11, Y11
	TESTQ        CX, CX
	JZ           bsdone

bsloop:
	VMOVUPS      (SI), Y0
	VSUBPS       Y13, Y0, Y0
	VMULPS       Y14, Y0, Y0
	VCVTPS2PD    (DX), Y2
	VCVTPS2PD    16(DX), Y4
	VCVTPS2PD    X0, Y3
	VEXTRACTF128 $1, Y0, X5
	VCVTPS2PD    X5, Y5
	VADDPD       Y2, Y8, Y8
	VADDPD       Y4, Y9, Y9
	VFMADD231PD  Y2, Y3, Y10
	VFMADD231PD  Y4, Y5, Y11
	ADDQ         $32, SI
	ADDQ         $32, DX
	DECQ         CX
	JNZ          bsloop

bsdone:
	VADDPD       Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X0
	VADDPD       X0, X8, X8
	VHADDPD      X8, X8, X8
	VMOVSD       X8, sdy+32(FP)
	VADDPD       Y11, Y10, Y10
	VEXTRACTF128 $1, Y10, X0
	VADDPD       X0, X10, X10
	VHADDPD      X10, X10, X10
	VMOVSD       X10, sdyx+40(FP)
	VZEROUPPER
	RET

// func bnBackDxAVX2(dx, dy, x *float32, n int, mean, invstd, k, a, b float32)
// dx = k·((dy − a) − x̂·b), x̂ = (x − mean)·invstd, each operation rounded
// as the Go loop does.
TEXT ·bnBackDxAVX2(SB), NOSPLIT, $0-52
	MOVQ         dx+0(FP), DI
	MOVQ         dy+8(FP), DX
	MOVQ         x+16(FP), SI
	MOVQ         n+24(FP), CX
	SHRQ         $3, CX
	VBROADCASTSS mean+32(FP), Y11
	VBROADCASTSS invstd+36(FP), Y12
	VBROADCASTSS k+40(FP), Y13
	VBROADCASTSS a+44(FP), Y14
	VBROADCASTSS b+48(FP), Y15
	TESTQ        CX, CX
	JZ           bddone

bdloop:
	VMOVUPS (SI), Y0
	VSUBPS  Y11, Y0, Y0
	VMULPS  Y12, Y0, Y0
	VMULPS  Y15, Y0, Y0
	VMOVUPS (DX), Y1
	VSUBPS  Y14, Y1, Y1
	VSUBPS  Y0, Y1, Y1
	VMULPS  Y13, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     bdloop

bddone:
	VZEROUPPER
	RET

// func sum32AVX2(x *float32, n int) float32
// Σ x[i] for i < n &^ 7 in float32, in 8 lanes (4 accumulators of 8 for
// runs of 32).
TEXT ·sum32AVX2(SB), NOSPLIT, $0-20
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   CX, DX
	SHRQ   $5, DX
	JZ     s32tail

s32loop:
	VADDPS  (SI), Y0, Y0
	VADDPS  32(SI), Y1, Y1
	VADDPS  64(SI), Y2, Y2
	VADDPS  96(SI), Y3, Y3
	ADDQ    $128, SI
	DECQ    DX
	JNZ     s32loop

s32tail:
	ANDQ $31, CX
	SHRQ $3, CX
	JZ   s32done

s32loop8:
	VADDPS (SI), Y0, Y0
	ADDQ   $32, SI
	DECQ   CX
	JNZ    s32loop8

s32done:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMOVSS       X0, ret+16(FP)
	VZEROUPPER
	RET
