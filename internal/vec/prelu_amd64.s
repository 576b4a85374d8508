//go:build !purego

#include "textflag.h"

// The PReLU kernels of prelu.go over n ≥ 1 rows of c columns, c a positive
// multiple of 8, eight columns per step; alpha restarts at every row.
// Branch-free, because the sign of an activation is unpredictable.

// func preluFwdAsm(x, alpha, y *float32, n, c int)
//
// Reference loop (twin: preluFwdGeneric; equal bits for finite x):
//
//	for i := 0; i < n; i++ {
//		for j := 0; j < c; j++ {
//			v := x[i*c+j]
//			y[i*c+j] = max(v, 0) + alpha[j]*min(v, 0) // one FMA
//		}
//	}
//
// Registers:
//
//	SI, DI    &x[i][j], &y[i][j]
//	DX, R10   &alpha[0], &alpha[j]
//	CX, R8, R9  rows left, c, columns of this row left
//	Y15       0
//	Y0..Y3    x, alpha, min(x, 0), max(x, 0) then the result
TEXT ·preluFwdAsm(SB), NOSPLIT, $0-40
	MOVQ   x+0(FP), SI
	MOVQ   alpha+8(FP), DX
	MOVQ   y+16(FP), DI
	MOVQ   n+24(FP), CX
	MOVQ   c+32(FP), R8
	VXORPS Y15, Y15, Y15

fwdrow:
	MOVQ DX, R10
	MOVQ R8, R9

fwdcol:
	VMOVUPS     (SI), Y0
	VMOVUPS     (R10), Y1
	VMINPS      Y15, Y0, Y2
	VMAXPS      Y15, Y0, Y3
	VFMADD231PS Y1, Y2, Y3
	VMOVUPS     Y3, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	ADDQ        $32, R10
	SUBQ        $8, R9
	JNZ         fwdcol
	DECQ        CX
	JNZ         fwdrow
	VZEROUPPER
	RET

// func preluBwdAsm(x, alpha, dy, dx, galpha *float32, n, c int)
//
// Reference loop (twin: preluBwdGeneric):
//
//	for i := 0; i < n; i++ {
//		for j := 0; j < c; j++ {
//			v, d := x[i*c+j], dy[i*c+j]
//			galpha[j] += d * min(v, 0) // one FMA
//			switch {
//			case v > 0:
//				dx[i*c+j] = d
//			case v < 0:
//				dx[i*c+j] = d * alpha[j]
//			default:
//				dx[i*c+j] = 0
//			}
//		}
//	}
//
// dx is (d AND mask(v > 0)) + (d·alpha AND mask(v < 0)).
//
// Registers:
//
//	SI, BX, DI  &x[i][j], &dy[i][j], &dx[i][j]
//	DX, R10     &alpha[0], &alpha[j]
//	R11, R12    &galpha[0], &galpha[j]
//	CX, R8, R9  rows left, c, columns of this row left
//	Y15         0
//	Y0, Y1, Y2  x, dy, alpha
//	Y3, Y4      min(x, 0), galpha
//	Y5, Y6      the masks x > 0 and x < 0
//	Y7, Y8      dy·alpha, then the two masked terms and their sum
TEXT ·preluBwdAsm(SB), NOSPLIT, $0-56
	MOVQ   x+0(FP), SI
	MOVQ   alpha+8(FP), DX
	MOVQ   dy+16(FP), BX
	MOVQ   dx+24(FP), DI
	MOVQ   galpha+32(FP), R11
	MOVQ   n+40(FP), CX
	MOVQ   c+48(FP), R8
	VXORPS Y15, Y15, Y15

bwdrow:
	MOVQ DX, R10
	MOVQ R11, R12
	MOVQ R8, R9

bwdcol:
	VMOVUPS     (SI), Y0
	VMOVUPS     (BX), Y1
	VMOVUPS     (R10), Y2
	VMINPS      Y15, Y0, Y3
	VMOVUPS     (R12), Y4
	VFMADD231PS Y1, Y3, Y4
	VMOVUPS     Y4, (R12)
	VCMPPS      $0x0e, Y15, Y0, Y5
	VCMPPS      $0x01, Y15, Y0, Y6
	VMULPS      Y1, Y2, Y7
	VANDPS      Y5, Y1, Y8
	VANDPS      Y6, Y7, Y7
	VADDPS      Y7, Y8, Y8
	VMOVUPS     Y8, (DI)
	ADDQ        $32, SI
	ADDQ        $32, BX
	ADDQ        $32, DI
	ADDQ        $32, R10
	ADDQ        $32, R12
	SUBQ        $8, R9
	JNZ         bwdcol
	DECQ        CX
	JNZ         bwdrow
	VZEROUPPER
	RET
