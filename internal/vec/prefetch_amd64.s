//go:build !purego

#include "textflag.h"

// func prefetchRowsAsm(table unsafe.Pointer, rowBytes int, rows *int32, n int)
// PREFETCHT1 every 64-byte line of each row (rows are int32 indices).
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
