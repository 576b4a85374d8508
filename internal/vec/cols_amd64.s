//go:build !purego

#include "textflag.h"

// The column kernels of cols.go over n ≥ 1 rows of c columns, c a positive
// multiple of 8: eight columns per step, the per-column operands (s, mean,
// a, b, k) restarting at every row. Their twins are the Go loops of
// ColSums, ColSumSqDiff, ColDotSums, ColAffine and ColAffine2.
//
// Registers common to the five:
//
//	SI        &x[i][j] (first matrix operand), walking all n·c values
//	CX        rows left
//	R8        c; R9 columns of this row left
//	R10       &s[j], &mean[j] or &a[j] (restarted per row from DX)
//	R11, R12  the second and third per-column operand (restarted per row)
//	Y0..Y2    eight columns of the operands

// func colSumsAsm(x, s *float32, n, c int)
//
//	for i := 0; i < n; i++ {
//		for j := 0; j < c; j++ {
//			s[j] += x[i*c+j]
//		}
//	}
TEXT ·colSumsAsm(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ s+8(FP), DX
	MOVQ n+16(FP), CX
	MOVQ c+24(FP), R8

csrow:
	MOVQ DX, R10
	MOVQ R8, R9

cscol:
	VMOVUPS (R10), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (R10)
	ADDQ    $32, SI
	ADDQ    $32, R10
	SUBQ    $8, R9
	JNZ     cscol
	DECQ    CX
	JNZ     csrow
	VZEROUPPER
	RET

// func colSumSqDiffAsm(x, mean, s *float32, n, c int)
//
//	for i := 0; i < n; i++ {
//		for j := 0; j < c; j++ {
//			d := x[i*c+j] - mean[j]
//			s[j] += d * d // one FMA
//		}
//	}
//
// BX is &mean[0]; R10 walks s, R11 mean.
TEXT ·colSumSqDiffAsm(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ mean+8(FP), BX
	MOVQ s+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ c+32(FP), R8

sqrow:
	MOVQ DX, R10
	MOVQ BX, R11
	MOVQ R8, R9

sqcol:
	VMOVUPS     (SI), Y1
	VSUBPS      (R11), Y1, Y1
	VMOVUPS     (R10), Y0
	VFMADD231PS Y1, Y1, Y0
	VMOVUPS     Y0, (R10)
	ADDQ        $32, SI
	ADDQ        $32, R10
	ADDQ        $32, R11
	SUBQ        $8, R9
	JNZ         sqcol
	DECQ        CX
	JNZ         sqrow
	VZEROUPPER
	RET

// func colDotSumsAsm(a, b, s *float32, n, c int)
//
//	for i := 0; i < n; i++ {
//		for j := 0; j < c; j++ {
//			s[j] += a[i*c+j] * b[i*c+j] // one FMA
//		}
//	}
//
// SI walks a, BX walks b, R10 s.
TEXT ·colDotSumsAsm(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), BX
	MOVQ s+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ c+32(FP), R8

dsrow:
	MOVQ DX, R10
	MOVQ R8, R9

dscol:
	VMOVUPS     (SI), Y1
	VMOVUPS     (R10), Y0
	VFMADD231PS (BX), Y1, Y0
	VMOVUPS     Y0, (R10)
	ADDQ        $32, SI
	ADDQ        $32, BX
	ADDQ        $32, R10
	SUBQ        $8, R9
	JNZ         dscol
	DECQ        CX
	JNZ         dsrow
	VZEROUPPER
	RET

// func colAffineAsm(x, a, b, y *float32, n, c int)
//
//	for i := 0; i < n; i++ {
//		for j := 0; j < c; j++ {
//			y[i*c+j] = x[i*c+j]*a[j] + b[j] // one FMA
//		}
//	}
//
// DI walks y; R10 walks a, R11 b.
TEXT ·colAffineAsm(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ a+8(FP), DX
	MOVQ b+16(FP), BX
	MOVQ y+24(FP), DI
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), R8

afrow:
	MOVQ DX, R10
	MOVQ BX, R11
	MOVQ R8, R9

afcol:
	VMOVUPS     (SI), Y0
	VMOVUPS     (R10), Y1
	VFMADD213PS (R11), Y1, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	ADDQ        $32, R10
	ADDQ        $32, R11
	SUBQ        $8, R9
	JNZ         afcol
	DECQ        CX
	JNZ         afrow
	VZEROUPPER
	RET

// func colAffine2Asm(x1, x2, a, b, k, y *float32, n, c int)
//
//	for i := 0; i < n; i++ {
//		for j := 0; j < c; j++ {
//			y[i*c+j] = x1[i*c+j]*a[j] + k[j] + x2[i*c+j]*b[j] // two FMAs, in this order
//		}
//	}
//
// SI walks x1, BX x2, DI y; R10 walks a, R11 b, R12 k.
TEXT ·colAffine2Asm(SB), NOSPLIT, $0-64
	MOVQ x1+0(FP), SI
	MOVQ x2+8(FP), BX
	MOVQ a+16(FP), DX
	MOVQ b+24(FP), R13
	MOVQ k+32(FP), R14
	MOVQ y+40(FP), DI
	MOVQ n+48(FP), CX
	MOVQ c+56(FP), R8

a2row:
	MOVQ DX, R10
	MOVQ R13, R11
	MOVQ R14, R12
	MOVQ R8, R9

a2col:
	VMOVUPS     (SI), Y0
	VMOVUPS     (R10), Y1
	VFMADD213PS (R12), Y1, Y0
	VMOVUPS     (R11), Y2
	VFMADD231PS (BX), Y2, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, BX
	ADDQ        $32, DI
	ADDQ        $32, R10
	ADDQ        $32, R11
	ADDQ        $32, R12
	SUBQ        $8, R9
	JNZ         a2col
	DECQ        CX
	JNZ         a2row
	VZEROUPPER
	RET
