//go:build !purego

#include "textflag.h"

// The half-precision conversions of f16.go (F16C), bit-exact with their
// twins, github.com/x448/float16.

// func f16ToF32Asm(dst *float32, src *uint16, n int)
//
// Reference loop, n a positive multiple of 8 (32 values a step while
// possible, then 8):
//
//	for i := 0; i < n; i++ {
//		dst[i] = float16.Frombits(src[i]).Float32()
//	}
//
// Registers: SI &src[i], DI &dst[i], CX values left, Y0..Y3 widened values.
TEXT ·f16ToF32Asm(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

wide:
	CMPQ      CX, $32
	JLT       narrow
	VCVTPH2PS (SI), Y0
	VCVTPH2PS 16(SI), Y1
	VCVTPH2PS 32(SI), Y2
	VCVTPH2PS 48(SI), Y3
	VMOVUPS   Y0, (DI)
	VMOVUPS   Y1, 32(DI)
	VMOVUPS   Y2, 64(DI)
	VMOVUPS   Y3, 96(DI)
	ADDQ      $64, SI
	ADDQ      $128, DI
	SUBQ      $32, CX
	JMP       wide

narrow:
	TESTQ     CX, CX
	JZ        done
	VCVTPH2PS (SI), Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JMP       narrow

done:
	VZEROUPPER
	RET

// func f32ToF16Asm(dst *uint16, src *float32, n int)
//
// Reference loop, n a positive multiple of 8, eight values a step;
// VCVTPS2PH's rounding mode 0 is to nearest, ties to even:
//
//	for i := 0; i < n; i++ {
//		dst[i] = float16.Fromfloat32(src[i]).Bits()
//	}
//
// Registers: SI &src[i], DI &dst[i], CX values left, Y0 → X1 the values.
TEXT ·f32ToF16Asm(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X1
	VMOVUPS   X1, (DI)
	ADDQ      $32, SI
	ADDQ      $16, DI
	SUBQ      $8, CX
	JNZ       loop
	VZEROUPPER
	RET
