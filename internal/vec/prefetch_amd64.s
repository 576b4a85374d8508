//go:build !purego

#include "textflag.h"

// func prefetchRowsAsm(table unsafe.Pointer, rowBytes int, rows *int32, n int)
//
// Reference loop (the plain-Go twin does nothing: a prefetch changes no
// result), n ≥ 1, rowBytes ≥ 1:
//
//	for _, r := range rows[:n] {
//		for off := 0; off < rowBytes; off += 64 {
//			PREFETCHT1(table + int(r)*rowBytes + off) // into L2
//		}
//	}
//
// Registers: SI table, R8 rowBytes, DI &rows[i], CX rows left, AX the line
// address, DX bytes of the row left.
TEXT ·prefetchRowsAsm(SB), NOSPLIT, $0-32
	MOVQ table+0(FP), SI
	MOVQ rowBytes+8(FP), R8
	MOVQ rows+16(FP), DI
	MOVQ n+24(FP), CX

pfrow:
	MOVLQSX (DI), AX
	IMULQ   R8, AX
	ADDQ    SI, AX
	MOVQ    R8, DX

pfline:
	PREFETCHT1 (AX)
	ADDQ       $64, AX
	SUBQ       $64, DX
	JG         pfline
	ADDQ       $4, DI
	DECQ       CX
	JNZ        pfrow
	RET
