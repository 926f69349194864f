//go:build !purego

#include "textflag.h"

// func addLeakyAVX2(out, in *float32, n int, b float32, mode int, slope float32)
// out[i] = act(in[i] + b) for i < n &^ 7; mode 0: none, 1: ReLU,
// 2: LeakyReLU with 0 < slope ≤ 1. The maxima take the value second, so
// NaN propagates.
TEXT ·addLeakyAVX2(SB), NOSPLIT, $0-44
	MOVQ         out+0(FP), DI
	MOVQ         in+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $3, CX
	JZ           aldone
	VBROADCASTSS b+24(FP), Y15
	MOVQ         mode+32(FP), R8
	VBROADCASTSS slope+40(FP), Y14
	VXORPS       Y13, Y13, Y13
	CMPQ         R8, $1
	JLT          alnone
	JGT          alleaky

alrelu:
	VADDPS  (SI), Y15, Y0
	VMAXPS  Y0, Y13, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     alrelu
	JMP     aldone

alleaky:
	VADDPS  (SI), Y15, Y0
	VMULPS  Y14, Y0, Y1
	VMAXPS  Y0, Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     alleaky
	JMP     aldone

alnone:
	VADDPS  (SI), Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     alnone

aldone:
	VZEROUPPER
	RET

// func leakyGradAVX2(dx, dy, y *float32, n int, slope float32)
// dx[i] = dy[i] where y[i] > 0, slope·dy[i] elsewhere (NaN included), for
// i < n &^ 7.
TEXT ·leakyGradAVX2(SB), NOSPLIT, $0-36
	MOVQ         dx+0(FP), DI
	MOVQ         dy+8(FP), SI
	MOVQ         y+16(FP), DX
	MOVQ         n+24(FP), CX
	SHRQ         $3, CX
	JZ           lgdone
	VBROADCASTSS slope+32(FP), Y14
	MOVL         $0x3f800000, AX
	MOVL         AX, X15
	VBROADCASTSS X15, Y15
	VXORPS       Y13, Y13, Y13

lgloop:
	VMOVUPS   (DX), Y0
	VCMPPS    $0x1e, Y13, Y0, Y1 // y > 0, false for NaN
	VBLENDVPS Y1, Y15, Y14, Y2   // 1 where y > 0, else slope
	VMULPS    (SI), Y2, Y2
	VMOVUPS   Y2, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	ADDQ      $32, DX
	DECQ      CX
	JNZ       lgloop

lgdone:
	VZEROUPPER
	RET

// func addAVX2(dst, src *float32, n int)
// dst[i] += src[i] for i < n &^ 7.
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   adddone

addloop:
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     addloop

adddone:
	VZEROUPPER
	RET

// func sgdAVX2(w, v, grad *float32, n int, lr, momentum float32, zero bool)
// v = momentum·v + g; w −= lr·v; g = 0 when zero; for i < n &^ 7. No FMA,
// so the results equal the Go loop's bit for bit.
TEXT ·sgdAVX2(SB), NOSPLIT, $0-41
	MOVQ         w+0(FP), DI
	MOVQ         v+8(FP), SI
	MOVQ         grad+16(FP), DX
	MOVQ         n+24(FP), CX
	SHRQ         $3, CX
	JZ           sgddone
	VBROADCASTSS lr+32(FP), Y15
	VBROADCASTSS momentum+36(FP), Y14
	MOVBLZX      zero+40(FP), R8
	VXORPS       Y13, Y13, Y13

sgdloop:
	VMULPS  (SI), Y14, Y0
	VADDPS  (DX), Y0, Y0
	VMOVUPS Y0, (SI)
	VMULPS  Y0, Y15, Y1
	VMOVUPS (DI), Y2
	VSUBPS  Y1, Y2, Y2
	VMOVUPS Y2, (DI)
	TESTQ   R8, R8
	JZ      sgdnext
	VMOVUPS Y13, (DX)

sgdnext:
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	DECQ CX
	JNZ  sgdloop

sgddone:
	VZEROUPPER
	RET
