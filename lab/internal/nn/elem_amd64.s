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
	VMOVD         AX, X15
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

DATA evens2<>+0(SB)/4, $0
DATA evens2<>+4(SB)/4, $2
DATA evens2<>+8(SB)/4, $4
DATA evens2<>+12(SB)/4, $6
DATA evens2<>+16(SB)/4, $8
DATA evens2<>+20(SB)/4, $10
DATA evens2<>+24(SB)/4, $12
DATA evens2<>+28(SB)/4, $14
GLOBL evens2<>(SB), RODATA|NOPTR, $32

// func pool2x2AVX2(out *float32, am *int32, r0, r1 *float32, n int, base, w int32) int
// Max-pools 2×2 windows of the rows r0, r1 (stride 2) into out, 8 at a time,
// with the plane offset of each window's first maximum (row-major order)
// in am: base + 2j + {0, 1, w, w+1}. It stops before a group of 8 holding
// a NaN or an infinity and returns how many outputs it wrote; the caller
// does the rest.
TEXT ·pool2x2AVX2(SB), NOSPLIT, $0-56
	MOVQ         out+0(FP), DI
	MOVQ         am+8(FP), R10
	MOVQ         r0+16(FP), R8
	MOVQ         r1+24(FP), R9
	MOVQ         n+32(FP), CX
	XORQ         AX, AX
	XORQ         SI, SI
	SHRQ         $3, CX
	JZ           pooldone
	MOVL         base+40(FP), DX
	VMOVD         DX, X15
	VPBROADCASTD X15, Y15
	VPADDD       evens2<>(SB), Y15, Y15 // base + 2j
	MOVL         w+44(FP), DX
	VMOVD         DX, X14
	VPBROADCASTD X14, Y14               // w
	MOVL         $1, DX
	VMOVD         DX, X13
	VPBROADCASTD X13, Y13               // 1
	VPADDD       Y13, Y14, Y12          // w + 1
	MOVL         $16, DX
	VMOVD         DX, X11
	VPBROADCASTD X11, Y11               // 16
	VXORPS       Y10, Y10, Y10          // 0

poolloop:
	VMOVUPS (R8)(SI*1), Y0
	VMOVUPS 32(R8)(SI*1), Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VSHUFPS $0xDD, Y1, Y0, Y3
	VPERMPD $0xD8, Y2, Y2        // a: top left
	VPERMPD $0xD8, Y3, Y3        // b: top right
	VMOVUPS (R9)(SI*1), Y0
	VMOVUPS 32(R9)(SI*1), Y1
	VSHUFPS $0x88, Y1, Y0, Y4
	VSHUFPS $0xDD, Y1, Y0, Y5
	VPERMPD $0xD8, Y4, Y4        // c: bottom left
	VPERMPD $0xD8, Y5, Y5        // d: bottom right

	// NaN or ±Inf in the group: leave it to Go.
	VADDPS    Y3, Y2, Y6
	VADDPS    Y4, Y6, Y6
	VADDPS    Y5, Y6, Y6
	VSUBPS    Y6, Y6, Y6
	VCMPPS    $3, Y6, Y6, Y6
	VMOVMSKPS Y6, DX
	TESTL     DX, DX
	JNZ       pooldone

	VMAXPS Y3, Y2, Y6
	VMAXPS Y5, Y4, Y7
	VMAXPS Y7, Y6, Y6            // m
	VMOVUPS Y6, (DI)

	// Offset of the first maximum: d, unless c, unless b, unless a.
	VCMPPS    $0, Y6, Y4, Y7     // c == m
	VBLENDVPS Y7, Y14, Y12, Y8
	VCMPPS    $0, Y6, Y3, Y7     // b == m
	VBLENDVPS Y7, Y13, Y8, Y8
	VCMPPS    $0, Y6, Y2, Y7     // a == m
	VBLENDVPS Y7, Y10, Y8, Y8
	VPADDD    Y15, Y8, Y8
	VMOVDQU   Y8, (R10)

	VPADDD Y11, Y15, Y15
	ADDQ   $64, SI
	ADDQ   $32, DI
	ADDQ   $32, R10
	ADDQ   $8, AX
	DECQ   CX
	JNZ    poolloop

pooldone:
	MOVQ AX, ret+48(FP)
	VZEROUPPER
	RET
