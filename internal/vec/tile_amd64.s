//go:build !purego

#include "textflag.h"

// The tile micro-kernel family of tile.go: C = epilogue(A·B) for one tile
// of mr rows and w columns held in registers, A's element (i, p) at
// a[i*rs+p*cs], B's row p at b[p*ldb:]. The reference loop (the twin is
// tileGo):
//
//	var acc [mr][w]float32
//	for p := 0; p < k; p++ {
//		for i := 0; i < mr; i++ {
//			for j := 0; j < w; j++ {
//				acc[i][j] += a[i*rs+p*cs] * b[p*ldb+j] // one FMA
//			}
//		}
//	}
//	for i := 0; i < mr; i++ {
//		for j := 0; j < w; j++ {
//			v := acc[i][j]
//			if flags&1 != 0 { v += c[i*ldc+j] }           // TileAccumulate
//			if flags&2 != 0 { v += bias[j] }              // TileBias
//			if flags&4 != 0 { v = max(v, 0) + alpha[j]*min(v, 0) } // TilePReLU, one FMA
//			if flags&8 != 0 { v = max(v, 0) }             // TileReLU
//			c[i*ldc+j] = v
//		}
//	}
//
// The 16-column kernels (6×16 AVX2, 12×16 AVX-512) add in exactly this
// order, so they agree bit for bit; the 6×8 kernel sums even and odd p
// apart. tileGo rounds each product before adding it (no FMA).

// General-purpose registers, common to the three kernels:
//
//	CX        k, counting down
//	SI        &A[0][p]; rows 1, 2 at SI+rs, SI+2·rs
//	R10       &A[3][p]; rows 4, 5 at R10+rs, R10+2·rs
//	R12, R13  &A[6][p], &A[9][p] (12-row kernel only)
//	R9, R11   rs and cs in bytes (6×8: cs is 4)
//	DI, R14   &B[p][0] and ldb in bytes (6×8: ldb is 32)
//	DX, R8    &C[i][0] and ldc in bytes
//	BX        flags
//	AX        scratch row pointer of C, then bias, then alpha
//
// PCALIGN $32 puts each k loop on a 32-byte boundary, so that its speed
// does not depend on where the linker places the function.

// The epilogue steps on one accumulator register x; zero holds 0, t is
// scratch. VMAXPS/VMINPS return the second source (zero) when x is NaN or
// ±0, so PReLU and ReLU map NaN and -0 to 0.
#define PRELU(zero, t, alpha, x) VMINPS zero, x, t; VMAXPS zero, x, x; VFMADD231PS t, alpha, x
#define RELU(zero, x) VMAXPS zero, x, x

// Two-register (16-column) rows of the 6×16 tile: lo holds columns 0-7, hi
// 8-15, and Y0, Y1 the same halves of a row of B, bias or alpha.
#define FMA2(src, s, lo, hi) VBROADCASTSS src, s; VFMADD231PS Y0, s, lo; VFMADD231PS Y1, s, hi
#define ACC2(lo, hi) VADDPS (AX), lo, lo; VADDPS 32(AX), hi, hi; ADDQ R8, AX
#define BIAS2(lo, hi) VADDPS Y0, lo, lo; VADDPS Y1, hi, hi
#define PRELU2(lo, hi) PRELU(Y2, Y3, Y0, lo); PRELU(Y2, Y3, Y1, hi)
#define RELU2(lo, hi) RELU(Y2, lo); RELU(Y2, hi)
#define STORE2(lo, hi) VMOVUPS lo, (DX); VMOVUPS hi, 32(DX); ADDQ R8, DX

// func tile6x16AVX2(k int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, flags int, bias, alpha *float32)
//
// Vector registers:
//
//	Y4..Y15   the tile: row i in Y(4+2i) (columns 0-7) and Y(5+2i) (8-15)
//	Y0, Y1    B[p][0:8], B[p][8:16]; in the epilogue bias or alpha
//	Y2, Y3    A[i][p] broadcast, alternating; in the epilogue 0 and scratch
TEXT ·tile6x16AVX2(SB), NOSPLIT, $0-88
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ rs+16(FP), R9
	MOVQ cs+24(FP), R11
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), R14
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R8
	MOVQ flags+64(FP), BX
	SHLQ $2, R9                // element strides to bytes
	SHLQ $2, R11
	SHLQ $2, R14
	SHLQ $2, R8
	LEAQ (SI)(R9*2), R10
	ADDQ R9, R10               // R10 = &A[3][0]
	VXORPS Y4, Y4, Y4          // acc = 0
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	TESTQ CX, CX
	JZ    t16acc

	PCALIGN $32

t16loop: // for p := 0; p < k; p++: acc[i][:] += A[i][p] · B[p][:]
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	FMA2((SI), Y2, Y4, Y5)
	FMA2((SI)(R9*1), Y3, Y6, Y7)
	FMA2((SI)(R9*2), Y2, Y8, Y9)
	FMA2((R10), Y3, Y10, Y11)
	FMA2((R10)(R9*1), Y2, Y12, Y13)
	FMA2((R10)(R9*2), Y3, Y14, Y15)
	ADDQ R11, SI               // next column of A
	ADDQ R11, R10
	ADDQ R14, DI               // next row of B
	DECQ CX
	JNZ  t16loop

t16acc:
	TESTQ $1, BX
	JZ    t16bias
	MOVQ  DX, AX
	ACC2(Y4, Y5)
	ACC2(Y6, Y7)
	ACC2(Y8, Y9)
	ACC2(Y10, Y11)
	ACC2(Y12, Y13)
	ACC2(Y14, Y15)

t16bias:
	TESTQ $2, BX
	JZ    t16prelu
	MOVQ  bias+72(FP), AX
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	BIAS2(Y4, Y5)
	BIAS2(Y6, Y7)
	BIAS2(Y8, Y9)
	BIAS2(Y10, Y11)
	BIAS2(Y12, Y13)
	BIAS2(Y14, Y15)

t16prelu:
	TESTQ $4, BX
	JZ    t16relu
	MOVQ  alpha+80(FP), AX
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VXORPS Y2, Y2, Y2
	PRELU2(Y4, Y5)
	PRELU2(Y6, Y7)
	PRELU2(Y8, Y9)
	PRELU2(Y10, Y11)
	PRELU2(Y12, Y13)
	PRELU2(Y14, Y15)

t16relu:
	TESTQ $8, BX
	JZ    t16store
	VXORPS Y2, Y2, Y2
	RELU2(Y4, Y5)
	RELU2(Y6, Y7)
	RELU2(Y8, Y9)
	RELU2(Y10, Y11)
	RELU2(Y12, Y13)
	RELU2(Y14, Y15)

t16store:
	STORE2(Y4, Y5)
	STORE2(Y6, Y7)
	STORE2(Y8, Y9)
	STORE2(Y10, Y11)
	STORE2(Y12, Y13)
	STORE2(Y14, Y15)
	VZEROUPPER
	RET

// One-register (8-column) rows, for the 6×8 tile (Y0 bias or alpha) and,
// with Z registers, the 12×16 tile (Z0 bias or alpha).
#define ACC1(x) VADDPS (AX), x, x; ADDQ R8, AX
#define STORE1(x) VMOVUPS x, (DX); ADDQ R8, DX

// func tile6x8AVX2(k int, a *float32, lda int, b *float32, c *float32, ldc int, flags int, bias, alpha *float32)
//
// A has cs = 1 and B ldb = 8. Six accumulators alone would leave the FMA
// units waiting on latency, so even and odd p go to two banks, summed
// before the epilogue (a different rounding from tileGo's single sum).
//
// Vector registers:
//
//	Y4..Y9    row i of the tile, even p (then the whole sum)
//	Y10..Y15  row i of the tile, odd p
//	Y0, Y1    B[p][0:8], B[p+1][0:8]; in the epilogue bias or alpha
//	Y2, Y3    A[i][p], A[i][p+1] broadcast; in the epilogue 0 and scratch
TEXT ·tile6x8AVX2(SB), NOSPLIT, $0-72
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R9
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	MOVQ flags+48(FP), BX
	SHLQ $2, R9
	SHLQ $2, R8
	LEAQ (SI)(R9*2), R10
	ADDQ R9, R10               // R10 = &A[3][0]
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	CMPQ CX, $2
	JLT  t8tail

	PCALIGN $32

t8loop: // two steps of p: even[i] += A[i][p]·B[p]; odd[i] += A[i][p+1]·B[p+1]
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VBROADCASTSS (SI), Y2
	VFMADD231PS  Y0, Y2, Y4
	VBROADCASTSS 4(SI), Y3
	VFMADD231PS  Y1, Y3, Y10
	VBROADCASTSS (SI)(R9*1), Y2
	VFMADD231PS  Y0, Y2, Y5
	VBROADCASTSS 4(SI)(R9*1), Y3
	VFMADD231PS  Y1, Y3, Y11
	VBROADCASTSS (SI)(R9*2), Y2
	VFMADD231PS  Y0, Y2, Y6
	VBROADCASTSS 4(SI)(R9*2), Y3
	VFMADD231PS  Y1, Y3, Y12
	VBROADCASTSS (R10), Y2
	VFMADD231PS  Y0, Y2, Y7
	VBROADCASTSS 4(R10), Y3
	VFMADD231PS  Y1, Y3, Y13
	VBROADCASTSS (R10)(R9*1), Y2
	VFMADD231PS  Y0, Y2, Y8
	VBROADCASTSS 4(R10)(R9*1), Y3
	VFMADD231PS  Y1, Y3, Y14
	VBROADCASTSS (R10)(R9*2), Y2
	VFMADD231PS  Y0, Y2, Y9
	VBROADCASTSS 4(R10)(R9*2), Y3
	VFMADD231PS  Y1, Y3, Y15
	ADDQ $8, SI
	ADDQ $8, R10
	ADDQ $64, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  t8loop

t8tail: // an odd last p, into the even bank
	TESTQ CX, CX
	JZ    t8sum
	VMOVUPS (DI), Y0
	VBROADCASTSS (SI), Y2
	VFMADD231PS  Y0, Y2, Y4
	VBROADCASTSS (SI)(R9*1), Y2
	VFMADD231PS  Y0, Y2, Y5
	VBROADCASTSS (SI)(R9*2), Y2
	VFMADD231PS  Y0, Y2, Y6
	VBROADCASTSS (R10), Y2
	VFMADD231PS  Y0, Y2, Y7
	VBROADCASTSS (R10)(R9*1), Y2
	VFMADD231PS  Y0, Y2, Y8
	VBROADCASTSS (R10)(R9*2), Y2
	VFMADD231PS  Y0, Y2, Y9

t8sum: // acc = even + odd
	VADDPS Y10, Y4, Y4
	VADDPS Y11, Y5, Y5
	VADDPS Y12, Y6, Y6
	VADDPS Y13, Y7, Y7
	VADDPS Y14, Y8, Y8
	VADDPS Y15, Y9, Y9

	TESTQ $1, BX
	JZ    t8bias
	MOVQ  DX, AX
	ACC1(Y4)
	ACC1(Y5)
	ACC1(Y6)
	ACC1(Y7)
	ACC1(Y8)
	ACC1(Y9)

t8bias:
	TESTQ $2, BX
	JZ    t8prelu
	MOVQ  bias+56(FP), AX
	VMOVUPS (AX), Y0
	VADDPS Y0, Y4, Y4
	VADDPS Y0, Y5, Y5
	VADDPS Y0, Y6, Y6
	VADDPS Y0, Y7, Y7
	VADDPS Y0, Y8, Y8
	VADDPS Y0, Y9, Y9

t8prelu:
	TESTQ $4, BX
	JZ    t8relu
	MOVQ  alpha+64(FP), AX
	VMOVUPS (AX), Y0
	VXORPS Y2, Y2, Y2
	PRELU(Y2, Y3, Y0, Y4)
	PRELU(Y2, Y3, Y0, Y5)
	PRELU(Y2, Y3, Y0, Y6)
	PRELU(Y2, Y3, Y0, Y7)
	PRELU(Y2, Y3, Y0, Y8)
	PRELU(Y2, Y3, Y0, Y9)

t8relu:
	TESTQ $8, BX
	JZ    t8store
	VXORPS Y2, Y2, Y2
	RELU(Y2, Y4)
	RELU(Y2, Y5)
	RELU(Y2, Y6)
	RELU(Y2, Y7)
	RELU(Y2, Y8)
	RELU(Y2, Y9)

t8store:
	STORE1(Y4)
	STORE1(Y5)
	STORE1(Y6)
	STORE1(Y7)
	STORE1(Y8)
	STORE1(Y9)
	VZEROUPPER
	RET

// func tile12x16AVX512(k int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, flags int, bias, alpha *float32)
//
// Vector registers:
//
//	Z4..Z15   the tile: row i in Z(4+i)
//	Z0        B[p][0:16]; in the epilogue bias or alpha
//	Z16..Z27  A[i][p] broadcast, all twelve loaded before the FMAs
//	Z2, Z3    in the epilogue 0 and scratch
TEXT ·tile12x16AVX512(SB), NOSPLIT, $0-88
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ rs+16(FP), R9
	MOVQ cs+24(FP), R11
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), R14
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R8
	MOVQ flags+64(FP), BX
	SHLQ $2, R9
	SHLQ $2, R11
	SHLQ $2, R14
	SHLQ $2, R8
	LEAQ (SI)(R9*2), R10
	ADDQ R9, R10               // R10 = &A[3][0]
	LEAQ (R10)(R9*2), R12
	ADDQ R9, R12               // R12 = &A[6][0]
	LEAQ (R12)(R9*2), R13
	ADDQ R9, R13               // R13 = &A[9][0]
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	TESTQ CX, CX
	JZ    w12acc

	PCALIGN $32

w12loop: // for p := 0; p < k; p++: acc[i][:] += A[i][p] · B[p][:]
	VMOVUPS (DI), Z0
	VBROADCASTSS (SI), Z16
	VBROADCASTSS (SI)(R9*1), Z17
	VBROADCASTSS (SI)(R9*2), Z18
	VBROADCASTSS (R10), Z19
	VBROADCASTSS (R10)(R9*1), Z20
	VBROADCASTSS (R10)(R9*2), Z21
	VBROADCASTSS (R12), Z22
	VBROADCASTSS (R12)(R9*1), Z23
	VBROADCASTSS (R12)(R9*2), Z24
	VBROADCASTSS (R13), Z25
	VBROADCASTSS (R13)(R9*1), Z26
	VBROADCASTSS (R13)(R9*2), Z27
	VFMADD231PS  Z0, Z16, Z4
	VFMADD231PS  Z0, Z17, Z5
	VFMADD231PS  Z0, Z18, Z6
	VFMADD231PS  Z0, Z19, Z7
	VFMADD231PS  Z0, Z20, Z8
	VFMADD231PS  Z0, Z21, Z9
	VFMADD231PS  Z0, Z22, Z10
	VFMADD231PS  Z0, Z23, Z11
	VFMADD231PS  Z0, Z24, Z12
	VFMADD231PS  Z0, Z25, Z13
	VFMADD231PS  Z0, Z26, Z14
	VFMADD231PS  Z0, Z27, Z15
	ADDQ R11, SI               // next column of A
	ADDQ R11, R10
	ADDQ R11, R12
	ADDQ R11, R13
	ADDQ R14, DI               // next row of B
	DECQ CX
	JNZ  w12loop

w12acc:
	TESTQ $1, BX
	JZ    w12bias
	MOVQ  DX, AX
	ACC1(Z4)
	ACC1(Z5)
	ACC1(Z6)
	ACC1(Z7)
	ACC1(Z8)
	ACC1(Z9)
	ACC1(Z10)
	ACC1(Z11)
	ACC1(Z12)
	ACC1(Z13)
	ACC1(Z14)
	ACC1(Z15)

w12bias:
	TESTQ $2, BX
	JZ    w12prelu
	MOVQ  bias+72(FP), AX
	VMOVUPS (AX), Z0
	VADDPS Z0, Z4, Z4
	VADDPS Z0, Z5, Z5
	VADDPS Z0, Z6, Z6
	VADDPS Z0, Z7, Z7
	VADDPS Z0, Z8, Z8
	VADDPS Z0, Z9, Z9
	VADDPS Z0, Z10, Z10
	VADDPS Z0, Z11, Z11
	VADDPS Z0, Z12, Z12
	VADDPS Z0, Z13, Z13
	VADDPS Z0, Z14, Z14
	VADDPS Z0, Z15, Z15

w12prelu:
	TESTQ $4, BX
	JZ    w12relu
	MOVQ  alpha+80(FP), AX
	VMOVUPS (AX), Z0
	VPXORD Z2, Z2, Z2
	PRELU(Z2, Z3, Z0, Z4)
	PRELU(Z2, Z3, Z0, Z5)
	PRELU(Z2, Z3, Z0, Z6)
	PRELU(Z2, Z3, Z0, Z7)
	PRELU(Z2, Z3, Z0, Z8)
	PRELU(Z2, Z3, Z0, Z9)
	PRELU(Z2, Z3, Z0, Z10)
	PRELU(Z2, Z3, Z0, Z11)
	PRELU(Z2, Z3, Z0, Z12)
	PRELU(Z2, Z3, Z0, Z13)
	PRELU(Z2, Z3, Z0, Z14)
	PRELU(Z2, Z3, Z0, Z15)

w12relu:
	TESTQ $8, BX
	JZ    w12store
	VPXORD Z2, Z2, Z2
	RELU(Z2, Z4)
	RELU(Z2, Z5)
	RELU(Z2, Z6)
	RELU(Z2, Z7)
	RELU(Z2, Z8)
	RELU(Z2, Z9)
	RELU(Z2, Z10)
	RELU(Z2, Z11)
	RELU(Z2, Z12)
	RELU(Z2, Z13)
	RELU(Z2, Z14)
	RELU(Z2, Z15)

w12store:
	STORE1(Z4)
	STORE1(Z5)
	STORE1(Z6)
	STORE1(Z7)
	STORE1(Z8)
	STORE1(Z9)
	STORE1(Z10)
	STORE1(Z11)
	STORE1(Z12)
	STORE1(Z13)
	STORE1(Z14)
	STORE1(Z15)
	VZEROUPPER
	RET
