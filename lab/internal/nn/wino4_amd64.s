//go:build !purego

#include "textflag.h"

// The prologues, which read the arguments, come first: go vet reads
// macros as part of the function above them.

#define FILTER_PROLOGUE \
	MOVQ u+0(FP), DI;       \
	MOVQ us+8(FP), BX;      \
	SHLQ $2, BX;            \
	MOVQ ustep+16(FP), R9;  \
	SHLQ $2, R9;            \
	MOVQ taps+24(FP), SI;     \
	MOVQ gs+32(FP), DX;     \
	SHLQ $2, DX;            \
	MOVQ gstep+40(FP), R8;  \
	SHLQ $2, R8;            \
	MOVQ n+48(FP), CX;      \
	LEAQ (BX)(BX*2), R10;   \
	LEAQ (BX)(BX*4), R11;   \
	LEAQ (R10)(R10*1), R14; \
	LEAQ (DX)(DX*2), R12;   \
	MOVL $0x3e800000, AX

#define FGRAD_PROLOGUE \
	MOVQ dw+0(FP), SI;      \
	MOVQ gs+8(FP), DX;      \
	SHLQ $2, DX;            \
	MOVQ gstep+16(FP), R8;  \
	SHLQ $2, R8;            \
	MOVQ du+24(FP), DI;     \
	MOVQ us+32(FP), BX;     \
	SHLQ $2, BX;            \
	MOVQ ustep+40(FP), R9;  \
	SHLQ $2, R9;            \
	MOVQ n+48(FP), CX;      \
	LEAQ (BX)(BX*2), R12;   \
	SHLQ $1, R12;           \
	LEAQ (R12)(R12*2), R13; \
	LEAQ (R12)(R12*4), R14; \
	MOVL $0x3e800000, AX

#define IN_PROLOGUE(SHIFT) \
	MOVQ v+0(FP), DI;        \
	MOVQ vs+8(FP), BX;       \
	SHLQ $2, BX;             \
	MOVQ x+16(FP), SI;       \
	MOVQ rs+24(FP), DX;      \
	SHLQ $2, DX;             \
	MOVQ c+32(FP), R8;       \
	MOVQ R8, CX;             \
	SHRQ $SHIFT, CX;         \
	SHLQ $2, R8;             \
	LEAQ (BX)(BX*2), R10;    \
	LEAQ (BX)(BX*4), R11;    \
	LEAQ (R10)(R10*1), R14;  \
	LEAQ (DX)(DX*2), R12;    \
	LEAQ (DX)(DX*4), R13;    \
	MOVL $0x40800000, AX

#define OUT_PROLOGUE(SHIFT) \
	MOVQ y+0(FP), DI;      \
	MOVQ rs+8(FP), DX;     \
	SHLQ $2, DX;           \
	MOVQ ys+16(FP), R8;    \
	SHLQ $2, R8;           \
	MOVQ m+24(FP), SI;     \
	MOVQ ms+32(FP), BX;    \
	SHLQ $2, BX;           \
	MOVQ k+40(FP), CX;     \
	SHRQ $SHIFT, CX;       \
	MOVQ bias+48(FP), R9;  \
	MOVQ act+56(FP), R15;  \
	LEAQ (R8)(R8*2), R10;  \
	LEAQ (BX)(BX*2), R12;  \
	SHLQ $1, R12;          \
	LEAQ (R12)(R12*2), R13; \
	LEAQ (R12)(R12*4), R14

#define GR_PROLOGUE(SHIFT) \
	MOVQ m+0(FP), DI;       \
	MOVQ ms+8(FP), BX;      \
	SHLQ $2, BX;            \
	MOVQ dy+16(FP), SI;      \
	MOVQ rs+24(FP), DX;     \
	SHLQ $2, DX;            \
	MOVQ k+32(FP), R8;      \
	MOVQ R8, CX;            \
	SHRQ $SHIFT, CX;        \
	SHLQ $2, R8;            \
	LEAQ (BX)(BX*2), R10;   \
	LEAQ (BX)(BX*4), R11;   \
	LEAQ (R10)(R10*1), R14; \
	LEAQ (DX)(DX*2), R12

#define GEMM_PROLOGUE \
	MOVQ a+8(FP), SI;        \
	MOVQ aRow+16(FP), R11;   \
	SHLQ $2, R11;            \
	MOVQ aStep+24(FP), R12;  \
	SHLQ $2, R12;            \
	MOVQ bStep+40(FP), R13;  \
	SHLQ $2, R13;            \
	MOVQ ldc+56(FP), BX;     \
	SHLQ $2, BX;             \
	MOVQ rows+64(FP), R14;   \
	MOVBLZX acc+72(FP), R15

// GEMM_NEXT6 moves A to the next group of six rows (SI has moved by the
// steps) and goes on with it at GROUP.
#define GEMM_NEXT6(GROUP) \
	MOVQ  steps+0(FP), AX;   \
	IMULQ R12, AX;           \
	SUBQ  AX, SI;            \
	LEAQ  (R11)(R11*2), AX;  \
	LEAQ  (SI)(AX*2), SI;    \
	SUBQ  $6, R14;           \
	JMP   GROUP

// At the start of each group of rows: the steps, B, and C at the group's
// first row (c + (rows − R14)·ldc); A's row pointers from SI, the group's
// first row.
#define GEMM_GROUP \
	MOVQ  steps+0(FP), CX;   \
	MOVQ  b+32(FP), DX;      \
	MOVQ  rows+64(FP), DI;   \
	SUBQ  R14, DI;           \
	IMULQ BX, DI;            \
	ADDQ  c+48(FP), DI;      \
	LEAQ  (R11)(R11*2), AX;  \
	LEAQ  (SI)(AX*1), R8;    \
	LEAQ  (R8)(AX*1), R9;    \
	LEAQ  (R9)(AX*1), R10


// The kernels of Winograd F(4×4, 3×3) (wino4.go), in AVX2 (8 channels per
// vector, Y registers) and AVX-512 (16, Z registers). The transforms run
// the Go kernels' operations in the same order; the multiplications by 2,
// 4 and 8 are exact, so fusing them into FMAs rounds the same and the
// results equal the Go kernels' bit for bit. Macros take the registers, so
// one text serves both widths.

// ---- input transform: v = Bᵀ d B ----
//
// Registers: SI the tile's top-left pixel (channel group), DX the row
// stride, R12 3 rows, R13 5 rows, R8 the pixel stride, R9 a column's base;
// AX the first of the six ξ a row of t goes to, BX the ξ stride, R10 3ξ,
// R11 5ξ, R14 6ξ; FOUR holds 4.

// One column of Bᵀ d, rows 0..5 of the column at P: row 0 of t into T.
#define IN_T0(P, T, X, FOUR) \
	VMOVUPS     (P), T;          \
	VSUBPS      (P)(DX*2), T, T; \
	VMOVUPS     (P)(DX*4), X;    \
	VSUBPS      (P)(DX*2), X, X; \
	VFMADD213PS X, FOUR, T

// a = d4 − 4·d2 into T, b = d3 − 4·d1 into X (rows 1, 2: a ± b).
#define IN_AB(P, T, X, FOUR) \
	VMOVUPS      (P)(DX*4), T;        \
	VFNMADD231PS (P)(DX*2), FOUR, T;  \
	VMOVUPS      (P)(R12*1), X;       \
	VFNMADD231PS (P)(DX*1), FOUR, X

// c = d4 − d2 into T, e = 2·(d3 − d1) into X (rows 3, 4: c ± e).
#define IN_CE(P, T, X) \
	VMOVUPS (P)(DX*4), T;       \
	VSUBPS  (P)(DX*2), T, T;    \
	VMOVUPS (P)(R12*1), X;      \
	VSUBPS  (P)(DX*1), X, X;    \
	VADDPS  X, X, X

// Row 5 of t: 4·(d1 − d3) + (d5 − d3).
#define IN_T5(P, T, X, FOUR) \
	VMOVUPS     (P)(DX*1), T;     \
	VSUBPS      (P)(R12*1), T, T; \
	VMOVUPS     (P)(R13*1), X;    \
	VSUBPS      (P)(R12*1), X, X; \
	VFMADD213PS X, FOUR, T

// (Bᵀ d) B of one row t0..t5 of t, stored to the six ξ from AX.
#define IN_ROW(T0, T1, T2, T3, T4, T5, A, B, C, E, X, Y, FOUR) \
	VMOVAPS      T4, A;            \
	VFNMADD231PS T2, FOUR, A;      \
	VMOVAPS      T3, B;            \
	VFNMADD231PS T1, FOUR, B;      \
	VSUBPS       T2, T4, C;        \
	VSUBPS       T1, T3, E;        \
	VADDPS       E, E, E;          \
	VSUBPS       T2, T0, X;        \
	VFMADD213PS  C, FOUR, X;       \
	VMOVUPS      X, (AX);          \
	VADDPS       B, A, X;          \
	VMOVUPS      X, (AX)(BX*1);    \
	VSUBPS       B, A, X;          \
	VMOVUPS      X, (AX)(BX*2);    \
	VADDPS       E, C, X;          \
	VMOVUPS      X, (AX)(R10*1);   \
	VSUBPS       E, C, X;          \
	VMOVUPS      X, (AX)(BX*4);    \
	VSUBPS       T3, T1, X;        \
	VSUBPS       T3, T5, Y;        \
	VFMADD213PS  Y, FOUR, X;       \
	VMOVUPS      X, (AX)(R11*1)

// The six columns of one row of t, by a column macro COL.
#define IN_COLS1(COL, T0, T1, T2, T3, T4, T5, X, FOUR) \
	MOVQ SI, R9;         \
	COL(R9, T0, X, FOUR); \
	ADDQ R8, R9;         \
	COL(R9, T1, X, FOUR); \
	ADDQ R8, R9;         \
	COL(R9, T2, X, FOUR); \
	ADDQ R8, R9;         \
	COL(R9, T3, X, FOUR); \
	ADDQ R8, R9;         \
	COL(R9, T4, X, FOUR); \
	ADDQ R8, R9;         \
	COL(R9, T5, X, FOUR)

// Rows 1 and 2 (OP = VADDPS, VSUBPS) and 3 and 4 of t.
#define IN_AB_OP(P, T, X, FOUR, OP) IN_AB(P, T, X, FOUR); OP X, T, T
#define IN_CE_OP(P, T, X, OP) IN_CE(P, T, X); OP X, T, T

#define IN_COLS_AB(OP, T0, T1, T2, T3, T4, T5, X, FOUR) \
	MOVQ SI, R9;                  \
	IN_AB_OP(R9, T0, X, FOUR, OP); \
	ADDQ R8, R9;                  \
	IN_AB_OP(R9, T1, X, FOUR, OP); \
	ADDQ R8, R9;                  \
	IN_AB_OP(R9, T2, X, FOUR, OP); \
	ADDQ R8, R9;                  \
	IN_AB_OP(R9, T3, X, FOUR, OP); \
	ADDQ R8, R9;                  \
	IN_AB_OP(R9, T4, X, FOUR, OP); \
	ADDQ R8, R9;                  \
	IN_AB_OP(R9, T5, X, FOUR, OP)

#define IN_COLS_CE(OP, T0, T1, T2, T3, T4, T5, X) \
	MOVQ SI, R9;            \
	IN_CE_OP(R9, T0, X, OP); \
	ADDQ R8, R9;            \
	IN_CE_OP(R9, T1, X, OP); \
	ADDQ R8, R9;            \
	IN_CE_OP(R9, T2, X, OP); \
	ADDQ R8, R9;            \
	IN_CE_OP(R9, T3, X, OP); \
	ADDQ R8, R9;            \
	IN_CE_OP(R9, T4, X, OP); \
	ADDQ R8, R9;            \
	IN_CE_OP(R9, T5, X, OP)

// One channel group: the six rows of t, each transformed and stored.
#define IN_GROUP(T0, T1, T2, T3, T4, T5, A, B, C, E, X, Y, FOUR) \
	MOVQ      DI, AX;                                              \
	IN_COLS1(IN_T0, T0, T1, T2, T3, T4, T5, X, FOUR);              \
	IN_ROW(T0, T1, T2, T3, T4, T5, A, B, C, E, X, Y, FOUR);        \
	ADDQ      R14, AX;                                             \
	IN_COLS_AB(VADDPS, T0, T1, T2, T3, T4, T5, X, FOUR);           \
	IN_ROW(T0, T1, T2, T3, T4, T5, A, B, C, E, X, Y, FOUR);        \
	ADDQ      R14, AX;                                             \
	IN_COLS_AB(VSUBPS, T0, T1, T2, T3, T4, T5, X, FOUR);           \
	IN_ROW(T0, T1, T2, T3, T4, T5, A, B, C, E, X, Y, FOUR);        \
	ADDQ      R14, AX;                                             \
	IN_COLS_CE(VADDPS, T0, T1, T2, T3, T4, T5, X);                 \
	IN_ROW(T0, T1, T2, T3, T4, T5, A, B, C, E, X, Y, FOUR);        \
	ADDQ      R14, AX;                                             \
	IN_COLS_CE(VSUBPS, T0, T1, T2, T3, T4, T5, X);                 \
	IN_ROW(T0, T1, T2, T3, T4, T5, A, B, C, E, X, Y, FOUR);        \
	ADDQ      R14, AX;                                             \
	IN_COLS1(IN_T5, T0, T1, T2, T3, T4, T5, X, FOUR);              \
	IN_ROW(T0, T1, T2, T3, T4, T5, A, B, C, E, X, Y, FOUR)

// func w4InputAVX2(v *float32, vs int, x *float32, rs int, c int)
TEXT ·w4InputAVX2(SB), NOSPLIT, $0-40
	IN_PROLOGUE(3)
	VMOVD        AX, X15
	VBROADCASTSS X15, Y15
	TESTQ        CX, CX
	JZ           in2done

in2loop:
	IN_GROUP(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y15)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  in2loop

in2done:
	VZEROUPPER
	RET

// func w4InputAVX512(v *float32, vs int, x *float32, rs int, c int)
TEXT ·w4InputAVX512(SB), NOSPLIT, $0-40
	IN_PROLOGUE(4)
	VMOVD        AX, X15
	VBROADCASTSS X15, Z31
	TESTQ        CX, CX
	JZ           in5done

in5loop:
	IN_GROUP(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z31)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  in5loop

in5done:
	VZEROUPPER
	RET

// ---- output transform: y = act(Aᵀ M A + bias) ----
//
// Registers: SI the tile's products (channel group), BX the ξ stride, R12
// 6ξ, R13 18ξ, R14 30ξ, R11 a column's base; DI the tile's top-left output
// pixel, DX the row stride, R8 the pixel stride (ys), R10 3 pixels, AX the
// row at hand; R9 the bias.

// Row 0 of Aᵀ M for the column at P: (m0 + (m1+m2)) + (m3+m4).
#define OUT_T0(P, T, X, Y) \
	VMOVUPS (P)(R12*1), X;    \
	VADDPS  (P)(R12*2), X, X; \
	VMOVUPS (P)(R13*1), Y;    \
	VADDPS  (P)(R12*4), Y, Y; \
	VADDPS  (P), X, T;        \
	VADDPS  Y, T, T

// q = m1 − m2 into T, s = m3 − m4 into X.
#define OUT_QS(P, T, X) \
	VMOVUPS (P)(R12*1), T;    \
	VSUBPS  (P)(R12*2), T, T; \
	VMOVUPS (P)(R13*1), X;    \
	VSUBPS  (P)(R12*4), X, X

// p = m1 + m2 into T, r = m3 + m4 into X.
#define OUT_PR(P, T, X) \
	VMOVUPS (P)(R12*1), T;    \
	VADDPS  (P)(R12*2), T, T; \
	VMOVUPS (P)(R13*1), X;    \
	VADDPS  (P)(R12*4), X, X

// Rows 1..3: q + 2s, p + 4r, (q + 8s) + m5.
#define OUT_T1(P, T, X, Y) OUT_QS(P, T, X); VFMADD231PS TWO, X, T
#define OUT_T2(P, T, X, Y) OUT_PR(P, T, X); VFMADD231PS FOUR, X, T
#define OUT_T3(P, T, X, Y) OUT_QS(P, T, X); VFMADD231PS EIGHT, X, T; VADDPS (P)(R14*1), T, T

#define OUT_COLS(COL, T0, T1, T2, T3, T4, T5, X, Y) \
	MOVQ SI, R11;        \
	COL(R11, T0, X, Y);  \
	ADDQ BX, R11;        \
	COL(R11, T1, X, Y);  \
	ADDQ BX, R11;        \
	COL(R11, T2, X, Y);  \
	ADDQ BX, R11;        \
	COL(R11, T3, X, Y);  \
	ADDQ BX, R11;        \
	COL(R11, T4, X, Y);  \
	ADDQ BX, R11;        \
	COL(R11, T5, X, Y)

// The activations, on V with the scratch register X.
#define ACT_RELU(V, X) VMAXPS V, AUX, V
#define ACT_LEAKY(V, X) VMULPS AUX, V, X; VMAXPS V, X, V

// (Aᵀ M) A of one row t0..t5, plus bias, activated, stored from AX.
#define OUT_ROW(ACT, T0, T1, T2, T3, T4, T5, P, Q, R, S, X) \
	VADDPS      T2, T1, P;       \
	VSUBPS      T2, T1, Q;       \
	VADDPS      T4, T3, R;       \
	VSUBPS      T4, T3, S;       \
	VADDPS      P, T0, X;        \
	VADDPS      R, X, X;         \
	VADDPS      BIAS, X, X;      \
	ACT(X, T0);                  \
	VMOVUPS     X, (AX);         \
	VMOVAPS     Q, X;            \
	VFMADD231PS TWO, S, X;       \
	VADDPS      BIAS, X, X;      \
	ACT(X, T0);                  \
	VMOVUPS     X, (AX)(R8*1);   \
	VFMADD231PS FOUR, R, P;      \
	VADDPS      BIAS, P, P;      \
	ACT(P, T0);                  \
	VMOVUPS     P, (AX)(R8*2);   \
	VFMADD231PS EIGHT, S, Q;     \
	VADDPS      T5, Q, Q;        \
	VADDPS      BIAS, Q, Q;      \
	ACT(Q, T0);                  \
	VMOVUPS     Q, (AX)(R10*1)

#define OUT_GROUP(ACT, T0, T1, T2, T3, T4, T5, P, Q, R, S, X) \
	MOVQ     DI, AX;                                           \
	OUT_COLS(OUT_T0, T0, T1, T2, T3, T4, T5, P, Q);            \
	OUT_ROW(ACT, T0, T1, T2, T3, T4, T5, P, Q, R, S, X);       \
	ADDQ     DX, AX;                                           \
	OUT_COLS(OUT_T1, T0, T1, T2, T3, T4, T5, P, Q);            \
	OUT_ROW(ACT, T0, T1, T2, T3, T4, T5, P, Q, R, S, X);       \
	ADDQ     DX, AX;                                           \
	OUT_COLS(OUT_T2, T0, T1, T2, T3, T4, T5, P, Q);            \
	OUT_ROW(ACT, T0, T1, T2, T3, T4, T5, P, Q, R, S, X);       \
	ADDQ     DX, AX;                                           \
	OUT_COLS(OUT_T3, T0, T1, T2, T3, T4, T5, P, Q);            \
	OUT_ROW(ACT, T0, T1, T2, T3, T4, T5, P, Q, R, S, X)

// func w4OutputAVX2(y *float32, rs, ys int, m *float32, ms int, k int, bias *float32, act int, slope float32)
// act 1 is ReLU; otherwise LeakyReLU with slope (the caller passes 1 for
// none).
#define TWO Y13
#define FOUR Y14
#define EIGHT Y15
#define AUX Y12
#define BIAS Y11
TEXT ·w4OutputAVX2(SB), NOSPLIT, $0-68
	OUT_PROLOGUE(3)
	MOVL         $0x40000000, AX
	VMOVD        AX, X13
	VBROADCASTSS X13, TWO
	MOVL         $0x40800000, AX
	VMOVD        AX, X14
	VBROADCASTSS X14, FOUR
	MOVL         $0x41000000, AX
	VMOVD        AX, X15
	VBROADCASTSS X15, EIGHT
	VBROADCASTSS slope+64(FP), AUX
	TESTQ        CX, CX
	JZ           out2done
	CMPQ         R15, $1
	JEQ          out2relu

out2leaky:
	VMOVUPS (R9), BIAS
	OUT_GROUP(ACT_LEAKY, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, R9
	DECQ    CX
	JNZ     out2leaky
	JMP     out2done

out2relu:
	VXORPS AUX, AUX, AUX

out2reluloop:
	VMOVUPS (R9), BIAS
	OUT_GROUP(ACT_RELU, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, R9
	DECQ    CX
	JNZ     out2reluloop

out2done:
	VZEROUPPER
	RET

#undef TWO
#undef FOUR
#undef EIGHT
#undef AUX
#undef BIAS
#define TWO Z27
#define FOUR Z28
#define EIGHT Z29
#define AUX Z30
#define BIAS Z31

// func w4OutputAVX512(y *float32, rs, ys int, m *float32, ms int, k int, bias *float32, act int, slope float32)
TEXT ·w4OutputAVX512(SB), NOSPLIT, $0-68
	OUT_PROLOGUE(4)
	MOVL         $0x40000000, AX
	VMOVD        AX, X13
	VBROADCASTSS X13, TWO
	MOVL         $0x40800000, AX
	VMOVD        AX, X14
	VBROADCASTSS X14, FOUR
	MOVL         $0x41000000, AX
	VMOVD        AX, X15
	VBROADCASTSS X15, EIGHT
	VBROADCASTSS slope+64(FP), AUX
	TESTQ        CX, CX
	JZ           out5done
	CMPQ         R15, $1
	JEQ          out5relu

out5leaky:
	VMOVUPS (R9), BIAS
	OUT_GROUP(ACT_LEAKY, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10)
	ADDQ    $64, SI
	ADDQ    $64, DI
	ADDQ    $64, R9
	DECQ    CX
	JNZ     out5leaky
	JMP     out5done

out5relu:
	VPXORD AUX, AUX, AUX

out5reluloop:
	VMOVUPS (R9), BIAS
	OUT_GROUP(ACT_RELU, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10)
	ADDQ    $64, SI
	ADDQ    $64, DI
	ADDQ    $64, R9
	DECQ    CX
	JNZ     out5reluloop

out5done:
	VZEROUPPER
	RET

#undef TWO
#undef FOUR
#undef EIGHT
#undef AUX
#undef BIAS

// ---- gradient transform: m = A g Aᵀ ----
//
// Registers: SI the tile's top-left gradient pixel (channel group), DX the
// row stride, R12 3 rows, R8 the pixel stride, R9 a column's base; AX the
// first of the six ξ a row goes to, BX the ξ stride, R10 3ξ, R11 5ξ, R14
// 6ξ; FOUR and EIGHT hold 4 and 8.

// Rows of A g for the column at P: g0; (g0+g2) ± (g1+g3);
// (g0 + 4·g2) ± (2·g1 + 8·g3); g3.
#define GR_T0(P, T, X, OP) VMOVUPS (P), T
#define GR_T5(P, T, X, OP) VMOVUPS (P)(R12*1), T
#define GR_EO(P, T, X, OP) \
	VMOVUPS (P), T;           \
	VADDPS  (P)(DX*2), T, T;  \
	VMOVUPS (P)(DX*1), X;     \
	VADDPS  (P)(R12*1), X, X; \
	OP      X, T, T
#define GR_E2O2(P, T, X, OP) \
	VMOVUPS      (P), T;              \
	VFMADD231PS  (P)(DX*2), FOUR, T;  \
	VMOVUPS      (P)(DX*1), X;        \
	VADDPS       X, X, X;             \
	VFMADD231PS  (P)(R12*1), EIGHT, X; \
	OP           X, T, T

#define GR_COLS(COL, OP, T0, T1, T2, T3, X) \
	MOVQ SI, R9;          \
	COL(R9, T0, X, OP);   \
	ADDQ R8, R9;          \
	COL(R9, T1, X, OP);   \
	ADDQ R8, R9;          \
	COL(R9, T2, X, OP);   \
	ADDQ R8, R9;          \
	COL(R9, T3, X, OP)

// (A g) Aᵀ of one row t0..t3, stored to the six ξ from AX.
#define GR_ROW(T0, T1, T2, T3, E, O, X) \
	VMOVUPS     T0, (AX);          \
	VADDPS      T2, T0, E;         \
	VADDPS      T3, T1, O;         \
	VADDPS      O, E, X;           \
	VMOVUPS     X, (AX)(BX*1);     \
	VSUBPS      O, E, X;           \
	VMOVUPS     X, (AX)(BX*2);     \
	VMOVAPS     T0, E;             \
	VFMADD231PS FOUR, T2, E;       \
	VADDPS      T1, T1, O;         \
	VFMADD231PS EIGHT, T3, O;      \
	VADDPS      O, E, X;           \
	VMOVUPS     X, (AX)(R10*1);    \
	VSUBPS      O, E, X;           \
	VMOVUPS     X, (AX)(BX*4);     \
	VMOVUPS     T3, (AX)(R11*1)

#define GR_GROUP(T0, T1, T2, T3, E, O, X) \
	MOVQ    DI, AX;                                 \
	GR_COLS(GR_T0, VADDPS, T0, T1, T2, T3, X);     \
	GR_ROW(T0, T1, T2, T3, E, O, X);                \
	ADDQ    R14, AX;                                \
	GR_COLS(GR_EO, VADDPS, T0, T1, T2, T3, X);     \
	GR_ROW(T0, T1, T2, T3, E, O, X);                \
	ADDQ    R14, AX;                                \
	GR_COLS(GR_EO, VSUBPS, T0, T1, T2, T3, X);     \
	GR_ROW(T0, T1, T2, T3, E, O, X);                \
	ADDQ    R14, AX;                                \
	GR_COLS(GR_E2O2, VADDPS, T0, T1, T2, T3, X);   \
	GR_ROW(T0, T1, T2, T3, E, O, X);                \
	ADDQ    R14, AX;                                \
	GR_COLS(GR_E2O2, VSUBPS, T0, T1, T2, T3, X);   \
	GR_ROW(T0, T1, T2, T3, E, O, X);                \
	ADDQ    R14, AX;                                \
	GR_COLS(GR_T5, VADDPS, T0, T1, T2, T3, X);     \
	GR_ROW(T0, T1, T2, T3, E, O, X)

// func w4GradAVX2(m *float32, ms int, dy *float32, rs int, k int)
#define FOUR Y14
#define EIGHT Y15
TEXT ·w4GradAVX2(SB), NOSPLIT, $0-40
	GR_PROLOGUE(3)
	MOVL         $0x40800000, AX
	VMOVD        AX, X14
	VBROADCASTSS X14, FOUR
	MOVL         $0x41000000, AX
	VMOVD        AX, X15
	VBROADCASTSS X15, EIGHT
	TESTQ        CX, CX
	JZ           gr2done

gr2loop:
	GR_GROUP(Y0, Y1, Y2, Y3, Y4, Y5, Y6)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  gr2loop

gr2done:
	VZEROUPPER
	RET

#undef FOUR
#undef EIGHT
#define FOUR Z30
#define EIGHT Z31

// func w4GradAVX512(m *float32, ms int, dy *float32, rs int, k int)
TEXT ·w4GradAVX512(SB), NOSPLIT, $0-40
	GR_PROLOGUE(4)
	MOVL         $0x40800000, AX
	VMOVD        AX, X14
	VBROADCASTSS X14, FOUR
	MOVL         $0x41000000, AX
	VMOVD        AX, X15
	VBROADCASTSS X15, EIGHT
	TESTQ        CX, CX
	JZ           gr5done

gr5loop:
	GR_GROUP(Z0, Z1, Z2, Z3, Z4, Z5, Z6)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  gr5loop

gr5done:
	VZEROUPPER
	RET

#undef FOUR
#undef EIGHT

// ---- the matrix-product micro-kernels ----
//
// func w4Gemm…(steps int, a *float32, aRow, aStep int, b *float32, bStep int, c *float32, ldc, rows int, acc bool)
// Blocks of mr×nr of C (6×16 AVX2, 12×32 AVX-512) in registers, down
// the rows mr at a time: at each step, nr floats of B are loaded and each
// row's value of A broadcast. Registers: CX the steps, SI, R8, R9, R10 the
// rows 0, 3, 6, 9 of the group in A, R11 A's row stride, R12 its step
// stride; DX B, R13 its step stride; DI C, BX its row stride; R14 the
// rows left, R15 acc.

#define GEMM_ROW(M, BR, B0, B1, C0, C1) \
	VBROADCASTSS M, BR;      \
	VFMADD231PS  B0, BR, C0; \
	VFMADD231PS  B1, BR, C1

// Store (or add to C and store) one row of two vectors; after the group's
// row N, or the last row, go to DONE; W is the vector width in bytes.
#define GEMM_STORE(C0, C1, W, N, DONE) \
	TESTB   R15, R15;           \
	JZ      3(PC);              \
	VADDPS  (DI), C0, C0;       \
	VADDPS  W(DI), C1, C1;      \
	VMOVUPS C0, (DI);           \
	VMOVUPS C1, W(DI);          \
	CMPQ    R14, $N;            \
	JLE     DONE;               \
	ADDQ    BX, DI

// GEMM2_STEP is one step of the AVX2 kernel's loop: B's two vectors from
// BLO and BHI, A's six rows at displacement D from their pointers.
#define GEMM2_STEP(D, BLO, BHI) \
	VMOVUPS BLO, Y12;                              \
	VMOVUPS BHI, Y13;                              \
	GEMM_ROW(D(SI), Y14, Y12, Y13, Y0, Y1);        \
	GEMM_ROW(D(SI)(R11*1), Y15, Y12, Y13, Y2, Y3); \
	GEMM_ROW(D(SI)(R11*2), Y14, Y12, Y13, Y4, Y5); \
	GEMM_ROW(D(R8), Y15, Y12, Y13, Y6, Y7);        \
	GEMM_ROW(D(R8)(R11*1), Y14, Y12, Y13, Y8, Y9); \
	GEMM_ROW(D(R8)(R11*2), Y15, Y12, Y13, Y10, Y11)

TEXT ·w4GemmAVX2(SB), NOSPLIT, $0-73
	GEMM_PROLOGUE

g2group:
	GEMM_GROUP
	VXORPS  Y0, Y0, Y0
	VXORPS  Y1, Y1, Y1
	VXORPS  Y2, Y2, Y2
	VXORPS  Y3, Y3, Y3
	VXORPS  Y4, Y4, Y4
	VXORPS  Y5, Y5, Y5
	VXORPS  Y6, Y6, Y6
	VXORPS  Y7, Y7, Y7
	VXORPS  Y8, Y8, Y8
	VXORPS  Y9, Y9, Y9
	VXORPS  Y10, Y10, Y10
	VXORPS  Y11, Y11, Y11

	// As in the AVX-512 kernel: four steps a round when A's steps are one
	// float apart, the same sums in the same order.
	CMPQ R12, $4
	JNE  g2loop
	LEAQ (R13)(R13*2), AX

g2round:
	CMPQ CX, $4
	JLT  g2rest
	GEMM2_STEP(0, (DX), 32(DX))
	GEMM2_STEP(4, (DX)(R13*1), 32(DX)(R13*1))
	GEMM2_STEP(8, (DX)(R13*2), 32(DX)(R13*2))
	GEMM2_STEP(12, (DX)(AX*1), 32(DX)(AX*1))
	ADDQ $16, SI
	ADDQ $16, R8
	LEAQ (DX)(R13*4), DX
	SUBQ $4, CX
	JMP  g2round

g2rest:
	TESTQ CX, CX
	JZ    g2stored

g2loop:
	VMOVUPS (DX), Y12
	VMOVUPS 32(DX), Y13
	GEMM_ROW((SI), Y14, Y12, Y13, Y0, Y1)
	GEMM_ROW((SI)(R11*1), Y15, Y12, Y13, Y2, Y3)
	GEMM_ROW((SI)(R11*2), Y14, Y12, Y13, Y4, Y5)
	GEMM_ROW((R8), Y15, Y12, Y13, Y6, Y7)
	GEMM_ROW((R8)(R11*1), Y14, Y12, Y13, Y8, Y9)
	GEMM_ROW((R8)(R11*2), Y15, Y12, Y13, Y10, Y11)
	ADDQ    R12, SI
	ADDQ    R12, R8
	ADDQ    R13, DX
	DECQ    CX
	JNZ     g2loop

g2stored:
	GEMM_STORE(Y0, Y1, 32, 1, g2done)
	GEMM_STORE(Y2, Y3, 32, 2, g2done)
	GEMM_STORE(Y4, Y5, 32, 3, g2done)
	GEMM_STORE(Y6, Y7, 32, 4, g2done)
	GEMM_STORE(Y8, Y9, 32, 5, g2done)
	GEMM_STORE(Y10, Y11, 32, 6, g2done)
	GEMM_NEXT6(g2group)

g2done:
	VZEROUPPER
	RET

// ZERO_ACC clears the AVX-512 kernels' 24 accumulators, Z0–Z23.
#define ZERO_ACC \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15; \
	VPXORD Z16, Z16, Z16; \
	VPXORD Z17, Z17, Z17; \
	VPXORD Z18, Z18, Z18; \
	VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; \
	VPXORD Z21, Z21, Z21; \
	VPXORD Z22, Z22, Z22; \
	VPXORD Z23, Z23, Z23

// GEMM5_STEP is one step of the AVX-512 kernel's loop: B's two vectors
// from BLO and BHI, A's twelve rows at displacement D from their pointers.
#define GEMM5_STEP(D, BLO, BHI) \
	VMOVUPS BLO, Z24;                                \
	VMOVUPS BHI, Z25;                                \
	GEMM_ROW(D(SI), Z26, Z24, Z25, Z0, Z1);          \
	GEMM_ROW(D(SI)(R11*1), Z27, Z24, Z25, Z2, Z3);   \
	GEMM_ROW(D(SI)(R11*2), Z28, Z24, Z25, Z4, Z5);   \
	GEMM_ROW(D(R8), Z29, Z24, Z25, Z6, Z7);          \
	GEMM_ROW(D(R8)(R11*1), Z26, Z24, Z25, Z8, Z9);   \
	GEMM_ROW(D(R8)(R11*2), Z27, Z24, Z25, Z10, Z11); \
	GEMM_ROW(D(R9), Z28, Z24, Z25, Z12, Z13);        \
	GEMM_ROW(D(R9)(R11*1), Z29, Z24, Z25, Z14, Z15); \
	GEMM_ROW(D(R9)(R11*2), Z26, Z24, Z25, Z16, Z17); \
	GEMM_ROW(D(R10), Z27, Z24, Z25, Z18, Z19);       \
	GEMM_ROW(D(R10)(R11*1), Z28, Z24, Z25, Z20, Z21); \
	GEMM_ROW(D(R10)(R11*2), Z29, Z24, Z25, Z22, Z23)

TEXT ·w4GemmAVX512(SB), NOSPLIT, $0-73
	GEMM_PROLOGUE

g5group:
	GEMM_GROUP
	ZERO_ACC

	// A's steps one float apart (the products' case): four steps a
	// round, A by displacement, B by bStep multiples (AX = 3·bStep), the
	// loop's pointer updates once a round. Each sum runs in the same
	// order as one step at a time, so the results are the same.
	CMPQ R12, $4
	JNE  g5loop
	LEAQ (R13)(R13*2), AX

g5round:
	CMPQ    CX, $4
	JLT     g5rest
	GEMM5_STEP(0, (DX), 64(DX))
	GEMM5_STEP(4, (DX)(R13*1), 64(DX)(R13*1))
	GEMM5_STEP(8, (DX)(R13*2), 64(DX)(R13*2))
	GEMM5_STEP(12, (DX)(AX*1), 64(DX)(AX*1))
	ADDQ    $16, SI
	ADDQ    $16, R8
	ADDQ    $16, R9
	ADDQ    $16, R10
	LEAQ    (DX)(R13*4), DX
	SUBQ    $4, CX
	JMP     g5round

g5rest:
	TESTQ CX, CX
	JZ    g5stored

g5loop:
	VMOVUPS (DX), Z24
	VMOVUPS 64(DX), Z25
	GEMM_ROW((SI), Z26, Z24, Z25, Z0, Z1)
	GEMM_ROW((SI)(R11*1), Z27, Z24, Z25, Z2, Z3)
	GEMM_ROW((SI)(R11*2), Z28, Z24, Z25, Z4, Z5)
	GEMM_ROW((R8), Z29, Z24, Z25, Z6, Z7)
	GEMM_ROW((R8)(R11*1), Z26, Z24, Z25, Z8, Z9)
	GEMM_ROW((R8)(R11*2), Z27, Z24, Z25, Z10, Z11)
	GEMM_ROW((R9), Z28, Z24, Z25, Z12, Z13)
	GEMM_ROW((R9)(R11*1), Z29, Z24, Z25, Z14, Z15)
	GEMM_ROW((R9)(R11*2), Z26, Z24, Z25, Z16, Z17)
	GEMM_ROW((R10), Z27, Z24, Z25, Z18, Z19)
	GEMM_ROW((R10)(R11*1), Z28, Z24, Z25, Z20, Z21)
	GEMM_ROW((R10)(R11*2), Z29, Z24, Z25, Z22, Z23)
	ADDQ    R12, SI
	ADDQ    R12, R8
	ADDQ    R12, R9
	ADDQ    R12, R10
	ADDQ    R13, DX
	DECQ    CX
	JNZ     g5loop

g5stored:
	GEMM_STORE(Z0, Z1, 64, 1, g5done)
	GEMM_STORE(Z2, Z3, 64, 2, g5done)
	GEMM_STORE(Z4, Z5, 64, 3, g5done)
	GEMM_STORE(Z6, Z7, 64, 4, g5done)
	GEMM_STORE(Z8, Z9, 64, 5, g5done)
	GEMM_STORE(Z10, Z11, 64, 6, g5done)
	GEMM_STORE(Z12, Z13, 64, 7, g5done)
	GEMM_STORE(Z14, Z15, 64, 8, g5done)
	GEMM_STORE(Z16, Z17, 64, 9, g5done)
	GEMM_STORE(Z18, Z19, 64, 10, g5done)
	GEMM_STORE(Z20, Z21, 64, 11, g5done)
	GEMM_STORE(Z22, Z23, 64, 12, g5done)
	// Next group: A's rows 12 further (SI has moved by the steps).
	MOVQ  steps+0(FP), AX
	IMULQ R12, AX
	SUBQ  AX, SI
	LEAQ  (R11)(R11*2), AX
	SHLQ  $2, AX
	ADDQ  AX, SI
	SUBQ  $12, R14
	JMP   g5group

g5done:
	VZEROUPPER
	RET

// ---- 8×8 transposes ----

// TR8X8 transposes the 8×8 block with rows at SI + r·BX into DI + j·DX
// (R8 = 3·BX, R9 = 3·DX, R12 = 5·DX, R13 = 6·DX), with R10, R11 and Y0–Y15.
#define TR8X8 \
	LEAQ       (SI)(BX*4), R10;     \
	VMOVUPS    (SI), Y0;            \
	VMOVUPS    (SI)(BX*1), Y1;      \
	VMOVUPS    (SI)(BX*2), Y2;      \
	VMOVUPS    (SI)(R8*1), Y3;      \
	VMOVUPS    (R10), Y4;           \
	VMOVUPS    (R10)(BX*1), Y5;     \
	VMOVUPS    (R10)(BX*2), Y6;     \
	VMOVUPS    (R10)(R8*1), Y7;     \
	VUNPCKLPS  Y1, Y0, Y8;          \
	VUNPCKHPS  Y1, Y0, Y9;          \
	VUNPCKLPS  Y3, Y2, Y10;         \
	VUNPCKHPS  Y3, Y2, Y11;         \
	VUNPCKLPS  Y5, Y4, Y12;         \
	VUNPCKHPS  Y5, Y4, Y13;         \
	VUNPCKLPS  Y7, Y6, Y14;         \
	VUNPCKHPS  Y7, Y6, Y15;         \
	VSHUFPS    $0x44, Y10, Y8, Y0;  \
	VSHUFPS    $0xEE, Y10, Y8, Y1;  \
	VSHUFPS    $0x44, Y11, Y9, Y2;  \
	VSHUFPS    $0xEE, Y11, Y9, Y3;  \
	VSHUFPS    $0x44, Y14, Y12, Y4; \
	VSHUFPS    $0xEE, Y14, Y12, Y5; \
	VSHUFPS    $0x44, Y15, Y13, Y6; \
	VSHUFPS    $0xEE, Y15, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8;   \
	VPERM2F128 $0x20, Y5, Y1, Y9;   \
	VPERM2F128 $0x20, Y6, Y2, Y10;  \
	VPERM2F128 $0x20, Y7, Y3, Y11;  \
	VPERM2F128 $0x31, Y4, Y0, Y12;  \
	VPERM2F128 $0x31, Y5, Y1, Y13;  \
	VPERM2F128 $0x31, Y6, Y2, Y14;  \
	VPERM2F128 $0x31, Y7, Y3, Y15;  \
	LEAQ       (DI)(DX*4), R11;     \
	VMOVUPS    Y8, (DI);            \
	VMOVUPS    Y9, (DI)(DX*1);      \
	VMOVUPS    Y10, (DI)(DX*2);     \
	VMOVUPS    Y11, (DI)(R9*1);     \
	VMOVUPS    Y12, (R11);          \
	VMOVUPS    Y13, (DI)(R12*1);    \
	VMOVUPS    Y14, (DI)(R13*1);    \
	VMOVUPS    Y15, (R11)(R9*1)


// ---- filter transform: U = G g Gᵀ, and its gradient dw = Gᵀ dU G ----
//
// Both run over n filters of a channel group, one per step: the 9 taps of
// filter i at g + i·gstep + tap·gs (gs may be negative: a flipped filter),
// its 36 transformed entries at u + i·ustep + ξ·us. QUARTER, HALF, SIXTH
// and MSIXTH hold ¼, ½, ⅙ and −⅙ (rounded to float32).

// G applied to a column a0, a1, a2 (registers or memory) into six: as
// w4G32.
// Row 0 of G g for the taps at P, P+3, P+6 (the column's rows 0, 1, 2
// being at P, P+GS3, P+GS6).
#define FG_T0(P, T, A, B) VMULPS (P), QUARTER, T
#define FG_T1(P, T, A, B) \
	VMOVUPS (P), T;          \
	VADDPS  (P)(R12*2), T, T; \
	VADDPS  (P)(R12*1), T, T; \
	VMULPS  MSIXTH, T, T
#define FG_T2(P, T, A, B) \
	VMOVUPS (P), T;          \
	VADDPS  (P)(R12*2), T, T; \
	VSUBPS  (P)(R12*1), T, T; \
	VMULPS  MSIXTH, T, T
#define FG_AB(P, A, B) \
	VMOVUPS     (P)(R12*2), A;      \
	VFMADD231PS (P), QUARTER, A;    \
	VMULPS      (P)(R12*1), HALF, B
#define FG_T3(P, T, A, B) FG_AB(P, A, B); VADDPS B, A, T; VMULPS SIXTH, T, T
#define FG_T4(P, T, A, B) FG_AB(P, A, B); VSUBPS B, A, T; VMULPS SIXTH, T, T
#define FG_T5(P, T, A, B) VMOVUPS (P)(R12*2), T

// The three columns of one row of G g: columns at SI, R13 = SI+GS and
// R15 = SI+2GS.
#define FG_COLS(COL, T0, T1, T2, A, B) \
	COL(SI, T0, A, B);  \
	COL(R13, T1, A, B); \
	COL(R15, T2, A, B)

// (G g) Gᵀ of one row t0, t1, t2, stored to the six ξ from AX.
#define FG_ROW(T0, T1, T2, S, A, B, X) \
	VMULPS      QUARTER, T0, X;     \
	VMOVUPS     X, (AX);            \
	VADDPS      T2, T0, S;          \
	VADDPS      T1, S, X;           \
	VMULPS      MSIXTH, X, X;       \
	VMOVUPS     X, (AX)(BX*1);      \
	VSUBPS      T1, S, X;           \
	VMULPS      MSIXTH, X, X;       \
	VMOVUPS     X, (AX)(BX*2);      \
	VMOVAPS     T2, A;              \
	VFMADD231PS QUARTER, T0, A;     \
	VMULPS      HALF, T1, B;        \
	VADDPS      B, A, X;            \
	VMULPS      SIXTH, X, X;        \
	VMOVUPS     X, (AX)(R10*1);     \
	VSUBPS      B, A, X;            \
	VMULPS      SIXTH, X, X;        \
	VMOVUPS     X, (AX)(BX*4);      \
	VMOVUPS     T2, (AX)(R11*1)

#define FG_STEP(T0, T1, T2, S, A, B, X) \
	LEAQ    (SI)(DX*1), R13;                 \
	LEAQ    (SI)(DX*2), R15;                 \
	MOVQ    DI, AX;                          \
	FG_COLS(FG_T0, T0, T1, T2, A, B);        \
	FG_ROW(T0, T1, T2, S, A, B, X);          \
	ADDQ    R14, AX;                         \
	FG_COLS(FG_T1, T0, T1, T2, A, B);        \
	FG_ROW(T0, T1, T2, S, A, B, X);          \
	ADDQ    R14, AX;                         \
	FG_COLS(FG_T2, T0, T1, T2, A, B);        \
	FG_ROW(T0, T1, T2, S, A, B, X);          \
	ADDQ    R14, AX;                         \
	FG_COLS(FG_T3, T0, T1, T2, A, B);        \
	FG_ROW(T0, T1, T2, S, A, B, X);          \
	ADDQ    R14, AX;                         \
	FG_COLS(FG_T4, T0, T1, T2, A, B);        \
	FG_ROW(T0, T1, T2, S, A, B, X);          \
	ADDQ    R14, AX;                         \
	FG_COLS(FG_T5, T0, T1, T2, A, B);        \
	FG_ROW(T0, T1, T2, S, A, B, X)

#define QUARTER Y12
#define HALF Y13
#define SIXTH Y14
#define MSIXTH Y15

// func w4FilterAVX2(u *float32, us, ustep int, taps *float32, gs, gstep int, n int)
TEXT ·w4FilterAVX2(SB), NOSPLIT, $0-56
	FILTER_PROLOGUE
	VMOVD        AX, X12
	VBROADCASTSS X12, QUARTER
	MOVL         $0x3f000000, AX
	VMOVD        AX, X13
	VBROADCASTSS X13, HALF
	MOVL         $0x3e2aaaab, AX
	VMOVD        AX, X14
	VBROADCASTSS X14, SIXTH
	MOVL         $0xbe2aaaab, AX
	VMOVD        AX, X15
	VBROADCASTSS X15, MSIXTH
	TESTQ        CX, CX
	JZ           fg2done

fg2loop:
	FG_STEP(Y0, Y1, Y2, Y3, Y4, Y5, Y6)
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  fg2loop

fg2done:
	VZEROUPPER
	RET

#undef QUARTER
#undef HALF
#undef SIXTH
#undef MSIXTH
#define QUARTER Z28
#define HALF Z29
#define SIXTH Z30
#define MSIXTH Z31

// func w4FilterAVX512(u *float32, us, ustep int, taps *float32, gs, gstep int, n int)
TEXT ·w4FilterAVX512(SB), NOSPLIT, $0-56
	FILTER_PROLOGUE
	VMOVD        AX, X12
	VBROADCASTSS X12, QUARTER
	MOVL         $0x3f000000, AX
	VMOVD        AX, X13
	VBROADCASTSS X13, HALF
	MOVL         $0x3e2aaaab, AX
	VMOVD        AX, X14
	VBROADCASTSS X14, SIXTH
	MOVL         $0xbe2aaaab, AX
	VMOVD        AX, X15
	VBROADCASTSS X15, MSIXTH
	TESTQ        CX, CX
	JZ           fg5done

fg5loop:
	FG_STEP(Z0, Z1, Z2, Z3, Z4, Z5, Z6)
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  fg5loop

fg5done:
	VZEROUPPER
	RET

#undef QUARTER
#undef HALF
#undef SIXTH
#undef MSIXTH

// Gᵀ applied along a column of dU: rows 0..2 of Gᵀ dU for the column at
// P (its six entries at P + r·6ξ: offsets 0, R12, 2R12, R13, 4R12, R14).
// p = u1+u2, q = u2−u1, r = u3+u4, s = u3−u4; as w4GT32.
#define GT_PR(P, A, B) \
	VMOVUPS (P)(R12*1), A;    \
	VADDPS  (P)(R12*2), A, A; \
	VMOVUPS (P)(R13*1), B;    \
	VADDPS  (P)(R12*4), B, B
#define GT_T0(P, T, A, B) \
	GT_PR(P, A, B);             \
	VMULPS      QUARTER, B, B;  \
	VSUBPS      A, B, B;        \
	VMULPS      SIXTH, B, B;    \
	VMULPS      (P), QUARTER, T; \
	VADDPS      B, T, T
#define GT_T1(P, T, A, B) \
	VMOVUPS     (P)(R12*2), T;    \
	VSUBPS      (P)(R12*1), T, T; \
	VMOVUPS     (P)(R13*1), A;    \
	VSUBPS      (P)(R12*4), A, A; \
	VFMADD231PS HALF, A, T;       \
	VMULPS      SIXTH, T, T
#define GT_T2(P, T, A, B) \
	GT_PR(P, A, B);          \
	VSUBPS A, B, T;          \
	VMULPS SIXTH, T, T;      \
	VADDPS (P)(R14*1), T, T

#define GT_COLS(COL, T0, T1, T2, T3, T4, T5, A, B) \
	MOVQ DI, R11;        \
	COL(R11, T0, A, B);  \
	ADDQ BX, R11;        \
	COL(R11, T1, A, B);  \
	ADDQ BX, R11;        \
	COL(R11, T2, A, B);  \
	ADDQ BX, R11;        \
	COL(R11, T3, A, B);  \
	ADDQ BX, R11;        \
	COL(R11, T4, A, B);  \
	ADDQ BX, R11;        \
	COL(R11, T5, A, B)

// (Gᵀ dU) G of one row t0..t5, stored to the three taps from AX (tap
// stride DX).
#define GT_ROW(T0, T1, T2, T3, T4, T5, P, Q, R, S) \
	VADDPS      T2, T1, P;        \
	VSUBPS      T1, T2, Q;        \
	VADDPS      T4, T3, R;        \
	VSUBPS      T4, T3, S;        \
	VMULPS      QUARTER, R, T3;   \
	VSUBPS      P, T3, T3;        \
	VMULPS      SIXTH, T3, T3;    \
	VMULPS      QUARTER, T0, T0;  \
	VADDPS      T3, T0, T0;       \
	VMOVUPS     T0, (AX);         \
	VFMADD231PS HALF, S, Q;       \
	VMULPS      SIXTH, Q, Q;      \
	VMOVUPS     Q, (AX)(DX*1);    \
	VSUBPS      P, R, R;          \
	VMULPS      SIXTH, R, R;      \
	VADDPS      T5, R, R;         \
	VMOVUPS     R, (AX)(DX*2)

#define GT_STEP(T0, T1, T2, T3, T4, T5, P, Q, R, S) \
	MOVQ    SI, AX;                                           \
	GT_COLS(GT_T0, T0, T1, T2, T3, T4, T5, P, Q);             \
	GT_ROW(T0, T1, T2, T3, T4, T5, P, Q, R, S);               \
	LEAQ    (SI)(DX*2), AX;                                   \
	ADDQ    DX, AX;                                           \
	GT_COLS(GT_T1, T0, T1, T2, T3, T4, T5, P, Q);             \
	GT_ROW(T0, T1, T2, T3, T4, T5, P, Q, R, S);               \
	LEAQ    (SI)(DX*4), AX;                                   \
	LEAQ    (AX)(DX*2), AX;                                   \
	GT_COLS(GT_T2, T0, T1, T2, T3, T4, T5, P, Q);             \
	GT_ROW(T0, T1, T2, T3, T4, T5, P, Q, R, S)

#define QUARTER Y12
#define HALF Y13
#define SIXTH Y14

// func w4FilterGradAVX2(dw *float32, gs, gstep int, du *float32, us, ustep int, n int)
// For i < n: dw[i·gstep + tap·gs] = (Gᵀ dU G)[tap] of dU[ξ] = du[i·ustep + ξ·us].
TEXT ·w4FilterGradAVX2(SB), NOSPLIT, $0-56
	FGRAD_PROLOGUE
	VMOVD        AX, X12
	VBROADCASTSS X12, QUARTER
	MOVL         $0x3f000000, AX
	VMOVD        AX, X13
	VBROADCASTSS X13, HALF
	MOVL         $0x3e2aaaab, AX
	VMOVD        AX, X14
	VBROADCASTSS X14, SIXTH
	TESTQ        CX, CX
	JZ           gt2done

gt2loop:
	GT_STEP(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9)
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  gt2loop

gt2done:
	VZEROUPPER
	RET

#undef QUARTER
#undef HALF
#undef SIXTH
#define QUARTER Z28
#define HALF Z29
#define SIXTH Z30

// func w4FilterGradAVX512(dw *float32, gs, gstep int, du *float32, us, ustep int, n int)
TEXT ·w4FilterGradAVX512(SB), NOSPLIT, $0-56
	FGRAD_PROLOGUE
	VMOVD        AX, X12
	VBROADCASTSS X12, QUARTER
	MOVL         $0x3f000000, AX
	VMOVD        AX, X13
	VBROADCASTSS X13, HALF
	MOVL         $0x3e2aaaab, AX
	VMOVD        AX, X14
	VBROADCASTSS X14, SIXTH
	TESTQ        CX, CX
	JZ           gt5done

gt5loop:
	GT_STEP(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9)
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  gt5loop

gt5done:
	VZEROUPPER
	RET

#undef QUARTER
#undef HALF
#undef SIXTH

// ---- AVX-512 micro-kernel of 6×64 ----
//
// Blocks of 6 rows by 64 columns (four vectors): per step four vectors of
// B and six broadcasts for 24 multiply-adds, where the 12×32 kernel needs
// two and twelve. Broadcasts cost this machine's load ports more than the
// loads (BenchmarkW4Gemm), so the wider block runs closer to the peak.
// Registers as in the 12×32 kernel, with SI and R8 rows 0 and 3.

#define GEMM_ROW4(M, BR, C0, C1, C2, C3) \
	VBROADCASTSS M, BR;       \
	VFMADD231PS  Z24, BR, C0; \
	VFMADD231PS  Z25, BR, C1; \
	VFMADD231PS  Z26, BR, C2; \
	VFMADD231PS  Z27, BR, C3

#define GEMM6_STEP(D, B0, B1, B2, B3) \
	VMOVUPS B0, Z24;                                     \
	VMOVUPS B1, Z25;                                     \
	VMOVUPS B2, Z26;                                     \
	VMOVUPS B3, Z27;                                     \
	GEMM_ROW4(D(SI), Z28, Z0, Z1, Z2, Z3);               \
	GEMM_ROW4(D(SI)(R11*1), Z29, Z4, Z5, Z6, Z7);        \
	GEMM_ROW4(D(SI)(R11*2), Z30, Z8, Z9, Z10, Z11);      \
	GEMM_ROW4(D(R8), Z31, Z12, Z13, Z14, Z15);           \
	GEMM_ROW4(D(R8)(R11*1), Z28, Z16, Z17, Z18, Z19);    \
	GEMM_ROW4(D(R8)(R11*2), Z29, Z20, Z21, Z22, Z23)

#define GEMM_STORE4(C0, C1, C2, C3, N, DONE) \
	TESTB   R15, R15;           \
	JZ      5(PC);              \
	VADDPS  (DI), C0, C0;       \
	VADDPS  64(DI), C1, C1;     \
	VADDPS  128(DI), C2, C2;    \
	VADDPS  192(DI), C3, C3;    \
	VMOVUPS C0, (DI);           \
	VMOVUPS C1, 64(DI);         \
	VMOVUPS C2, 128(DI);        \
	VMOVUPS C3, 192(DI);        \
	CMPQ    R14, $N;            \
	JLE     DONE;               \
	ADDQ    BX, DI

// func w4Gemm64AVX512(steps int, a *float32, aRow, aStep int, b *float32, bStep int, c *float32, ldc, rows int, acc bool)
TEXT ·w4Gemm64AVX512(SB), NOSPLIT, $0-73
	GEMM_PROLOGUE

g6group:
	GEMM_GROUP
	ZERO_ACC

	CMPQ R12, $4
	JNE  g6loop
	LEAQ (R13)(R13*2), AX

g6round:
	CMPQ CX, $4
	JLT  g6rest
	GEMM6_STEP(0, (DX), 64(DX), 128(DX), 192(DX))
	GEMM6_STEP(4, (DX)(R13*1), 64(DX)(R13*1), 128(DX)(R13*1), 192(DX)(R13*1))
	GEMM6_STEP(8, (DX)(R13*2), 64(DX)(R13*2), 128(DX)(R13*2), 192(DX)(R13*2))
	GEMM6_STEP(12, (DX)(AX*1), 64(DX)(AX*1), 128(DX)(AX*1), 192(DX)(AX*1))
	ADDQ $16, SI
	ADDQ $16, R8
	LEAQ (DX)(R13*4), DX
	SUBQ $4, CX
	JMP  g6round

g6rest:
	TESTQ CX, CX
	JZ    g6stored

g6loop:
	GEMM6_STEP(0, (DX), 64(DX), 128(DX), 192(DX))
	ADDQ R12, SI
	ADDQ R12, R8
	ADDQ R13, DX
	DECQ CX
	JNZ  g6loop

g6stored:
	GEMM_STORE4(Z0, Z1, Z2, Z3, 1, g6done)
	GEMM_STORE4(Z4, Z5, Z6, Z7, 2, g6done)
	GEMM_STORE4(Z8, Z9, Z10, Z11, 3, g6done)
	GEMM_STORE4(Z12, Z13, Z14, Z15, 4, g6done)
	GEMM_STORE4(Z16, Z17, Z18, Z19, 5, g6done)
	GEMM_STORE4(Z20, Z21, Z22, Z23, 6, g6done)
	GEMM_NEXT6(g6group)

g6done:
	VZEROUPPER
	RET

// ---- 16×8 transposes (AVX-512) ----
//
// Sixteen rows of eight floats (channels of an NCHW image, eight pixels
// each) become eight rows of sixteen: each store fills a whole cache line
// of a channels-last strip, where the 8×8 transposes fill half lines
// (BenchmarkTranspose). Rows r and r+8 share a Z register, one per 256-bit
// half, and both halves go through the 8×8 network of TR8X8 at once; its
// last step, across 128-bit lanes, is a two-register permutation.

DATA tr16idx<>+0(SB)/4, $0
DATA tr16idx<>+4(SB)/4, $1
DATA tr16idx<>+8(SB)/4, $2
DATA tr16idx<>+12(SB)/4, $3
DATA tr16idx<>+16(SB)/4, $16
DATA tr16idx<>+20(SB)/4, $17
DATA tr16idx<>+24(SB)/4, $18
DATA tr16idx<>+28(SB)/4, $19
DATA tr16idx<>+32(SB)/4, $8
DATA tr16idx<>+36(SB)/4, $9
DATA tr16idx<>+40(SB)/4, $10
DATA tr16idx<>+44(SB)/4, $11
DATA tr16idx<>+48(SB)/4, $24
DATA tr16idx<>+52(SB)/4, $25
DATA tr16idx<>+56(SB)/4, $26
DATA tr16idx<>+60(SB)/4, $27
DATA tr16idx<>+64(SB)/4, $4
DATA tr16idx<>+68(SB)/4, $5
DATA tr16idx<>+72(SB)/4, $6
DATA tr16idx<>+76(SB)/4, $7
DATA tr16idx<>+80(SB)/4, $20
DATA tr16idx<>+84(SB)/4, $21
DATA tr16idx<>+88(SB)/4, $22
DATA tr16idx<>+92(SB)/4, $23
DATA tr16idx<>+96(SB)/4, $12
DATA tr16idx<>+100(SB)/4, $13
DATA tr16idx<>+104(SB)/4, $14
DATA tr16idx<>+108(SB)/4, $15
DATA tr16idx<>+112(SB)/4, $28
DATA tr16idx<>+116(SB)/4, $29
DATA tr16idx<>+120(SB)/4, $30
DATA tr16idx<>+124(SB)/4, $31
GLOBL tr16idx<>(SB), RODATA|NOPTR, $128

// TR16X8 transposes the 16×8 block with rows at SI + r·BX into the 8×16
// block at DI + j·DX (R8 = 3·BX, R9 = 3·DX; Z30, Z31 the permutations),
// with R10–R13 and Z0–Z23.
#define TR16X8 \
	LEAQ          (SI)(BX*4), R10;        \
	LEAQ          (SI)(BX*8), R11;        \
	LEAQ          (R10)(BX*8), R12;       \
	VMOVUPS       (SI), Y0;               \
	VMOVUPS       (SI)(BX*1), Y1;         \
	VMOVUPS       (SI)(BX*2), Y2;         \
	VMOVUPS       (SI)(R8*1), Y3;         \
	VMOVUPS       (R10), Y4;              \
	VMOVUPS       (R10)(BX*1), Y5;        \
	VMOVUPS       (R10)(BX*2), Y6;        \
	VMOVUPS       (R10)(R8*1), Y7;        \
	VINSERTF64X4  $1, (R11), Z0, Z0;      \
	VINSERTF64X4  $1, (R11)(BX*1), Z1, Z1; \
	VINSERTF64X4  $1, (R11)(BX*2), Z2, Z2; \
	VINSERTF64X4  $1, (R11)(R8*1), Z3, Z3; \
	VINSERTF64X4  $1, (R12), Z4, Z4;      \
	VINSERTF64X4  $1, (R12)(BX*1), Z5, Z5; \
	VINSERTF64X4  $1, (R12)(BX*2), Z6, Z6; \
	VINSERTF64X4  $1, (R12)(R8*1), Z7, Z7; \
	TR8X8Z;                               \
	LEAQ          (DI)(DX*4), R13;        \
	VMOVUPS       Z16, (DI);              \
	VMOVUPS       Z17, (DI)(DX*1);        \
	VMOVUPS       Z18, (DI)(DX*2);        \
	VMOVUPS       Z19, (DI)(R9*1);        \
	VMOVUPS       Z20, (R13);             \
	VMOVUPS       Z21, (R13)(DX*1);       \
	VMOVUPS       Z22, (R13)(DX*2);       \
	VMOVUPS       Z23, (R13)(R9*1)

// TR8X8Z transposes the 8×8 blocks in both halves of Z0–Z7 (row r of
// each in Zr) into Z16–Z23 (column j in Z16+j).
#define TR8X8Z \
	VUNPCKLPS  Z1, Z0, Z8;        \
	VUNPCKHPS  Z1, Z0, Z9;        \
	VUNPCKLPS  Z3, Z2, Z10;       \
	VUNPCKHPS  Z3, Z2, Z11;       \
	VUNPCKLPS  Z5, Z4, Z12;       \
	VUNPCKHPS  Z5, Z4, Z13;       \
	VUNPCKLPS  Z7, Z6, Z14;       \
	VUNPCKHPS  Z7, Z6, Z15;       \
	VSHUFPS    $0x44, Z10, Z8, Z0; \
	VSHUFPS    $0xEE, Z10, Z8, Z1; \
	VSHUFPS    $0x44, Z11, Z9, Z2; \
	VSHUFPS    $0xEE, Z11, Z9, Z3; \
	VSHUFPS    $0x44, Z14, Z12, Z4; \
	VSHUFPS    $0xEE, Z14, Z12, Z5; \
	VSHUFPS    $0x44, Z15, Z13, Z6; \
	VSHUFPS    $0xEE, Z15, Z13, Z7; \
	VMOVAPS    Z0, Z16;           \
	VPERMT2PS  Z4, Z30, Z16;      \
	VMOVAPS    Z1, Z17;           \
	VPERMT2PS  Z5, Z30, Z17;      \
	VMOVAPS    Z2, Z18;           \
	VPERMT2PS  Z6, Z30, Z18;      \
	VMOVAPS    Z3, Z19;           \
	VPERMT2PS  Z7, Z30, Z19;      \
	VMOVAPS    Z0, Z20;           \
	VPERMT2PS  Z4, Z31, Z20;      \
	VMOVAPS    Z1, Z21;           \
	VPERMT2PS  Z5, Z31, Z21;      \
	VMOVAPS    Z2, Z22;           \
	VPERMT2PS  Z6, Z31, Z22;      \
	VMOVAPS    Z3, Z23;           \
	VPERMT2PS  Z7, Z31, Z23

// TR8X16 transposes the 8×16 block with rows at SI + r·BX into the 16×8
// block at DI + j·DX (R8 = 3·BX, R9 = 3·DX; Z30, Z31 the permutations),
// with R10–R13 and Z0–Z23: the way back from a strip to NCHW planes.
#define TR8X16 \
	LEAQ          (SI)(BX*4), R10;        \
	VMOVUPS       (SI), Z0;               \
	VMOVUPS       (SI)(BX*1), Z1;         \
	VMOVUPS       (SI)(BX*2), Z2;         \
	VMOVUPS       (SI)(R8*1), Z3;         \
	VMOVUPS       (R10), Z4;              \
	VMOVUPS       (R10)(BX*1), Z5;        \
	VMOVUPS       (R10)(BX*2), Z6;        \
	VMOVUPS       (R10)(R8*1), Z7;        \
	TR8X8Z;                               \
	LEAQ          (DI)(DX*4), R13;        \
	LEAQ          (DI)(DX*8), R11;        \
	LEAQ          (R13)(DX*8), R12;       \
	VMOVUPS       Y16, (DI);              \
	VMOVUPS       Y17, (DI)(DX*1);        \
	VMOVUPS       Y18, (DI)(DX*2);        \
	VMOVUPS       Y19, (DI)(R9*1);        \
	VMOVUPS       Y20, (R13);             \
	VMOVUPS       Y21, (R13)(DX*1);       \
	VMOVUPS       Y22, (R13)(DX*2);       \
	VMOVUPS       Y23, (R13)(R9*1);       \
	VEXTRACTF64X4 $1, Z16, (R11);         \
	VEXTRACTF64X4 $1, Z17, (R11)(DX*1);   \
	VEXTRACTF64X4 $1, Z18, (R11)(DX*2);   \
	VEXTRACTF64X4 $1, Z19, (R11)(R9*1);   \
	VEXTRACTF64X4 $1, Z20, (R12);         \
	VEXTRACTF64X4 $1, Z21, (R12)(DX*1);   \
	VEXTRACTF64X4 $1, Z22, (R12)(DX*2);   \
	VEXTRACTF64X4 $1, Z23, (R12)(R9*1)

// func transposeAsm(dst *float32, ldd, dstUnit, dstStep int, src *float32, lds, srcUnit, srcStep int, nrows, cols, kind int)
// For each of nrows rows i, and each block along cols (cols ≥ 8; the last
// block overlaps the one before when cols is not a multiple of 8) at
// position p: the block's source row r is at src + i·srcStep + p·srcUnit +
// r·lds, and its destination row j at dst + i·dstStep + p·dstUnit + j·ldd:
// dst row j, element r = src row r, element j. Strides in floats. The
// blocks: kind 0 8×8 (TR8X8, AVX2), 1 16 rows by 8 (TR16X8), 2 8 rows by 16
// (TR8X16), both AVX-512.
TEXT ·transposeAsm(SB), NOSPLIT, $0-88
	MOVQ  kind+80(FP), CX
	TESTQ CX, CX
	JZ    trsetup
	VMOVUPS tr16idx<>+0(SB), Z30
	VMOVUPS tr16idx<>+64(SB), Z31

trsetup:
	MOVQ  ldd+8(FP), DX
	SHLQ  $2, DX
	MOVQ  lds+40(FP), BX
	SHLQ  $2, BX
	LEAQ  (BX)(BX*2), R8  // 3 src rows
	LEAQ  (DX)(DX*2), R9  // 3 dst rows
	LEAQ  (DX)(DX*4), R12 // 5 dst rows (TR8X8; the others use R12, R13 as scratch)
	LEAQ  (R9)(R9*1), R13 // 6 dst rows
	MOVQ  nrows+64(FP), R14
	TESTQ R14, R14
	JZ    trdone
	MOVQ  dst+0(FP), R15  // row i's dst and src
	MOVQ  src+32(FP), AX

trrow:
	MOVQ R15, DI
	MOVQ AX, SI
	MOVQ cols+72(FP), CX
	SHRQ $3, CX

trloop:
	CMPQ kind+80(FP), $1
	JEQ  trb16
	JGT  trb816
	TR8X8
	JMP  trstep

trb16:
	TR16X8
	JMP trstep

trb816:
	TR8X16

trstep:
	MOVQ srcUnit+48(FP), R10
	SHLQ $5, R10
	ADDQ R10, SI
	MOVQ dstUnit+16(FP), R10
	SHLQ $5, R10
	ADDQ R10, DI
	DECQ CX
	JNZ  trloop
	// The last, overlapping block: back by 8 − cols%8 positions.
	MOVQ  cols+72(FP), CX
	ANDQ  $7, CX
	JZ    trnext
	NEGQ  CX
	ADDQ  $8, CX
	MOVQ  CX, R10
	IMULQ srcUnit+48(FP), R10
	SHLQ  $2, R10
	SUBQ  R10, SI
	MOVQ  CX, R10
	IMULQ dstUnit+16(FP), R10
	SHLQ  $2, R10
	SUBQ  R10, DI
	CMPQ  kind+80(FP), $1
	JEQ   trl16
	JGT   trl816
	TR8X8
	JMP   trnext

trl16:
	TR16X8
	JMP trnext

trl816:
	TR8X16

trnext:
	MOVQ srcStep+56(FP), R10
	LEAQ (AX)(R10*4), AX
	MOVQ dstStep+24(FP), R10
	LEAQ (R15)(R10*4), R15
	DECQ R14
	JNZ  trrow

trdone:
	VZEROUPPER
	RET

// ---- the adjoint of the input transform: x += B M Bᵀ (AVX-512) ----
//
// The input gradient over the forward pass's tiles: M is the gradient of a
// tile's transformed input, B M Bᵀ that of its 6×6 input, added into the
// overlapping windows. B is applied to M's columns into a 6×6 block of
// vectors on the stack, then to that block's rows, in the Go kernel's
// order (the products by 2 and 4 are exact, so the FMAs round the same).

#define ADJ_FOUR Z28
#define ADJ_TWO Z29
#define ADJ_SIGN Z30

// ADJ_B applies B to Z0–Z5 into Z10–Z15, with Z6–Z9.
#define ADJ_B \
	VADDPS       Z2, Z1, Z6;        \
	VSUBPS       Z2, Z1, Z7;        \
	VADDPS       Z4, Z3, Z8;        \
	VSUBPS       Z4, Z3, Z9;        \
	VMULPS       ADJ_FOUR, Z0, Z10; \
	VSUBPS       Z7, Z5, Z11;       \
	VMULPS       ADJ_FOUR, Z11, Z11; \
	VFNMADD231PS Z9, ADJ_TWO, Z11;  \
	VMOVAPS      Z8, Z12;           \
	VFMADD231PS  Z6, ADJ_FOUR, Z12; \
	VFMADD231PS  Z0, ADJ_FOUR, Z12; \
	VADDPS       Z0, Z12, Z12;      \
	VXORPS       ADJ_SIGN, Z12, Z12; \
	VMOVAPS      Z7, Z13;           \
	VFMADD231PS  Z9, ADJ_TWO, Z13;  \
	VFNMADD231PS Z5, ADJ_FOUR, Z13; \
	VSUBPS       Z5, Z13, Z13;      \
	VADDPS       Z6, Z0, Z14;       \
	VADDPS       Z8, Z14, Z14;      \
	VMOVAPS      Z5, Z15

// ADJ_COL: column J of M (from AX, entries R9 apart: R10 = 3·R9, R11 =
// 5·R9) through B into the stack block's column J.
#define ADJ_COL(J) \
	VMOVUPS (AX), Z0;          \
	VMOVUPS (AX)(R9*1), Z1;    \
	VMOVUPS (AX)(R9*2), Z2;    \
	VMOVUPS (AX)(R10*1), Z3;   \
	VMOVUPS (AX)(R9*4), Z4;    \
	VMOVUPS (AX)(R11*1), Z5;   \
	ADJ_B;                     \
	VMOVUPS Z10, (J*64)(SP);   \
	VMOVUPS Z11, (384+J*64)(SP); \
	VMOVUPS Z12, (768+J*64)(SP); \
	VMOVUPS Z13, (1152+J*64)(SP); \
	VMOVUPS Z14, (1536+J*64)(SP); \
	VMOVUPS Z15, (1920+J*64)(SP); \
	ADDQ    BX, AX

// ADJ_ROW: row I of the stack block through B, added into the tile's row
// at AX (pixels R8 apart: R12 = 3·R8, R13 = 5·R8).
#define ADJ_ROW(I) \
	VMOVUPS (I*384)(SP), Z0;      \
	VMOVUPS (I*384+64)(SP), Z1;   \
	VMOVUPS (I*384+128)(SP), Z2;  \
	VMOVUPS (I*384+192)(SP), Z3;  \
	VMOVUPS (I*384+256)(SP), Z4;  \
	VMOVUPS (I*384+320)(SP), Z5;  \
	ADJ_B;                        \
	VADDPS  (AX), Z10, Z10;       \
	VMOVUPS Z10, (AX);            \
	VADDPS  (AX)(R8*1), Z11, Z11; \
	VMOVUPS Z11, (AX)(R8*1);      \
	VADDPS  (AX)(R8*2), Z12, Z12; \
	VMOVUPS Z12, (AX)(R8*2);      \
	VADDPS  (AX)(R12*1), Z13, Z13; \
	VMOVUPS Z13, (AX)(R12*1);     \
	VADDPS  (AX)(R8*4), Z14, Z14; \
	VMOVUPS Z14, (AX)(R8*4);      \
	VADDPS  (AX)(R13*1), Z15, Z15; \
	VMOVUPS Z15, (AX)(R13*1);     \
	ADDQ    DX, AX

// func w4InputAdjAVX512(x *float32, rs, ys int, m *float32, ms int, k int)
TEXT ·w4InputAdjAVX512(SB), 0, $2304-48
	MOVQ         x+0(FP), DI
	MOVQ         rs+8(FP), DX
	SHLQ         $2, DX
	MOVQ         ys+16(FP), R8
	SHLQ         $2, R8
	MOVQ         m+24(FP), SI
	MOVQ         ms+32(FP), BX
	SHLQ         $2, BX
	MOVQ         k+40(FP), CX
	LEAQ         (BX)(BX*2), R9
	SHLQ         $1, R9            // 6 entries: a row of M
	LEAQ         (R9)(R9*2), R10
	LEAQ         (R9)(R9*4), R11
	LEAQ         (R8)(R8*2), R12
	LEAQ         (R8)(R8*4), R13
	MOVL         $0x40800000, AX
	VPBROADCASTD AX, ADJ_FOUR
	MOVL         $0x40000000, AX
	VPBROADCASTD AX, ADJ_TWO
	MOVL         $0x80000000, AX
	VPBROADCASTD AX, ADJ_SIGN
	TESTQ        CX, CX
	JZ           adjdone

adjloop:
	MOVQ SI, AX
	ADJ_COL(0)
	ADJ_COL(1)
	ADJ_COL(2)
	ADJ_COL(3)
	ADJ_COL(4)
	ADJ_COL(5)
	MOVQ DI, AX
	ADJ_ROW(0)
	ADJ_ROW(1)
	ADJ_ROW(2)
	ADJ_ROW(3)
	ADJ_ROW(4)
	ADJ_ROW(5)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ  adjloop

adjdone:
	VZEROUPPER
	RET
