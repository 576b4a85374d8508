//go:build !purego

#include "textflag.h"

// func expAsm(x, y *float32, n int, c *[10]float32)
//
// Reference loop (twin: expGeneric; c is expConsts), n a positive multiple
// of 8, eight lanes at a time:
//
//	for i := 0; i < n; i++ {
//		v := min(max(x[i], c[1]), c[0])
//		f := floor(v*c[2] + 0.5)        // n in 2^n, one FMA
//		v = v - f*c[3] - f*c[4]         // two FMAs
//		p := c[5]*v + c[6]              // Horner, one FMA per step
//		p = p*v + c[7]; p = p*v + c[8]; p = p*v + c[9]; p = p*v + 0.5
//		y[i] = (p*(v*v) + v + 1) * 2^f  // 2^f built in the exponent bits
//	}
//
// Registers:
//
//	SI, DI    &x[i], &y[i]
//	CX        values left
//	DX        c
//	Y8, Y9    the clamps c[0], c[1]
//	Y10..Y12  log2(e), C1, C2
//	Y13..Y15  0.5, 1.0, the exponent bias 127 (integer lanes)
//	Y0        v; Y1 f; Y2 v·v; Y3 p; Y4 the next coefficient; Y5 2^f
TEXT ·expAsm(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ c+24(FP), DX
	VBROADCASTSS 0(DX), Y8   // hi clamp
	VBROADCASTSS 4(DX), Y9   // lo clamp
	VBROADCASTSS 8(DX), Y10  // log2e
	VBROADCASTSS 12(DX), Y11 // C1
	VBROADCASTSS 16(DX), Y12 // C2
	MOVL         $0x3f000000, AX
	MOVD         AX, X13
	VBROADCASTSS X13, Y13    // 0.5
	MOVL         $0x3f800000, AX
	MOVD         AX, X14
	VBROADCASTSS X14, Y14    // 1.0
	MOVL         $127, AX
	MOVD         AX, X15
	VPBROADCASTD X15, Y15    // 127

loop: // eight values of y = exp(x)
	VMOVUPS      (SI), Y0
	VMINPS       Y0, Y8, Y0   // min(hi, x): x is the second source, so a NaN x stays NaN
	VMAXPS       Y0, Y9, Y0   // max(lo, x), likewise
	VMOVAPS      Y13, Y1
	VFMADD231PS  Y10, Y0, Y1  // Y1 = x·log2e + 0.5
	VROUNDPS     $1, Y1, Y1   // floor
	VFNMADD231PS Y11, Y1, Y0  // x −= n·C1
	VFNMADD231PS Y12, Y1, Y0  // x −= n·C2
	VMULPS       Y0, Y0, Y2   // z
	VBROADCASTSS 20(DX), Y3
	VBROADCASTSS 24(DX), Y4
	VFMADD213PS  Y4, Y0, Y3   // p = p·x + c6
	VBROADCASTSS 28(DX), Y4
	VFMADD213PS  Y4, Y0, Y3
	VBROADCASTSS 32(DX), Y4
	VFMADD213PS  Y4, Y0, Y3
	VBROADCASTSS 36(DX), Y4
	VFMADD213PS  Y4, Y0, Y3
	VFMADD213PS  Y13, Y0, Y3  // p·x + 0.5
	VFMADD213PS  Y0, Y2, Y3   // p·z + x
	VADDPS       Y14, Y3, Y3  // + 1
	VCVTTPS2DQ   Y1, Y5
	VPADDD       Y15, Y5, Y5
	VPSLLD       $23, Y5, Y5
	VMULPS       Y5, Y3, Y3
	VMOVUPS      Y3, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          loop
	VZEROUPPER
	RET
