//go:build !purego

#include "textflag.h"

// ROW loads 18 floats of one input row from R at byte offset SI, the
// columns of 8 consecutive tiles, splits them into the tiles' columns
// d0..d3 (2k, 2k+1, 2k+2, 2k+3) and combines those: H0 = d0−d2,
// H1 = d1+d2, H2 = d2−d1, H3 = d1−d3 (the columns of d·B).
#define ROW(R, H0, H1, H2, H3) \
	VMOVUPS 0(R)(SI*1), Y0; \
	VMOVUPS 32(R)(SI*1), Y1; \
	VMOVUPS 8(R)(SI*1), Y2; \
	VMOVUPS 40(R)(SI*1), Y3; \
	VSHUFPS $0x88, Y1, Y0, Y4; \
	VSHUFPS $0xDD, Y1, Y0, Y5; \
	VSHUFPS $0x88, Y3, Y2, Y6; \
	VSHUFPS $0xDD, Y3, Y2, Y7; \
	VPERMPD $0xD8, Y4, Y4; \
	VPERMPD $0xD8, Y5, Y5; \
	VPERMPD $0xD8, Y6, Y6; \
	VPERMPD $0xD8, Y7, Y7; \
	VSUBPS Y6, Y4, H0; \
	VADDPS Y6, Y5, H1; \
	VSUBPS Y5, Y6, H2; \
	VSUBPS Y7, Y5, H3

// func winoInputAVX2(v *float32, cl int, r0, r1, r2, r3 *float32, n int)
TEXT ·winoInputAVX2(SB), NOSPLIT, $0-56
	MOVQ v+0(FP), DI
	MOVQ cl+8(FP), BX
	SHLQ $2, BX
	MOVQ r0+16(FP), R8
	MOVQ r1+24(FP), R9
	MOVQ r2+32(FP), R10
	MOVQ r3+40(FP), R11
	MOVQ n+48(FP), CX
	SHRQ $3, CX
	JZ   indone
	LEAQ (BX)(BX*2), R12  // 3 matrices
	LEAQ (DI)(BX*4), R13  // matrices 4..7
	LEAQ (R13)(BX*4), DX  // 8..11
	LEAQ (DX)(BX*4), AX   // 12..15
	XORQ SI, SI

inloop:
	ROW(R8, Y8, Y9, Y10, Y11)
	ROW(R10, Y12, Y13, Y14, Y15)
	VSUBPS  Y12, Y8, Y0
	VMOVUPS Y0, (DI)
	VSUBPS  Y13, Y9, Y0
	VMOVUPS Y0, (DI)(BX*1)
	VSUBPS  Y14, Y10, Y0
	VMOVUPS Y0, (DI)(BX*2)
	VSUBPS  Y15, Y11, Y0
	VMOVUPS Y0, (DI)(R12*1)
	ROW(R9, Y8, Y9, Y10, Y11)
	VADDPS  Y12, Y8, Y0
	VMOVUPS Y0, (R13)
	VADDPS  Y13, Y9, Y0
	VMOVUPS Y0, (R13)(BX*1)
	VADDPS  Y14, Y10, Y0
	VMOVUPS Y0, (R13)(BX*2)
	VADDPS  Y15, Y11, Y0
	VMOVUPS Y0, (R13)(R12*1)
	VSUBPS  Y8, Y12, Y0
	VMOVUPS Y0, (DX)
	VSUBPS  Y9, Y13, Y0
	VMOVUPS Y0, (DX)(BX*1)
	VSUBPS  Y10, Y14, Y0
	VMOVUPS Y0, (DX)(BX*2)
	VSUBPS  Y11, Y15, Y0
	VMOVUPS Y0, (DX)(R12*1)
	ROW(R11, Y12, Y13, Y14, Y15)
	VSUBPS  Y12, Y8, Y0
	VMOVUPS Y0, (AX)
	VSUBPS  Y13, Y9, Y0
	VMOVUPS Y0, (AX)(BX*1)
	VSUBPS  Y14, Y10, Y0
	VMOVUPS Y0, (AX)(BX*2)
	VSUBPS  Y15, Y11, Y0
	VMOVUPS Y0, (AX)(R12*1)
	ADDQ    $64, SI
	ADDQ    $32, DI
	ADDQ    $32, R13
	ADDQ    $32, DX
	ADDQ    $32, AX
	DECQ    CX
	JNZ     inloop

indone:
	VZEROUPPER
	RET

// func winoOutputAVX2(y0, y1, m *float32, kl int, n int, bias float32, act int, slope float32)
// act: 0 none, 1 ReLU, 2 LeakyReLU (0 ≤ slope ≤ 1).
TEXT ·winoOutputAVX2(SB), NOSPLIT, $0-60
	MOVQ         y0+0(FP), R8
	MOVQ         y1+8(FP), R9
	MOVQ         m+16(FP), DI
	MOVQ         kl+24(FP), BX
	SHLQ         $2, BX
	MOVQ         n+32(FP), CX
	SHRQ         $3, CX
	JZ           outdone
	VBROADCASTSS bias+40(FP), Y15
	MOVQ         act+48(FP), R10
	VBROADCASTSS slope+56(FP), Y14
	VXORPS       Y13, Y13, Y13
	LEAQ         (BX)(BX*2), R12
	LEAQ         (DI)(BX*4), R13
	LEAQ         (R13)(BX*4), DX
	LEAQ         (DX)(BX*4), AX
	XORQ         SI, SI

outloop:
	// s_j = m0j + m1j + m2j (Y0..Y3), d_j = m1j − m2j − m3j (Y4..Y7)
	VMOVUPS (DI), Y0
	VMOVUPS (DI)(BX*1), Y1
	VMOVUPS (DI)(BX*2), Y2
	VMOVUPS (DI)(R12*1), Y3
	VMOVUPS (R13), Y4
	VMOVUPS (R13)(BX*1), Y5
	VMOVUPS (R13)(BX*2), Y6
	VMOVUPS (R13)(R12*1), Y7
	VADDPS  Y4, Y0, Y0
	VADDPS  Y5, Y1, Y1
	VADDPS  Y6, Y2, Y2
	VADDPS  Y7, Y3, Y3
	VMOVUPS (DX), Y8
	VMOVUPS (DX)(BX*1), Y9
	VMOVUPS (DX)(BX*2), Y10
	VMOVUPS (DX)(R12*1), Y11
	VADDPS  Y8, Y0, Y0
	VADDPS  Y9, Y1, Y1
	VADDPS  Y10, Y2, Y2
	VADDPS  Y11, Y3, Y3
	VSUBPS  Y8, Y4, Y4
	VSUBPS  Y9, Y5, Y5
	VSUBPS  Y10, Y6, Y6
	VSUBPS  Y11, Y7, Y7
	VMOVUPS (AX), Y8
	VMOVUPS (AX)(BX*1), Y9
	VMOVUPS (AX)(BX*2), Y10
	VMOVUPS (AX)(R12*1), Y11
	VSUBPS  Y8, Y4, Y4
	VSUBPS  Y9, Y5, Y5
	VSUBPS  Y10, Y6, Y6
	VSUBPS  Y11, Y7, Y7

	// y00 = s0+s1+s2 (Y8), y01 = s1−s2−s3 (Y9), y10 = d0+d1+d2 (Y10), y11 = d1−d2−d3 (Y11)
	VADDPS Y1, Y0, Y8
	VADDPS Y2, Y8, Y8
	VSUBPS Y2, Y1, Y9
	VSUBPS Y3, Y9, Y9
	VADDPS Y5, Y4, Y10
	VADDPS Y6, Y10, Y10
	VSUBPS Y6, Y5, Y11
	VSUBPS Y7, Y11, Y11
	VADDPS Y15, Y8, Y8
	VADDPS Y15, Y9, Y9
	VADDPS Y15, Y10, Y10
	VADDPS Y15, Y11, Y11

	CMPQ R10, $1
	JLT  store
	JGT  leaky
	// ReLU: max(0, v) with v second, so NaN propagates.
	VMAXPS Y8, Y13, Y8
	VMAXPS Y9, Y13, Y9
	VMAXPS Y10, Y13, Y10
	VMAXPS Y11, Y13, Y11
	JMP    store

leaky:
	// max(slope·v, v), v second.
	VMULPS Y14, Y8, Y0
	VMAXPS Y8, Y0, Y8
	VMULPS Y14, Y9, Y0
	VMAXPS Y9, Y0, Y9
	VMULPS Y14, Y10, Y0
	VMAXPS Y10, Y0, Y10
	VMULPS Y14, Y11, Y0
	VMAXPS Y11, Y0, Y11

store:
	// Interleave each row's two columns back into pixel order.
	VUNPCKLPS  Y9, Y8, Y0
	VUNPCKHPS  Y9, Y8, Y1
	VPERM2F128 $0x20, Y1, Y0, Y2
	VPERM2F128 $0x31, Y1, Y0, Y3
	VMOVUPS    Y2, 0(R8)(SI*1)
	VMOVUPS    Y3, 32(R8)(SI*1)
	VUNPCKLPS  Y11, Y10, Y0
	VUNPCKHPS  Y11, Y10, Y1
	VPERM2F128 $0x20, Y1, Y0, Y2
	VPERM2F128 $0x31, Y1, Y0, Y3
	VMOVUPS    Y2, 0(R9)(SI*1)
	VMOVUPS    Y3, 32(R9)(SI*1)

	ADDQ $64, SI
	ADDQ $32, DI
	ADDQ $32, R13
	ADDQ $32, DX
	ADDQ $32, AX
	DECQ CX
	JNZ  outloop

outdone:
	VZEROUPPER
	RET

// func winoGradAVX2(m *float32, kl int, g0, g1 *float32, n int)
// Writes A g Aᵀ of n 2×2 output-gradient tiles whose rows start at g0, g1.
TEXT ·winoGradAVX2(SB), NOSPLIT, $0-40
	MOVQ   m+0(FP), DI
	MOVQ   kl+8(FP), BX
	SHLQ   $2, BX
	MOVQ   g0+16(FP), R8
	MOVQ   g1+24(FP), R9
	MOVQ   n+32(FP), CX
	SHRQ   $3, CX
	JZ     graddone
	VXORPS Y15, Y15, Y15
	LEAQ   (BX)(BX*2), R12
	LEAQ   (DI)(BX*4), R13
	LEAQ   (R13)(BX*4), DX
	LEAQ   (DX)(BX*4), AX
	XORQ   SI, SI

gradloop:
	VMOVUPS 0(R8)(SI*1), Y0
	VMOVUPS 32(R8)(SI*1), Y1
	VMOVUPS 0(R9)(SI*1), Y2
	VMOVUPS 32(R9)(SI*1), Y3
	VSHUFPS $0x88, Y1, Y0, Y4   // g00
	VSHUFPS $0xDD, Y1, Y0, Y5   // g01
	VSHUFPS $0x88, Y3, Y2, Y6   // g10
	VSHUFPS $0xDD, Y3, Y2, Y7   // g11
	VPERMPD $0xD8, Y4, Y4
	VPERMPD $0xD8, Y5, Y5
	VPERMPD $0xD8, Y6, Y6
	VPERMPD $0xD8, Y7, Y7

	// Each row (p, q) of A g becomes (p, p+q, p−q, −q).
	// Row 0: (g00, g01).
	VMOVUPS Y4, (DI)
	VADDPS  Y5, Y4, Y0
	VMOVUPS Y0, (DI)(BX*1)
	VSUBPS  Y5, Y4, Y0
	VMOVUPS Y0, (DI)(BX*2)
	VSUBPS  Y5, Y15, Y0
	VMOVUPS Y0, (DI)(R12*1)

	// Row 1: (g00+g10, g01+g11).
	VADDPS  Y6, Y4, Y8
	VADDPS  Y7, Y5, Y9
	VMOVUPS Y8, (R13)
	VADDPS  Y9, Y8, Y0
	VMOVUPS Y0, (R13)(BX*1)
	VSUBPS  Y9, Y8, Y0
	VMOVUPS Y0, (R13)(BX*2)
	VSUBPS  Y9, Y15, Y0
	VMOVUPS Y0, (R13)(R12*1)

	// Row 2: (g00−g10, g01−g11).
	VSUBPS  Y6, Y4, Y8
	VSUBPS  Y7, Y5, Y9
	VMOVUPS Y8, (DX)
	VADDPS  Y9, Y8, Y0
	VMOVUPS Y0, (DX)(BX*1)
	VSUBPS  Y9, Y8, Y0
	VMOVUPS Y0, (DX)(BX*2)
	VSUBPS  Y9, Y15, Y0
	VMOVUPS Y0, (DX)(R12*1)

	// Row 3: (−g10, −g11).
	VSUBPS  Y6, Y15, Y8
	VSUBPS  Y7, Y15, Y9
	VMOVUPS Y8, (AX)
	VADDPS  Y9, Y8, Y0
	VMOVUPS Y0, (AX)(BX*1)
	VSUBPS  Y9, Y8, Y0
	VMOVUPS Y0, (AX)(BX*2)
	VMOVUPS Y7, (AX)(R12*1)

	ADDQ $64, SI
	ADDQ $32, DI
	ADDQ $32, R13
	ADDQ $32, DX
	ADDQ $32, AX
	DECQ CX
	JNZ  gradloop

graddone:
	VZEROUPPER
	RET

// The same three kernels 4 tiles wide (128-bit), for images whose rows have
// 4 to 7 tiles. In 128 bits SHUFPS splits even and odd columns by itself.

#define ROW4(R, H0, H1, H2, H3) \
	VMOVUPS 0(R)(SI*1), X0; \
	VMOVUPS 16(R)(SI*1), X1; \
	VMOVUPS 8(R)(SI*1), X2; \
	VMOVUPS 24(R)(SI*1), X3; \
	VSHUFPS $0x88, X1, X0, X4; \
	VSHUFPS $0xDD, X1, X0, X5; \
	VSHUFPS $0x88, X3, X2, X6; \
	VSHUFPS $0xDD, X3, X2, X7; \
	VSUBPS  X6, X4, H0; \
	VADDPS  X6, X5, H1; \
	VSUBPS  X5, X6, H2; \
	VSUBPS  X7, X5, H3

// func winoInput4(v *float32, cl int, r0, r1, r2, r3 *float32)
TEXT ·winoInput4(SB), NOSPLIT, $0-48
	MOVQ    v+0(FP), DI
	MOVQ    cl+8(FP), BX
	SHLQ    $2, BX
	MOVQ    r0+16(FP), R8
	MOVQ    r1+24(FP), R9
	MOVQ    r2+32(FP), R10
	MOVQ    r3+40(FP), R11
	LEAQ    (BX)(BX*2), R12
	LEAQ    (DI)(BX*4), R13
	LEAQ    (R13)(BX*4), DX
	LEAQ    (DX)(BX*4), AX
	XORQ    SI, SI
	ROW4(R8, X8, X9, X10, X11)
	ROW4(R10, X12, X13, X14, X15)
	VSUBPS  X12, X8, X0
	VMOVUPS X0, (DI)
	VSUBPS  X13, X9, X0
	VMOVUPS X0, (DI)(BX*1)
	VSUBPS  X14, X10, X0
	VMOVUPS X0, (DI)(BX*2)
	VSUBPS  X15, X11, X0
	VMOVUPS X0, (DI)(R12*1)
	ROW4(R9, X8, X9, X10, X11)
	VADDPS  X12, X8, X0
	VMOVUPS X0, (R13)
	VADDPS  X13, X9, X0
	VMOVUPS X0, (R13)(BX*1)
	VADDPS  X14, X10, X0
	VMOVUPS X0, (R13)(BX*2)
	VADDPS  X15, X11, X0
	VMOVUPS X0, (R13)(R12*1)
	VSUBPS  X8, X12, X0
	VMOVUPS X0, (DX)
	VSUBPS  X9, X13, X0
	VMOVUPS X0, (DX)(BX*1)
	VSUBPS  X10, X14, X0
	VMOVUPS X0, (DX)(BX*2)
	VSUBPS  X11, X15, X0
	VMOVUPS X0, (DX)(R12*1)
	ROW4(R11, X12, X13, X14, X15)
	VSUBPS  X12, X8, X0
	VMOVUPS X0, (AX)
	VSUBPS  X13, X9, X0
	VMOVUPS X0, (AX)(BX*1)
	VSUBPS  X14, X10, X0
	VMOVUPS X0, (AX)(BX*2)
	VSUBPS  X15, X11, X0
	VMOVUPS X0, (AX)(R12*1)
	RET

// func winoOutput4(y0, y1, m *float32, kl int, bias float32, act int, slope float32)
TEXT ·winoOutput4(SB), NOSPLIT, $0-52
	MOVQ         y0+0(FP), R8
	MOVQ         y1+8(FP), R9
	MOVQ         m+16(FP), DI
	MOVQ         kl+24(FP), BX
	SHLQ         $2, BX
	VBROADCASTSS bias+32(FP), X15
	MOVQ         act+40(FP), R10
	VBROADCASTSS slope+48(FP), X14
	VXORPS       X13, X13, X13
	LEAQ         (BX)(BX*2), R12
	LEAQ         (DI)(BX*4), R13
	LEAQ         (R13)(BX*4), DX
	LEAQ         (DX)(BX*4), AX
	VMOVUPS      (DI), X0
	VMOVUPS      (DI)(BX*1), X1
	VMOVUPS      (DI)(BX*2), X2
	VMOVUPS      (DI)(R12*1), X3
	VMOVUPS      (R13), X4
	VMOVUPS      (R13)(BX*1), X5
	VMOVUPS      (R13)(BX*2), X6
	VMOVUPS      (R13)(R12*1), X7
	VADDPS       X4, X0, X0
	VADDPS       X5, X1, X1
	VADDPS       X6, X2, X2
	VADDPS       X7, X3, X3
	VMOVUPS      (DX), X8
	VMOVUPS      (DX)(BX*1), X9
	VMOVUPS      (DX)(BX*2), X10
	VMOVUPS      (DX)(R12*1), X11
	VADDPS       X8, X0, X0
	VADDPS       X9, X1, X1
	VADDPS       X10, X2, X2
	VADDPS       X11, X3, X3
	VSUBPS       X8, X4, X4
	VSUBPS       X9, X5, X5
	VSUBPS       X10, X6, X6
	VSUBPS       X11, X7, X7
	VMOVUPS      (AX), X8
	VMOVUPS      (AX)(BX*1), X9
	VMOVUPS      (AX)(BX*2), X10
	VMOVUPS      (AX)(R12*1), X11
	VSUBPS       X8, X4, X4
	VSUBPS       X9, X5, X5
	VSUBPS       X10, X6, X6
	VSUBPS       X11, X7, X7
	VADDPS       X1, X0, X8
	VADDPS       X2, X8, X8
	VSUBPS       X2, X1, X9
	VSUBPS       X3, X9, X9
	VADDPS       X5, X4, X10
	VADDPS       X6, X10, X10
	VSUBPS       X6, X5, X11
	VSUBPS       X7, X11, X11
	VADDPS       X15, X8, X8
	VADDPS       X15, X9, X9
	VADDPS       X15, X10, X10
	VADDPS       X15, X11, X11
	CMPQ         R10, $1
	JLT          store4
	JGT          leaky4
	VMAXPS       X8, X13, X8
	VMAXPS       X9, X13, X9
	VMAXPS       X10, X13, X10
	VMAXPS       X11, X13, X11
	JMP          store4

leaky4:
	VMULPS X14, X8, X0
	VMAXPS X8, X0, X8
	VMULPS X14, X9, X0
	VMAXPS X9, X0, X9
	VMULPS X14, X10, X0
	VMAXPS X10, X0, X10
	VMULPS X14, X11, X0
	VMAXPS X11, X0, X11

store4:
	VUNPCKLPS X9, X8, X0
	VUNPCKHPS X9, X8, X1
	VMOVUPS   X0, 0(R8)
	VMOVUPS   X1, 16(R8)
	VUNPCKLPS X11, X10, X0
	VUNPCKHPS X11, X10, X1
	VMOVUPS   X0, 0(R9)
	VMOVUPS   X1, 16(R9)
	RET

// func winoGrad4(m *float32, kl int, g0, g1 *float32)
TEXT ·winoGrad4(SB), NOSPLIT, $0-32
	MOVQ    m+0(FP), DI
	MOVQ    kl+8(FP), BX
	SHLQ    $2, BX
	MOVQ    g0+16(FP), R8
	MOVQ    g1+24(FP), R9
	VXORPS  X15, X15, X15
	LEAQ    (BX)(BX*2), R12
	LEAQ    (DI)(BX*4), R13
	LEAQ    (R13)(BX*4), DX
	LEAQ    (DX)(BX*4), AX
	VMOVUPS 0(R8), X0
	VMOVUPS 16(R8), X1
	VMOVUPS 0(R9), X2
	VMOVUPS 16(R9), X3
	VSHUFPS $0x88, X1, X0, X4
	VSHUFPS $0xDD, X1, X0, X5
	VSHUFPS $0x88, X3, X2, X6
	VSHUFPS $0xDD, X3, X2, X7
	VMOVUPS X4, (DI)
	VADDPS  X5, X4, X0
	VMOVUPS X0, (DI)(BX*1)
	VSUBPS  X5, X4, X0
	VMOVUPS X0, (DI)(BX*2)
	VSUBPS  X5, X15, X0
	VMOVUPS X0, (DI)(R12*1)
	VADDPS  X6, X4, X8
	VADDPS  X7, X5, X9
	VMOVUPS X8, (R13)
	VADDPS  X9, X8, X0
	VMOVUPS X0, (R13)(BX*1)
	VSUBPS  X9, X8, X0
	VMOVUPS X0, (R13)(BX*2)
	VSUBPS  X9, X15, X0
	VMOVUPS X0, (R13)(R12*1)
	VSUBPS  X6, X4, X8
	VSUBPS  X7, X5, X9
	VMOVUPS X8, (DX)
	VADDPS  X9, X8, X0
	VMOVUPS X0, (DX)(BX*1)
	VSUBPS  X9, X8, X0
	VMOVUPS X0, (DX)(BX*2)
	VSUBPS  X9, X15, X0
	VMOVUPS X0, (DX)(R12*1)
	VSUBPS  X6, X15, X8
	VSUBPS  X7, X15, X9
	VMOVUPS X8, (AX)
	VADDPS  X9, X8, X0
	VMOVUPS X0, (AX)(BX*1)
	VSUBPS  X9, X8, X0
	VMOVUPS X0, (AX)(BX*2)
	VMOVUPS X7, (AX)(R12*1)
	RET
