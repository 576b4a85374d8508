//go:build !purego

#include "textflag.h"

// Column kernels: n ≥ 1 rows of c (a positive multiple of 8) columns,
// 8 columns per step; per-column vectors restart at every row.

// func colSumsAsm(x, s *float32, n, c int)
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
