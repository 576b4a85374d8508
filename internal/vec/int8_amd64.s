//go:build !purego

#include "textflag.h"

// The int8 kernels of int8.go (AVX-512F/BW and VNNI), bit-exact with
// their twins tileI8Go and quantizeRowsGo.

// func tile12x16I8Asm(k4 int, a *uint8, lda int, b *int8, c *float32, ldc int, flags int, comp *int32, rscale, cscale, bias, alpha *float32)
//
// Reference loop (the twin is tileI8Go), k = 4·k4:
//
//	var acc [12][16]int32
//	for p := 0; p < k; p++ {
//		for i := 0; i < 12; i++ {
//			for j := 0; j < 16; j++ {
//				acc[i][j] += int32(a[i*lda+p]) * int32(b[(p/4)*64+4*j+p%4])
//			}
//		}
//	}
//	for i, j: v := float32(acc[i][j]-comp[j]) * cscale[j] * rscale[i]
//	          then the epilogue of tile12x16AVX512 (accumulate, bias,
//	          PReLU, ReLU) and the store.
//
// One VPDPBUSD adds, per lane j, the four products of the unsigned bytes
// a[i][4t:4t+4] (broadcast) and the signed bytes of column j of group t,
// exactly, into the int32 accumulator.
//
// General-purpose registers:
//
//	CX        k4, counting down
//	SI        &A[0][4t]; rows 1, 2 at SI+lda, SI+2·lda
//	R10       &A[3][4t]; R12 &A[6][4t]; R13 &A[9][4t]
//	R9        lda (bytes)
//	DI        &B group t (64 bytes a group)
//	DX, R8    &C[i][0] and ldc in bytes
//	BX        flags
//	AX        comp, cscale, rscale, C row, bias, alpha in turn
//
// Vector registers:
//
//	Z4..Z15   the tile: row i in Z(4+i), int32 then float32
//	Z0        B group t; in the epilogue comp, cscale, bias or alpha
//	Z16..Z27  A[i][4t:4t+4] broadcast
//	Z1        rscale[i] broadcast; Z2, Z3 in the epilogue 0 and scratch
#define PRELU(zero, t, alpha, x) VMINPS zero, x, t; VMAXPS zero, x, x; VFMADD231PS t, alpha, x
#define RELU(zero, x) VMAXPS zero, x, x
// PReLU by mask (the two-panel kernels): x = alpha·x where x ≤ 0, as the twin
#define PRELUK(zero, alpha, x) VCMPPS $2, zero, x, K1; VMULPS alpha, x, K1, x
#define ACC1(x) VADDPS (AX), x, x; ADDQ R8, AX
#define STORE1(x) VMOVUPS x, (DX); ADDQ R8, DX
#define RSCALE(off, x) VBROADCASTSS off(AX), Z1; VMULPS Z1, x, x

TEXT ·tile12x16I8Asm(SB), NOSPLIT, $0-96
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R9
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	MOVQ flags+48(FP), BX
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
	JZ    i8deq

	PCALIGN $32

i8loop: // for t := 0; t < k4; t++: acc[i][:] += A[i][4t:4t+4] · B group t
	VMOVDQU32    (DI), Z0
	VPBROADCASTD (SI), Z16
	VPBROADCASTD (SI)(R9*1), Z17
	VPBROADCASTD (SI)(R9*2), Z18
	VPBROADCASTD (R10), Z19
	VPBROADCASTD (R10)(R9*1), Z20
	VPBROADCASTD (R10)(R9*2), Z21
	VPBROADCASTD (R12), Z22
	VPBROADCASTD (R12)(R9*1), Z23
	VPBROADCASTD (R12)(R9*2), Z24
	VPBROADCASTD (R13), Z25
	VPBROADCASTD (R13)(R9*1), Z26
	VPBROADCASTD (R13)(R9*2), Z27
	VPDPBUSD     Z0, Z16, Z4
	VPDPBUSD     Z0, Z17, Z5
	VPDPBUSD     Z0, Z18, Z6
	VPDPBUSD     Z0, Z19, Z7
	VPDPBUSD     Z0, Z20, Z8
	VPDPBUSD     Z0, Z21, Z9
	VPDPBUSD     Z0, Z22, Z10
	VPDPBUSD     Z0, Z23, Z11
	VPDPBUSD     Z0, Z24, Z12
	VPDPBUSD     Z0, Z25, Z13
	VPDPBUSD     Z0, Z26, Z14
	VPDPBUSD     Z0, Z27, Z15
	ADDQ $4, SI
	ADDQ $4, R10
	ADDQ $4, R12
	ADDQ $4, R13
	ADDQ $64, DI
	DECQ CX
	JNZ  i8loop

i8deq: // v = float32(acc - comp) * cscale * rscale[i]
	MOVQ      comp+56(FP), AX
	VMOVDQU32 (AX), Z0
	VPSUBD    Z0, Z4, Z4
	VPSUBD    Z0, Z5, Z5
	VPSUBD    Z0, Z6, Z6
	VPSUBD    Z0, Z7, Z7
	VPSUBD    Z0, Z8, Z8
	VPSUBD    Z0, Z9, Z9
	VPSUBD    Z0, Z10, Z10
	VPSUBD    Z0, Z11, Z11
	VPSUBD    Z0, Z12, Z12
	VPSUBD    Z0, Z13, Z13
	VPSUBD    Z0, Z14, Z14
	VPSUBD    Z0, Z15, Z15
	VCVTDQ2PS Z4, Z4
	VCVTDQ2PS Z5, Z5
	VCVTDQ2PS Z6, Z6
	VCVTDQ2PS Z7, Z7
	VCVTDQ2PS Z8, Z8
	VCVTDQ2PS Z9, Z9
	VCVTDQ2PS Z10, Z10
	VCVTDQ2PS Z11, Z11
	VCVTDQ2PS Z12, Z12
	VCVTDQ2PS Z13, Z13
	VCVTDQ2PS Z14, Z14
	VCVTDQ2PS Z15, Z15
	MOVQ      cscale+72(FP), AX
	VMOVUPS   (AX), Z0
	VMULPS    Z0, Z4, Z4
	VMULPS    Z0, Z5, Z5
	VMULPS    Z0, Z6, Z6
	VMULPS    Z0, Z7, Z7
	VMULPS    Z0, Z8, Z8
	VMULPS    Z0, Z9, Z9
	VMULPS    Z0, Z10, Z10
	VMULPS    Z0, Z11, Z11
	VMULPS    Z0, Z12, Z12
	VMULPS    Z0, Z13, Z13
	VMULPS    Z0, Z14, Z14
	VMULPS    Z0, Z15, Z15
	MOVQ      rscale+64(FP), AX
	RSCALE(0, Z4)
	RSCALE(4, Z5)
	RSCALE(8, Z6)
	RSCALE(12, Z7)
	RSCALE(16, Z8)
	RSCALE(20, Z9)
	RSCALE(24, Z10)
	RSCALE(28, Z11)
	RSCALE(32, Z12)
	RSCALE(36, Z13)
	RSCALE(40, Z14)
	RSCALE(44, Z15)

	TESTQ $1, BX
	JZ    i8bias
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

i8bias:
	TESTQ $2, BX
	JZ    i8prelu
	MOVQ  bias+80(FP), AX
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

i8prelu:
	TESTQ $4, BX
	JZ    i8relu
	MOVQ  alpha+88(FP), AX
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

i8relu:
	TESTQ $8, BX
	JZ    i8store
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

i8store:
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

// func quantizeRowsAsm(dst *uint8, ldd int, scale *float32, x *float32, ldx, rows, cols int, signed bool)
//
// Reference loop (the twin is quantizeRowsGo), cols > 0, L = 127 (signed)
// or 255, cp = RoundUp4(cols):
//
//	for i := 0; i < rows; i++ {
//		m := max over j < cols of |x[i*ldx+j]|
//		s, inv := m/L, L/m (both 0 if m == 0)
//		scale[i] = s
//		for j := 0; j < cp; j++ { // x is taken as 0 for j ≥ cols
//			q := RoundToEven(x[i*ldx+j]*inv)           // VCVTPS2DQ
//			signed:   dst[i*ldd+j] = sat8(q) ^ 0x80  // VPMOVSDB, = q+128
//			unsigned: dst[i*ldd+j] = usat8(max(q, 0)) // VPMOVUSDB
//		}
//	}
//
// Sixteen values a step; the last, partial step loads with mask K1 (cols
// mod 16 lanes, the others 0) and stores with mask K2 (cp − 16·full lanes).
//
// General-purpose registers:
//
//	SI, R9    &x[i][0] and ldx in bytes; DI, R8 &dst[i][0] and ldd
//	R11       &scale[i]; BX rows left; R12 full 16-value steps; R13 tail
//	R15       signed; AX, R14 pointers into the row; DX steps left
//
// Vector registers: Z31 |·| mask, Z30 0, Z29 0x80 bytes, Z1 the row's
// max, X5 L, X4 → Z4 inv, X6 s, Z0 the values.
TEXT ·quantizeRowsAsm(SB), NOSPLIT, $0-57
	MOVQ    dst+0(FP), DI
	MOVQ    ldd+8(FP), R8
	MOVQ    scale+16(FP), R11
	MOVQ    x+24(FP), SI
	MOVQ    ldx+32(FP), R9
	SHLQ    $2, R9
	MOVQ    rows+40(FP), BX
	MOVQ    cols+48(FP), R12
	MOVBLZX signed+56(FP), R15
	MOVQ    R12, R13
	ANDQ    $15, R13           // R13 = cols % 16: lanes of the partial step
	SHRQ    $4, R12            // R12 = cols / 16: full steps
	MOVQ    R13, CX
	MOVL    $1, AX
	SHLL    CX, AX
	DECL    AX
	KMOVW   AX, K1             // K1: the loaded lanes of the partial step
	ADDQ    $3, CX
	ANDQ    $-4, CX            // padded to a multiple of 4
	MOVL    $1, AX
	SHLL    CX, AX
	DECL    AX
	KMOVW   AX, K2             // K2: the stored bytes of the partial step
	MOVQ    CX, R13            // R13 = bytes of the partial step (0: none)
	MOVL    $0x7fffffff, AX
	VPBROADCASTD AX, Z31
	VPXORD  Z30, Z30, Z30
	MOVL    $0x80808080, AX
	VPBROADCASTD AX, Z29
	MOVL    $0x42fe0000, AX    // 127.0
	TESTQ   R15, R15
	JNZ     qlevels
	MOVL    $0x437f0000, AX    // 255.0

qlevels:
	VMOVD   AX, X5

qrow:
	// m = max |x|, four chains of VMAXPS while four steps are left
	VPXORD  Z1, Z1, Z1
	VPXORD  Z7, Z7, Z7
	VPXORD  Z8, Z8, Z8
	VPXORD  Z9, Z9, Z9
	MOVQ    SI, AX
	MOVQ    R12, DX

qmax4:
	CMPQ    DX, $4
	JLT     qmax
	VANDPS  (AX), Z31, Z0
	VMAXPS  Z0, Z1, Z1
	VANDPS  64(AX), Z31, Z0
	VMAXPS  Z0, Z7, Z7
	VANDPS  128(AX), Z31, Z0
	VMAXPS  Z0, Z8, Z8
	VANDPS  192(AX), Z31, Z0
	VMAXPS  Z0, Z9, Z9
	ADDQ    $256, AX
	SUBQ    $4, DX
	JMP     qmax4

qmax:
	TESTQ   DX, DX
	JZ      qmaxtail
	VANDPS  (AX), Z31, Z0
	VMAXPS  Z0, Z1, Z1
	ADDQ    $64, AX
	DECQ    DX
	JMP     qmax

qmaxtail:
	TESTQ   R13, R13
	JZ      qreduce
	VMOVUPS.Z (AX), K1, Z0
	VANDPS  Z31, Z0, Z0
	VMAXPS  Z0, Z1, Z1

qreduce:
	VMAXPS  Z7, Z1, Z1
	VMAXPS  Z9, Z8, Z8
	VMAXPS  Z8, Z1, Z1
	VEXTRACTF32X8 $1, Z1, Y2
	VMAXPS  Y2, Y1, Y1
	VEXTRACTF128 $1, Y1, X2
	VMAXPS  X2, X1, X1
	VPERMILPS $0x4e, X1, X2
	VMAXPS  X2, X1, X1
	VPERMILPS $0xb1, X1, X2
	VMAXPS  X2, X1, X1

	// s = m/L, inv = L/m, both 0 for m = 0
	VXORPS  X4, X4, X4
	VXORPS  X6, X6, X6
	VUCOMISS X4, X1
	JEQ     qscale
	VDIVSS  X5, X1, X6         // s = m / L
	VDIVSS  X1, X5, X4         // inv = L / m

qscale:
	VMOVSS  X6, (R11)
	VBROADCASTSS X4, Z4
	MOVQ    SI, AX
	MOVQ    DI, R14
	MOVQ    R12, DX

qcode:
	TESTQ   DX, DX
	JZ      qcodetail
	VMULPS  (AX), Z4, Z0
	VCVTPS2DQ Z0, Z0
	TESTQ   R15, R15
	JZ      qunsigned
	VPMOVSDB Z0, X0
	VPXORD  X29, X0, X0
	JMP     qstore

qunsigned:
	VPMAXSD Z30, Z0, Z0
	VPMOVUSDB Z0, X0

qstore:
	VMOVDQU8 X0, (R14)
	ADDQ    $64, AX
	ADDQ    $16, R14
	DECQ    DX
	JMP     qcode

qcodetail:
	TESTQ   R13, R13
	JZ      qnext
	VMOVUPS.Z (AX), K1, Z0
	VMULPS  Z4, Z0, Z0
	VCVTPS2DQ Z0, Z0
	TESTQ   R15, R15
	JZ      qunsignedtail
	VPMOVSDB Z0, X0
	VPXORD  X29, X0, X0
	JMP     qstoretail

qunsignedtail:
	VPMAXSD Z30, Z0, Z0
	VPMOVUSDB Z0, X0

qstoretail:
	VMOVDQU8 X0, K2, (R14)

qnext:
	ADDQ    R9, SI
	ADDQ    R8, DI
	ADDQ    $4, R11
	DECQ    BX
	JNZ     qrow
	VZEROUPPER
	RET

// func tile12x16I16Asm(k2 int, a *int16, lda int, b *int16, c *float32, ldc int, flags int, comp *int32, rscale, cscale, bias, alpha *float32)
//
// tile12x16I8Asm with VPDPWSSD for VPDPBUSD (the twin is tileI16Go): one
// instruction adds, per lane j, the two products of the int16 pair
// a[i][2t:2t+2] (broadcast, lda in bytes) and column j of pair t of B,
// exactly, into the int32 accumulator; k2 = k/2 steps; comp is zero.
// Reference loop, k = 2·k2:
//
//	for p := 0; p < k; p++ {
//		for i, j: acc[i][j] += int32(a[i*lda/2+p]) * int32(b[(p/2)*32+2*j+p%2])
//	}
//	then the dequantizing epilogue of tile12x16I8Asm.
TEXT ·tile12x16I16Asm(SB), NOSPLIT, $0-96
	MOVQ k2+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R9
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	MOVQ flags+48(FP), BX
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
	JZ    i16deq

	PCALIGN $32

i16loop: // for t := 0; t < k4; t++: acc[i][:] += A[i][4t:4t+4] · B group t
	VMOVDQU32    (DI), Z0
	VPBROADCASTD (SI), Z16
	VPBROADCASTD (SI)(R9*1), Z17
	VPBROADCASTD (SI)(R9*2), Z18
	VPBROADCASTD (R10), Z19
	VPBROADCASTD (R10)(R9*1), Z20
	VPBROADCASTD (R10)(R9*2), Z21
	VPBROADCASTD (R12), Z22
	VPBROADCASTD (R12)(R9*1), Z23
	VPBROADCASTD (R12)(R9*2), Z24
	VPBROADCASTD (R13), Z25
	VPBROADCASTD (R13)(R9*1), Z26
	VPBROADCASTD (R13)(R9*2), Z27
	VPDPWSSD     Z0, Z16, Z4
	VPDPWSSD     Z0, Z17, Z5
	VPDPWSSD     Z0, Z18, Z6
	VPDPWSSD     Z0, Z19, Z7
	VPDPWSSD     Z0, Z20, Z8
	VPDPWSSD     Z0, Z21, Z9
	VPDPWSSD     Z0, Z22, Z10
	VPDPWSSD     Z0, Z23, Z11
	VPDPWSSD     Z0, Z24, Z12
	VPDPWSSD     Z0, Z25, Z13
	VPDPWSSD     Z0, Z26, Z14
	VPDPWSSD     Z0, Z27, Z15
	ADDQ $4, SI
	ADDQ $4, R10
	ADDQ $4, R12
	ADDQ $4, R13
	ADDQ $64, DI
	DECQ CX
	JNZ  i16loop

i16deq: // v = float32(acc - comp) * cscale * rscale[i]
	MOVQ      comp+56(FP), AX
	VMOVDQU32 (AX), Z0
	VPSUBD    Z0, Z4, Z4
	VPSUBD    Z0, Z5, Z5
	VPSUBD    Z0, Z6, Z6
	VPSUBD    Z0, Z7, Z7
	VPSUBD    Z0, Z8, Z8
	VPSUBD    Z0, Z9, Z9
	VPSUBD    Z0, Z10, Z10
	VPSUBD    Z0, Z11, Z11
	VPSUBD    Z0, Z12, Z12
	VPSUBD    Z0, Z13, Z13
	VPSUBD    Z0, Z14, Z14
	VPSUBD    Z0, Z15, Z15
	VCVTDQ2PS Z4, Z4
	VCVTDQ2PS Z5, Z5
	VCVTDQ2PS Z6, Z6
	VCVTDQ2PS Z7, Z7
	VCVTDQ2PS Z8, Z8
	VCVTDQ2PS Z9, Z9
	VCVTDQ2PS Z10, Z10
	VCVTDQ2PS Z11, Z11
	VCVTDQ2PS Z12, Z12
	VCVTDQ2PS Z13, Z13
	VCVTDQ2PS Z14, Z14
	VCVTDQ2PS Z15, Z15
	MOVQ      cscale+72(FP), AX
	VMOVUPS   (AX), Z0
	VMULPS    Z0, Z4, Z4
	VMULPS    Z0, Z5, Z5
	VMULPS    Z0, Z6, Z6
	VMULPS    Z0, Z7, Z7
	VMULPS    Z0, Z8, Z8
	VMULPS    Z0, Z9, Z9
	VMULPS    Z0, Z10, Z10
	VMULPS    Z0, Z11, Z11
	VMULPS    Z0, Z12, Z12
	VMULPS    Z0, Z13, Z13
	VMULPS    Z0, Z14, Z14
	VMULPS    Z0, Z15, Z15
	MOVQ      rscale+64(FP), AX
	RSCALE(0, Z4)
	RSCALE(4, Z5)
	RSCALE(8, Z6)
	RSCALE(12, Z7)
	RSCALE(16, Z8)
	RSCALE(20, Z9)
	RSCALE(24, Z10)
	RSCALE(28, Z11)
	RSCALE(32, Z12)
	RSCALE(36, Z13)
	RSCALE(40, Z14)
	RSCALE(44, Z15)

	TESTQ $1, BX
	JZ    i16bias
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

i16bias:
	TESTQ $2, BX
	JZ    i16prelu
	MOVQ  bias+80(FP), AX
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

i16prelu:
	TESTQ $4, BX
	JZ    i16relu
	MOVQ  alpha+88(FP), AX
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

i16relu:
	TESTQ $8, BX
	JZ    i16store
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

i16store:
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


// func quantizeRows16Asm(dst *int16, ldd int, scale *float32, x *float32, ldx, rows, cols int)
//
// Reference loop (the twin is quantizeRows16Go), cols > 0, L =
// I16ActLevels, cp = RoundUp2(cols):
//
//	for i := 0; i < rows; i++ {
//		m := max over j < cols of |x[i*ldx+j]|
//		s, inv := m/L, L/m (both 0 if m == 0)
//		scale[i] = s
//		for j := 0; j < cp; j++ { // x is taken as 0 for j ≥ cols
//			dst[i*ldd+j] = sat16(RoundToEven(x[i*ldx+j]*inv)) // VCVTPS2DQ, VPMOVSDW
//		}
//	}
//
// Registers as in quantizeRowsAsm; K2 masks the stored words of the
// partial step (cp − 16·full of them).
TEXT ·quantizeRows16Asm(SB), NOSPLIT, $0-56
	MOVQ    dst+0(FP), DI
	MOVQ    ldd+8(FP), R8
	SHLQ    $1, R8
	MOVQ    scale+16(FP), R11
	MOVQ    x+24(FP), SI
	MOVQ    ldx+32(FP), R9
	SHLQ    $2, R9
	MOVQ    rows+40(FP), BX
	MOVQ    cols+48(FP), R12
	MOVQ    R12, R13
	ANDQ    $15, R13           // R13 = cols % 16: lanes of the partial step
	SHRQ    $4, R12            // R12 = cols / 16: full steps
	MOVQ    R13, CX
	MOVL    $1, AX
	SHLL    CX, AX
	DECL    AX
	KMOVW   AX, K1             // K1: the loaded lanes of the partial step
	ADDQ    $1, CX
	ANDQ    $-2, CX            // padded to a multiple of 2
	MOVL    $1, AX
	SHLL    CX, AX
	DECL    AX
	KMOVW   AX, K2             // K2: the stored words of the partial step
	MOVQ    CX, R13            // R13 = words of the partial step (0: none)
	MOVL    $0x7fffffff, AX
	VPBROADCASTD AX, Z31
	MOVL    $0x457ff000, AX    // 4095.0
	VMOVD   AX, X5

w16row:
	// m = max |x|, four chains of VMAXPS while four steps are left
	VPXORD  Z1, Z1, Z1
	VPXORD  Z7, Z7, Z7
	VPXORD  Z8, Z8, Z8
	VPXORD  Z9, Z9, Z9
	MOVQ    SI, AX
	MOVQ    R12, DX

w16max4:
	CMPQ    DX, $4
	JLT     w16max
	VANDPS  (AX), Z31, Z0
	VMAXPS  Z0, Z1, Z1
	VANDPS  64(AX), Z31, Z0
	VMAXPS  Z0, Z7, Z7
	VANDPS  128(AX), Z31, Z0
	VMAXPS  Z0, Z8, Z8
	VANDPS  192(AX), Z31, Z0
	VMAXPS  Z0, Z9, Z9
	ADDQ    $256, AX
	SUBQ    $4, DX
	JMP     w16max4

w16max:
	TESTQ   DX, DX
	JZ      w16maxtail
	VANDPS  (AX), Z31, Z0
	VMAXPS  Z0, Z1, Z1
	ADDQ    $64, AX
	DECQ    DX
	JMP     w16max

w16maxtail:
	TESTQ   R13, R13
	JZ      w16reduce
	VMOVUPS.Z (AX), K1, Z0
	VANDPS  Z31, Z0, Z0
	VMAXPS  Z0, Z1, Z1

w16reduce:
	VMAXPS  Z7, Z1, Z1
	VMAXPS  Z9, Z8, Z8
	VMAXPS  Z8, Z1, Z1
	VEXTRACTF32X8 $1, Z1, Y2
	VMAXPS  Y2, Y1, Y1
	VEXTRACTF128 $1, Y1, X2
	VMAXPS  X2, X1, X1
	VPERMILPS $0x4e, X1, X2
	VMAXPS  X2, X1, X1
	VPERMILPS $0xb1, X1, X2
	VMAXPS  X2, X1, X1
	VXORPS  X4, X4, X4
	VXORPS  X6, X6, X6
	VUCOMISS X4, X1
	JEQ     w16scale
	VDIVSS  X5, X1, X6         // s = m / L
	VDIVSS  X1, X5, X4         // inv = L / m

w16scale:
	VMOVSS  X6, (R11)
	VBROADCASTSS X4, Z4
	MOVQ    SI, AX
	MOVQ    DI, R14
	MOVQ    R12, DX

w16code:
	TESTQ   DX, DX
	JZ      w16codetail
	VMULPS  (AX), Z4, Z0
	VCVTPS2DQ Z0, Z0
	VPMOVSDW Z0, Y0
	VMOVDQU16 Y0, (R14)
	ADDQ    $64, AX
	ADDQ    $32, R14
	DECQ    DX
	JMP     w16code

w16codetail:
	TESTQ   R13, R13
	JZ      w16next
	VMOVUPS.Z (AX), K1, Z0
	VMULPS  Z4, Z0, Z0
	VCVTPS2DQ Z0, Z0
	VPMOVSDW Z0, Y0
	VMOVDQU16 Y0, K2, (R14)

w16next:
	ADDQ    R9, SI
	ADDQ    R8, DI
	ADDQ    $4, R11
	DECQ    BX
	JNZ     w16row
	VZEROUPPER
	RET

// func tile12x32I8Asm(k4 int, a *uint8, lda int, b *int8, pstride int, c *float32, ldc int, flags int, comp *int32, rscale, cscale, bias, alpha *float32)
//
// tile12x16I8Asm over two panels at once, the second pstride bytes after
// the first: C[0:12, 0:32], comp, cscale, bias and alpha 32 values. Per
// step two B loads and twelve broadcasts feed 24 VPDPBUSD (the 12×16
// kernel needs 13 loads for 12), so it is less bound by loads. Same
// reference loop and epilogue, column by column, as tile12x16I8Asm.
//
// A nil comp skips the correction. PReLU is by mask (PRELUK), which gives
// the same values as the 12×16 kernels' PRELU.
//
// Vector registers: Z4..Z27 the tile (row i in Z(4+2i), Z(5+2i)); Z0, Z1
// the two panels' group t (in the epilogue the two halves of comp,
// cscale, bias, alpha); Z28..Z31 A[i][4t:4t+4] broadcast, in turn (in the
// epilogue rscale[i], 0 and scratch). R15 is pstride.
TEXT ·tile12x32I8Asm(SB), NOSPLIT, $0-104
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R9
	MOVQ b+24(FP), DI
	MOVQ pstride+32(FP), R15
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R8
	MOVQ flags+56(FP), BX
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
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	TESTQ CX, CX
	JZ    j8deq

	PCALIGN $32

j8loop: // acc[i][0:16] += A[i][step] · panel 0, acc[i][16:32] += A[i][step] · panel 1
	VMOVDQU32 (DI), Z0
	VMOVDQU32 (DI)(R15*1), Z1
	VPBROADCASTD (SI), Z28
	VPDPBUSD Z0, Z28, Z4
	VPDPBUSD Z1, Z28, Z5
	VPBROADCASTD (SI)(R9*1), Z29
	VPDPBUSD Z0, Z29, Z6
	VPDPBUSD Z1, Z29, Z7
	VPBROADCASTD (SI)(R9*2), Z30
	VPDPBUSD Z0, Z30, Z8
	VPDPBUSD Z1, Z30, Z9
	VPBROADCASTD (R10), Z31
	VPDPBUSD Z0, Z31, Z10
	VPDPBUSD Z1, Z31, Z11
	VPBROADCASTD (R10)(R9*1), Z28
	VPDPBUSD Z0, Z28, Z12
	VPDPBUSD Z1, Z28, Z13
	VPBROADCASTD (R10)(R9*2), Z29
	VPDPBUSD Z0, Z29, Z14
	VPDPBUSD Z1, Z29, Z15
	VPBROADCASTD (R12), Z30
	VPDPBUSD Z0, Z30, Z16
	VPDPBUSD Z1, Z30, Z17
	VPBROADCASTD (R12)(R9*1), Z31
	VPDPBUSD Z0, Z31, Z18
	VPDPBUSD Z1, Z31, Z19
	VPBROADCASTD (R12)(R9*2), Z28
	VPDPBUSD Z0, Z28, Z20
	VPDPBUSD Z1, Z28, Z21
	VPBROADCASTD (R13), Z29
	VPDPBUSD Z0, Z29, Z22
	VPDPBUSD Z1, Z29, Z23
	VPBROADCASTD (R13)(R9*1), Z30
	VPDPBUSD Z0, Z30, Z24
	VPDPBUSD Z1, Z30, Z25
	VPBROADCASTD (R13)(R9*2), Z31
	VPDPBUSD Z0, Z31, Z26
	VPDPBUSD Z1, Z31, Z27
	ADDQ $4, SI
	ADDQ $4, R10
	ADDQ $4, R12
	ADDQ $4, R13
	ADDQ $64, DI
	DECQ CX
	JNZ  j8loop

j8deq: // v = float32(acc - comp) * cscale * rscale[i], two panels
	MOVQ      comp+64(FP), AX
	TESTQ     AX, AX
	JZ        j8cvt         // comp nil: no correction
	VMOVDQU32 (AX), Z0
	VMOVDQU32 64(AX), Z1
	VPSUBD    Z0, Z4, Z4
	VPSUBD    Z1, Z5, Z5
	VPSUBD    Z0, Z6, Z6
	VPSUBD    Z1, Z7, Z7
	VPSUBD    Z0, Z8, Z8
	VPSUBD    Z1, Z9, Z9
	VPSUBD    Z0, Z10, Z10
	VPSUBD    Z1, Z11, Z11
	VPSUBD    Z0, Z12, Z12
	VPSUBD    Z1, Z13, Z13
	VPSUBD    Z0, Z14, Z14
	VPSUBD    Z1, Z15, Z15
	VPSUBD    Z0, Z16, Z16
	VPSUBD    Z1, Z17, Z17
	VPSUBD    Z0, Z18, Z18
	VPSUBD    Z1, Z19, Z19
	VPSUBD    Z0, Z20, Z20
	VPSUBD    Z1, Z21, Z21
	VPSUBD    Z0, Z22, Z22
	VPSUBD    Z1, Z23, Z23
	VPSUBD    Z0, Z24, Z24
	VPSUBD    Z1, Z25, Z25
	VPSUBD    Z0, Z26, Z26
	VPSUBD    Z1, Z27, Z27

j8cvt:
	VCVTDQ2PS Z4, Z4
	VCVTDQ2PS Z5, Z5
	VCVTDQ2PS Z6, Z6
	VCVTDQ2PS Z7, Z7
	VCVTDQ2PS Z8, Z8
	VCVTDQ2PS Z9, Z9
	VCVTDQ2PS Z10, Z10
	VCVTDQ2PS Z11, Z11
	VCVTDQ2PS Z12, Z12
	VCVTDQ2PS Z13, Z13
	VCVTDQ2PS Z14, Z14
	VCVTDQ2PS Z15, Z15
	VCVTDQ2PS Z16, Z16
	VCVTDQ2PS Z17, Z17
	VCVTDQ2PS Z18, Z18
	VCVTDQ2PS Z19, Z19
	VCVTDQ2PS Z20, Z20
	VCVTDQ2PS Z21, Z21
	VCVTDQ2PS Z22, Z22
	VCVTDQ2PS Z23, Z23
	VCVTDQ2PS Z24, Z24
	VCVTDQ2PS Z25, Z25
	VCVTDQ2PS Z26, Z26
	VCVTDQ2PS Z27, Z27
	MOVQ      cscale+80(FP), AX
	VMOVUPS   (AX), Z0
	VMOVUPS   64(AX), Z1
	VMULPS    Z0, Z4, Z4
	VMULPS    Z1, Z5, Z5
	VMULPS    Z0, Z6, Z6
	VMULPS    Z1, Z7, Z7
	VMULPS    Z0, Z8, Z8
	VMULPS    Z1, Z9, Z9
	VMULPS    Z0, Z10, Z10
	VMULPS    Z1, Z11, Z11
	VMULPS    Z0, Z12, Z12
	VMULPS    Z1, Z13, Z13
	VMULPS    Z0, Z14, Z14
	VMULPS    Z1, Z15, Z15
	VMULPS    Z0, Z16, Z16
	VMULPS    Z1, Z17, Z17
	VMULPS    Z0, Z18, Z18
	VMULPS    Z1, Z19, Z19
	VMULPS    Z0, Z20, Z20
	VMULPS    Z1, Z21, Z21
	VMULPS    Z0, Z22, Z22
	VMULPS    Z1, Z23, Z23
	VMULPS    Z0, Z24, Z24
	VMULPS    Z1, Z25, Z25
	VMULPS    Z0, Z26, Z26
	VMULPS    Z1, Z27, Z27
	MOVQ      rscale+72(FP), AX
	VBROADCASTSS 0(AX), Z28
	VMULPS    Z28, Z4, Z4
	VMULPS    Z28, Z5, Z5
	VBROADCASTSS 4(AX), Z28
	VMULPS    Z28, Z6, Z6
	VMULPS    Z28, Z7, Z7
	VBROADCASTSS 8(AX), Z28
	VMULPS    Z28, Z8, Z8
	VMULPS    Z28, Z9, Z9
	VBROADCASTSS 12(AX), Z28
	VMULPS    Z28, Z10, Z10
	VMULPS    Z28, Z11, Z11
	VBROADCASTSS 16(AX), Z28
	VMULPS    Z28, Z12, Z12
	VMULPS    Z28, Z13, Z13
	VBROADCASTSS 20(AX), Z28
	VMULPS    Z28, Z14, Z14
	VMULPS    Z28, Z15, Z15
	VBROADCASTSS 24(AX), Z28
	VMULPS    Z28, Z16, Z16
	VMULPS    Z28, Z17, Z17
	VBROADCASTSS 28(AX), Z28
	VMULPS    Z28, Z18, Z18
	VMULPS    Z28, Z19, Z19
	VBROADCASTSS 32(AX), Z28
	VMULPS    Z28, Z20, Z20
	VMULPS    Z28, Z21, Z21
	VBROADCASTSS 36(AX), Z28
	VMULPS    Z28, Z22, Z22
	VMULPS    Z28, Z23, Z23
	VBROADCASTSS 40(AX), Z28
	VMULPS    Z28, Z24, Z24
	VMULPS    Z28, Z25, Z25
	VBROADCASTSS 44(AX), Z28
	VMULPS    Z28, Z26, Z26
	VMULPS    Z28, Z27, Z27

	TESTQ $1, BX
	JZ    j8bias
	MOVQ  DX, AX
	VADDPS (AX), Z4, Z4
	VADDPS 64(AX), Z5, Z5
	ADDQ R8, AX
	VADDPS (AX), Z6, Z6
	VADDPS 64(AX), Z7, Z7
	ADDQ R8, AX
	VADDPS (AX), Z8, Z8
	VADDPS 64(AX), Z9, Z9
	ADDQ R8, AX
	VADDPS (AX), Z10, Z10
	VADDPS 64(AX), Z11, Z11
	ADDQ R8, AX
	VADDPS (AX), Z12, Z12
	VADDPS 64(AX), Z13, Z13
	ADDQ R8, AX
	VADDPS (AX), Z14, Z14
	VADDPS 64(AX), Z15, Z15
	ADDQ R8, AX
	VADDPS (AX), Z16, Z16
	VADDPS 64(AX), Z17, Z17
	ADDQ R8, AX
	VADDPS (AX), Z18, Z18
	VADDPS 64(AX), Z19, Z19
	ADDQ R8, AX
	VADDPS (AX), Z20, Z20
	VADDPS 64(AX), Z21, Z21
	ADDQ R8, AX
	VADDPS (AX), Z22, Z22
	VADDPS 64(AX), Z23, Z23
	ADDQ R8, AX
	VADDPS (AX), Z24, Z24
	VADDPS 64(AX), Z25, Z25
	ADDQ R8, AX
	VADDPS (AX), Z26, Z26
	VADDPS 64(AX), Z27, Z27
	ADDQ R8, AX

j8bias:
	TESTQ $2, BX
	JZ    j8prelu
	MOVQ  bias+88(FP), AX
	VMOVUPS (AX), Z0
	VMOVUPS 64(AX), Z1
	VADDPS Z0, Z4, Z4
	VADDPS Z1, Z5, Z5
	VADDPS Z0, Z6, Z6
	VADDPS Z1, Z7, Z7
	VADDPS Z0, Z8, Z8
	VADDPS Z1, Z9, Z9
	VADDPS Z0, Z10, Z10
	VADDPS Z1, Z11, Z11
	VADDPS Z0, Z12, Z12
	VADDPS Z1, Z13, Z13
	VADDPS Z0, Z14, Z14
	VADDPS Z1, Z15, Z15
	VADDPS Z0, Z16, Z16
	VADDPS Z1, Z17, Z17
	VADDPS Z0, Z18, Z18
	VADDPS Z1, Z19, Z19
	VADDPS Z0, Z20, Z20
	VADDPS Z1, Z21, Z21
	VADDPS Z0, Z22, Z22
	VADDPS Z1, Z23, Z23
	VADDPS Z0, Z24, Z24
	VADDPS Z1, Z25, Z25
	VADDPS Z0, Z26, Z26
	VADDPS Z1, Z27, Z27

j8prelu:
	TESTQ $4, BX
	JZ    j8relu
	MOVQ  alpha+96(FP), AX
	VMOVUPS (AX), Z0
	VMOVUPS 64(AX), Z1
	VPXORD Z28, Z28, Z28
	PRELUK(Z28, Z0, Z4)
	PRELUK(Z28, Z1, Z5)
	PRELUK(Z28, Z0, Z6)
	PRELUK(Z28, Z1, Z7)
	PRELUK(Z28, Z0, Z8)
	PRELUK(Z28, Z1, Z9)
	PRELUK(Z28, Z0, Z10)
	PRELUK(Z28, Z1, Z11)
	PRELUK(Z28, Z0, Z12)
	PRELUK(Z28, Z1, Z13)
	PRELUK(Z28, Z0, Z14)
	PRELUK(Z28, Z1, Z15)
	PRELUK(Z28, Z0, Z16)
	PRELUK(Z28, Z1, Z17)
	PRELUK(Z28, Z0, Z18)
	PRELUK(Z28, Z1, Z19)
	PRELUK(Z28, Z0, Z20)
	PRELUK(Z28, Z1, Z21)
	PRELUK(Z28, Z0, Z22)
	PRELUK(Z28, Z1, Z23)
	PRELUK(Z28, Z0, Z24)
	PRELUK(Z28, Z1, Z25)
	PRELUK(Z28, Z0, Z26)
	PRELUK(Z28, Z1, Z27)

j8relu:
	TESTQ $8, BX
	JZ    j8store
	VPXORD Z28, Z28, Z28
	RELU(Z28, Z4)
	RELU(Z28, Z5)
	RELU(Z28, Z6)
	RELU(Z28, Z7)
	RELU(Z28, Z8)
	RELU(Z28, Z9)
	RELU(Z28, Z10)
	RELU(Z28, Z11)
	RELU(Z28, Z12)
	RELU(Z28, Z13)
	RELU(Z28, Z14)
	RELU(Z28, Z15)
	RELU(Z28, Z16)
	RELU(Z28, Z17)
	RELU(Z28, Z18)
	RELU(Z28, Z19)
	RELU(Z28, Z20)
	RELU(Z28, Z21)
	RELU(Z28, Z22)
	RELU(Z28, Z23)
	RELU(Z28, Z24)
	RELU(Z28, Z25)
	RELU(Z28, Z26)
	RELU(Z28, Z27)

j8store:
	VMOVUPS Z4, (DX)
	VMOVUPS Z5, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z6, (DX)
	VMOVUPS Z7, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z8, (DX)
	VMOVUPS Z9, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z10, (DX)
	VMOVUPS Z11, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z12, (DX)
	VMOVUPS Z13, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z14, (DX)
	VMOVUPS Z15, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z16, (DX)
	VMOVUPS Z17, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z18, (DX)
	VMOVUPS Z19, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z20, (DX)
	VMOVUPS Z21, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z22, (DX)
	VMOVUPS Z23, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z24, (DX)
	VMOVUPS Z25, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z26, (DX)
	VMOVUPS Z27, 64(DX)
	ADDQ R8, DX
	VZEROUPPER
	RET

// func tile12x32I16Asm(k2 int, a *int16, lda int, b *int16, pstride int, c *float32, ldc int, flags int, comp *int32, rscale, cscale, bias, alpha *float32)
//
// tile12x32I8Asm with VPDPWSSD (int16 pairs; see tile12x16I16Asm).
TEXT ·tile12x32I16Asm(SB), NOSPLIT, $0-104
	MOVQ k2+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R9
	MOVQ b+24(FP), DI
	MOVQ pstride+32(FP), R15
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R8
	MOVQ flags+56(FP), BX
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
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	TESTQ CX, CX
	JZ    j16deq

	PCALIGN $32

j16loop: // acc[i][0:16] += A[i][step] · panel 0, acc[i][16:32] += A[i][step] · panel 1
	VMOVDQU32 (DI), Z0
	VMOVDQU32 (DI)(R15*1), Z1
	VPBROADCASTD (SI), Z28
	VPDPWSSD Z0, Z28, Z4
	VPDPWSSD Z1, Z28, Z5
	VPBROADCASTD (SI)(R9*1), Z29
	VPDPWSSD Z0, Z29, Z6
	VPDPWSSD Z1, Z29, Z7
	VPBROADCASTD (SI)(R9*2), Z30
	VPDPWSSD Z0, Z30, Z8
	VPDPWSSD Z1, Z30, Z9
	VPBROADCASTD (R10), Z31
	VPDPWSSD Z0, Z31, Z10
	VPDPWSSD Z1, Z31, Z11
	VPBROADCASTD (R10)(R9*1), Z28
	VPDPWSSD Z0, Z28, Z12
	VPDPWSSD Z1, Z28, Z13
	VPBROADCASTD (R10)(R9*2), Z29
	VPDPWSSD Z0, Z29, Z14
	VPDPWSSD Z1, Z29, Z15
	VPBROADCASTD (R12), Z30
	VPDPWSSD Z0, Z30, Z16
	VPDPWSSD Z1, Z30, Z17
	VPBROADCASTD (R12)(R9*1), Z31
	VPDPWSSD Z0, Z31, Z18
	VPDPWSSD Z1, Z31, Z19
	VPBROADCASTD (R12)(R9*2), Z28
	VPDPWSSD Z0, Z28, Z20
	VPDPWSSD Z1, Z28, Z21
	VPBROADCASTD (R13), Z29
	VPDPWSSD Z0, Z29, Z22
	VPDPWSSD Z1, Z29, Z23
	VPBROADCASTD (R13)(R9*1), Z30
	VPDPWSSD Z0, Z30, Z24
	VPDPWSSD Z1, Z30, Z25
	VPBROADCASTD (R13)(R9*2), Z31
	VPDPWSSD Z0, Z31, Z26
	VPDPWSSD Z1, Z31, Z27
	ADDQ $4, SI
	ADDQ $4, R10
	ADDQ $4, R12
	ADDQ $4, R13
	ADDQ $64, DI
	DECQ CX
	JNZ  j16loop

j16deq: // v = float32(acc - comp) * cscale * rscale[i], two panels
	MOVQ      comp+64(FP), AX
	TESTQ     AX, AX
	JZ        j16cvt         // comp nil: no correction
	VMOVDQU32 (AX), Z0
	VMOVDQU32 64(AX), Z1
	VPSUBD    Z0, Z4, Z4
	VPSUBD    Z1, Z5, Z5
	VPSUBD    Z0, Z6, Z6
	VPSUBD    Z1, Z7, Z7
	VPSUBD    Z0, Z8, Z8
	VPSUBD    Z1, Z9, Z9
	VPSUBD    Z0, Z10, Z10
	VPSUBD    Z1, Z11, Z11
	VPSUBD    Z0, Z12, Z12
	VPSUBD    Z1, Z13, Z13
	VPSUBD    Z0, Z14, Z14
	VPSUBD    Z1, Z15, Z15
	VPSUBD    Z0, Z16, Z16
	VPSUBD    Z1, Z17, Z17
	VPSUBD    Z0, Z18, Z18
	VPSUBD    Z1, Z19, Z19
	VPSUBD    Z0, Z20, Z20
	VPSUBD    Z1, Z21, Z21
	VPSUBD    Z0, Z22, Z22
	VPSUBD    Z1, Z23, Z23
	VPSUBD    Z0, Z24, Z24
	VPSUBD    Z1, Z25, Z25
	VPSUBD    Z0, Z26, Z26
	VPSUBD    Z1, Z27, Z27

j16cvt:
	VCVTDQ2PS Z4, Z4
	VCVTDQ2PS Z5, Z5
	VCVTDQ2PS Z6, Z6
	VCVTDQ2PS Z7, Z7
	VCVTDQ2PS Z8, Z8
	VCVTDQ2PS Z9, Z9
	VCVTDQ2PS Z10, Z10
	VCVTDQ2PS Z11, Z11
	VCVTDQ2PS Z12, Z12
	VCVTDQ2PS Z13, Z13
	VCVTDQ2PS Z14, Z14
	VCVTDQ2PS Z15, Z15
	VCVTDQ2PS Z16, Z16
	VCVTDQ2PS Z17, Z17
	VCVTDQ2PS Z18, Z18
	VCVTDQ2PS Z19, Z19
	VCVTDQ2PS Z20, Z20
	VCVTDQ2PS Z21, Z21
	VCVTDQ2PS Z22, Z22
	VCVTDQ2PS Z23, Z23
	VCVTDQ2PS Z24, Z24
	VCVTDQ2PS Z25, Z25
	VCVTDQ2PS Z26, Z26
	VCVTDQ2PS Z27, Z27
	MOVQ      cscale+80(FP), AX
	VMOVUPS   (AX), Z0
	VMOVUPS   64(AX), Z1
	VMULPS    Z0, Z4, Z4
	VMULPS    Z1, Z5, Z5
	VMULPS    Z0, Z6, Z6
	VMULPS    Z1, Z7, Z7
	VMULPS    Z0, Z8, Z8
	VMULPS    Z1, Z9, Z9
	VMULPS    Z0, Z10, Z10
	VMULPS    Z1, Z11, Z11
	VMULPS    Z0, Z12, Z12
	VMULPS    Z1, Z13, Z13
	VMULPS    Z0, Z14, Z14
	VMULPS    Z1, Z15, Z15
	VMULPS    Z0, Z16, Z16
	VMULPS    Z1, Z17, Z17
	VMULPS    Z0, Z18, Z18
	VMULPS    Z1, Z19, Z19
	VMULPS    Z0, Z20, Z20
	VMULPS    Z1, Z21, Z21
	VMULPS    Z0, Z22, Z22
	VMULPS    Z1, Z23, Z23
	VMULPS    Z0, Z24, Z24
	VMULPS    Z1, Z25, Z25
	VMULPS    Z0, Z26, Z26
	VMULPS    Z1, Z27, Z27
	MOVQ      rscale+72(FP), AX
	VBROADCASTSS 0(AX), Z28
	VMULPS    Z28, Z4, Z4
	VMULPS    Z28, Z5, Z5
	VBROADCASTSS 4(AX), Z28
	VMULPS    Z28, Z6, Z6
	VMULPS    Z28, Z7, Z7
	VBROADCASTSS 8(AX), Z28
	VMULPS    Z28, Z8, Z8
	VMULPS    Z28, Z9, Z9
	VBROADCASTSS 12(AX), Z28
	VMULPS    Z28, Z10, Z10
	VMULPS    Z28, Z11, Z11
	VBROADCASTSS 16(AX), Z28
	VMULPS    Z28, Z12, Z12
	VMULPS    Z28, Z13, Z13
	VBROADCASTSS 20(AX), Z28
	VMULPS    Z28, Z14, Z14
	VMULPS    Z28, Z15, Z15
	VBROADCASTSS 24(AX), Z28
	VMULPS    Z28, Z16, Z16
	VMULPS    Z28, Z17, Z17
	VBROADCASTSS 28(AX), Z28
	VMULPS    Z28, Z18, Z18
	VMULPS    Z28, Z19, Z19
	VBROADCASTSS 32(AX), Z28
	VMULPS    Z28, Z20, Z20
	VMULPS    Z28, Z21, Z21
	VBROADCASTSS 36(AX), Z28
	VMULPS    Z28, Z22, Z22
	VMULPS    Z28, Z23, Z23
	VBROADCASTSS 40(AX), Z28
	VMULPS    Z28, Z24, Z24
	VMULPS    Z28, Z25, Z25
	VBROADCASTSS 44(AX), Z28
	VMULPS    Z28, Z26, Z26
	VMULPS    Z28, Z27, Z27

	TESTQ $1, BX
	JZ    j16bias
	MOVQ  DX, AX
	VADDPS (AX), Z4, Z4
	VADDPS 64(AX), Z5, Z5
	ADDQ R8, AX
	VADDPS (AX), Z6, Z6
	VADDPS 64(AX), Z7, Z7
	ADDQ R8, AX
	VADDPS (AX), Z8, Z8
	VADDPS 64(AX), Z9, Z9
	ADDQ R8, AX
	VADDPS (AX), Z10, Z10
	VADDPS 64(AX), Z11, Z11
	ADDQ R8, AX
	VADDPS (AX), Z12, Z12
	VADDPS 64(AX), Z13, Z13
	ADDQ R8, AX
	VADDPS (AX), Z14, Z14
	VADDPS 64(AX), Z15, Z15
	ADDQ R8, AX
	VADDPS (AX), Z16, Z16
	VADDPS 64(AX), Z17, Z17
	ADDQ R8, AX
	VADDPS (AX), Z18, Z18
	VADDPS 64(AX), Z19, Z19
	ADDQ R8, AX
	VADDPS (AX), Z20, Z20
	VADDPS 64(AX), Z21, Z21
	ADDQ R8, AX
	VADDPS (AX), Z22, Z22
	VADDPS 64(AX), Z23, Z23
	ADDQ R8, AX
	VADDPS (AX), Z24, Z24
	VADDPS 64(AX), Z25, Z25
	ADDQ R8, AX
	VADDPS (AX), Z26, Z26
	VADDPS 64(AX), Z27, Z27
	ADDQ R8, AX

j16bias:
	TESTQ $2, BX
	JZ    j16prelu
	MOVQ  bias+88(FP), AX
	VMOVUPS (AX), Z0
	VMOVUPS 64(AX), Z1
	VADDPS Z0, Z4, Z4
	VADDPS Z1, Z5, Z5
	VADDPS Z0, Z6, Z6
	VADDPS Z1, Z7, Z7
	VADDPS Z0, Z8, Z8
	VADDPS Z1, Z9, Z9
	VADDPS Z0, Z10, Z10
	VADDPS Z1, Z11, Z11
	VADDPS Z0, Z12, Z12
	VADDPS Z1, Z13, Z13
	VADDPS Z0, Z14, Z14
	VADDPS Z1, Z15, Z15
	VADDPS Z0, Z16, Z16
	VADDPS Z1, Z17, Z17
	VADDPS Z0, Z18, Z18
	VADDPS Z1, Z19, Z19
	VADDPS Z0, Z20, Z20
	VADDPS Z1, Z21, Z21
	VADDPS Z0, Z22, Z22
	VADDPS Z1, Z23, Z23
	VADDPS Z0, Z24, Z24
	VADDPS Z1, Z25, Z25
	VADDPS Z0, Z26, Z26
	VADDPS Z1, Z27, Z27

j16prelu:
	TESTQ $4, BX
	JZ    j16relu
	MOVQ  alpha+96(FP), AX
	VMOVUPS (AX), Z0
	VMOVUPS 64(AX), Z1
	VPXORD Z28, Z28, Z28
	PRELUK(Z28, Z0, Z4)
	PRELUK(Z28, Z1, Z5)
	PRELUK(Z28, Z0, Z6)
	PRELUK(Z28, Z1, Z7)
	PRELUK(Z28, Z0, Z8)
	PRELUK(Z28, Z1, Z9)
	PRELUK(Z28, Z0, Z10)
	PRELUK(Z28, Z1, Z11)
	PRELUK(Z28, Z0, Z12)
	PRELUK(Z28, Z1, Z13)
	PRELUK(Z28, Z0, Z14)
	PRELUK(Z28, Z1, Z15)
	PRELUK(Z28, Z0, Z16)
	PRELUK(Z28, Z1, Z17)
	PRELUK(Z28, Z0, Z18)
	PRELUK(Z28, Z1, Z19)
	PRELUK(Z28, Z0, Z20)
	PRELUK(Z28, Z1, Z21)
	PRELUK(Z28, Z0, Z22)
	PRELUK(Z28, Z1, Z23)
	PRELUK(Z28, Z0, Z24)
	PRELUK(Z28, Z1, Z25)
	PRELUK(Z28, Z0, Z26)
	PRELUK(Z28, Z1, Z27)

j16relu:
	TESTQ $8, BX
	JZ    j16store
	VPXORD Z28, Z28, Z28
	RELU(Z28, Z4)
	RELU(Z28, Z5)
	RELU(Z28, Z6)
	RELU(Z28, Z7)
	RELU(Z28, Z8)
	RELU(Z28, Z9)
	RELU(Z28, Z10)
	RELU(Z28, Z11)
	RELU(Z28, Z12)
	RELU(Z28, Z13)
	RELU(Z28, Z14)
	RELU(Z28, Z15)
	RELU(Z28, Z16)
	RELU(Z28, Z17)
	RELU(Z28, Z18)
	RELU(Z28, Z19)
	RELU(Z28, Z20)
	RELU(Z28, Z21)
	RELU(Z28, Z22)
	RELU(Z28, Z23)
	RELU(Z28, Z24)
	RELU(Z28, Z25)
	RELU(Z28, Z26)
	RELU(Z28, Z27)

j16store:
	VMOVUPS Z4, (DX)
	VMOVUPS Z5, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z6, (DX)
	VMOVUPS Z7, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z8, (DX)
	VMOVUPS Z9, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z10, (DX)
	VMOVUPS Z11, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z12, (DX)
	VMOVUPS Z13, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z14, (DX)
	VMOVUPS Z15, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z16, (DX)
	VMOVUPS Z17, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z18, (DX)
	VMOVUPS Z19, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z20, (DX)
	VMOVUPS Z21, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z22, (DX)
	VMOVUPS Z23, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z24, (DX)
	VMOVUPS Z25, 64(DX)
	ADDQ R8, DX
	VMOVUPS Z26, (DX)
	VMOVUPS Z27, 64(DX)
	ADDQ R8, DX
	VZEROUPPER
	RET

// func gatherI8RowsAsm(codes *uint8, hp int, scale *float32, u *float32, ldu, w int, table *uint8, rb int, tscale *float32, rows *int32, n int)
//
// Reference loop (the twin is the loop in GatherI8Rows), hp a positive
// multiple of 64, w of 16:
//
//	for i := 0; i < n; i++ {
//		row := table[rows[i]*rb:]
//		copy(codes[i*hp:(i+1)*hp], row[:hp])      // 64 bytes a step
//		scale[i] = tscale[rows[i]]
//		for j := 0; j < w; j++ {                   // VCVTPH2PS, 16 a step
//			u[i*ldu+j] = float16 row[hp+2j:] widened
//		}
//	}
//
// Registers: DI &codes[i][0], R14 &u[i][0], R11 &scale[i], R10 &rows[i],
// SI the row, AX and BX steps left, DX &row's float16 values, CX count,
// R8 rb, R9 ldu in bytes, R12 hp, R13 w, R15 tscale, Z0 the data.
TEXT ·gatherI8RowsAsm(SB), NOSPLIT, $0-88
	MOVQ codes+0(FP), DI
	MOVQ hp+8(FP), R12
	MOVQ scale+16(FP), R11
	MOVQ u+24(FP), R14
	MOVQ ldu+32(FP), R9
	SHLQ $2, R9
	MOVQ w+40(FP), R13
	MOVQ rb+56(FP), R8
	MOVQ tscale+64(FP), R15
	MOVQ rows+72(FP), R10
	MOVQ n+80(FP), CX

grow:
	MOVLQSX (R10), BX            // r = rows[i]
	MOVL    (R15)(BX*4), AX
	MOVL    AX, (R11)            // scale[i] = tscale[r]
	IMULQ   R8, BX
	MOVQ    table+48(FP), SI
	ADDQ    BX, SI               // SI = &table[r*rb]
	LEAQ    (SI)(R12*1), DX      // DX = its float16 values
	MOVQ    R12, AX
	SHRQ    $6, AX

gcodes: // copy the codes, 64 bytes a step
	VMOVDQU8 (SI), Z0
	VMOVDQU8 Z0, (DI)
	ADDQ     $64, SI
	ADDQ     $64, DI
	DECQ     AX
	JNZ      gcodes

	MOVQ R13, AX
	SHRQ $4, AX
	MOVQ R14, BX

gwiden: // widen the float16 values, 16 a step
	VCVTPH2PS (DX), Z0
	VMOVUPS   Z0, (BX)
	ADDQ      $32, DX
	ADDQ      $64, BX
	DECQ      AX
	JNZ       gwiden

	ADDQ R9, R14
	ADDQ $4, R11
	ADDQ $4, R10
	DECQ CX
	JNZ  grow
	VZEROUPPER
	RET
