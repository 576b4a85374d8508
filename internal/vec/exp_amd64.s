//go:build !purego

#include "textflag.h"

// func expAsm(x, y *float32, n int, c *[10]float32)
// Eight lanes of expGeneric: clamp, n = floor(x·log2e + 1/2),
// r = x − n·C1 − n·C2, degree-5 polynomial, scale by 2^n through the
// exponent bits. n is a positive multiple of 8.
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

loop:
	VMOVUPS      (SI), Y0
	VMINPS       Y8, Y0, Y0
	VMAXPS       Y9, Y0, Y0
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
