//go:build !purego

#include "textflag.h"

// func preluFwdAsm(x, alpha, y *float32, n, c int)
// y = max(x, 0) + alpha·min(x, 0), 8 columns at a time; c % 8 == 0, n ≥ 1.
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
// galpha += dy·min(x, 0); dx = (dy if x > 0) + (alpha·dy if x < 0).
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
