//go:build !purego

#include "textflag.h"

// The peak loops of peak.go: n iterations of 12 independent 512-bit
// multiply-add instructions (accumulators Z4..Z15, sources Z0 and Z1 held
// at 0, so no value is ever denormal). Twelve chains cover the latency (4-6
// cycles) of two issue ports. Reference loop, for op one of VFMADD231PS,
// VDPBF16PS, VPDPBUSD, VPDPWSSD:
//
//	for i := 0; i < n; i++ {
//		for r := 4; r < 16; r++ { Z[r] = op(Z0, Z1, Z[r]) }
//	}

// func peakFMA32(n int)
//
// float32 FMA: 16 multiply-adds an instruction.
TEXT ·peakFMA32(SB), NOSPLIT, $0-8
	MOVQ n+0(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
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
	PCALIGN $32

peakFMA32loop:
	VFMADD231PS Z0, Z1, Z4
	VFMADD231PS Z0, Z1, Z5
	VFMADD231PS Z0, Z1, Z6
	VFMADD231PS Z0, Z1, Z7
	VFMADD231PS Z0, Z1, Z8
	VFMADD231PS Z0, Z1, Z9
	VFMADD231PS Z0, Z1, Z10
	VFMADD231PS Z0, Z1, Z11
	VFMADD231PS Z0, Z1, Z12
	VFMADD231PS Z0, Z1, Z13
	VFMADD231PS Z0, Z1, Z14
	VFMADD231PS Z0, Z1, Z15
	DECQ CX
	JNZ  peakFMA32loop
	VZEROUPPER
	RET

// func peakBF16(n int)
//
// bfloat16 dot products (AVX512_BF16): 32 multiply-adds an instruction.
TEXT ·peakBF16(SB), NOSPLIT, $0-8
	MOVQ n+0(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
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
	PCALIGN $32

peakBF16loop:
	// VDPBF16PS Z0, Z1, Z4 (Go order), encoded: the Go assembler lacks AVX512_BF16
	BYTE $0x62; BYTE $0xf2; BYTE $0x76; BYTE $0x48; BYTE $0x52; BYTE $0xe0
	// VDPBF16PS Z0, Z1, Z5 (Go order), encoded: the Go assembler lacks AVX512_BF16
	BYTE $0x62; BYTE $0xf2; BYTE $0x76; BYTE $0x48; BYTE $0x52; BYTE $0xe8
	// VDPBF16PS Z0, Z1, Z6 (Go order), encoded: the Go assembler lacks AVX512_BF16
	BYTE $0x62; BYTE $0xf2; BYTE $0x76; BYTE $0x48; BYTE $0x52; BYTE $0xf0
	// VDPBF16PS Z0, Z1, Z7 (Go order), encoded: the Go assembler lacks AVX512_BF16
	BYTE $0x62; BYTE $0xf2; BYTE $0x76; BYTE $0x48; BYTE $0x52; BYTE $0xf8
	// VDPBF16PS Z0, Z1, Z8 (Go order), encoded: the Go assembler lacks AVX512_BF16
	BYTE $0x62; BYTE $0x72; BYTE $0x76; BYTE $0x48; BYTE $0x52; BYTE $0xc0
	// VDPBF16PS Z0, Z1, Z9 (Go order), encoded: the Go assembler lacks AVX512_BF16
	BYTE $0x62; BYTE $0x72; BYTE $0x76; BYTE $0x48; BYTE $0x52; BYTE $0xc8
	// VDPBF16PS Z0, Z1, Z10 (Go order), encoded: the Go assembler lacks AVX512_BF16
	BYTE $0x62; BYTE $0x72; BYTE $0x76; BYTE $0x48; BYTE $0x52; BYTE $0xd0
	// VDPBF16PS Z0, Z1, Z11 (Go order), encoded: the Go assembler lacks AVX512_BF16
	BYTE $0x62; BYTE $0x72; BYTE $0x76; BYTE $0x48; BYTE $0x52; BYTE $0xd8
	// VDPBF16PS Z0, Z1, Z12 (Go order), encoded: the Go assembler lacks AVX512_BF16
	BYTE $0x62; BYTE $0x72; BYTE $0x76; BYTE $0x48; BYTE $0x52; BYTE $0xe0
	// VDPBF16PS Z0, Z1, Z13 (Go order), encoded: the Go assembler lacks AVX512_BF16
	BYTE $0x62; BYTE $0x72; BYTE $0x76; BYTE $0x48; BYTE $0x52; BYTE $0xe8
	// VDPBF16PS Z0, Z1, Z14 (Go order), encoded: the Go assembler lacks AVX512_BF16
	BYTE $0x62; BYTE $0x72; BYTE $0x76; BYTE $0x48; BYTE $0x52; BYTE $0xf0
	// VDPBF16PS Z0, Z1, Z15 (Go order), encoded: the Go assembler lacks AVX512_BF16
	BYTE $0x62; BYTE $0x72; BYTE $0x76; BYTE $0x48; BYTE $0x52; BYTE $0xf8
	DECQ CX
	JNZ  peakBF16loop
	VZEROUPPER
	RET

// func peakVNNI8(n int)
//
// u8·s8 dot products (AVX512_VNNI): 64 multiply-adds an instruction.
TEXT ·peakVNNI8(SB), NOSPLIT, $0-8
	MOVQ n+0(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
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
	PCALIGN $32

peakVNNI8loop:
	VPDPBUSD Z0, Z1, Z4
	VPDPBUSD Z0, Z1, Z5
	VPDPBUSD Z0, Z1, Z6
	VPDPBUSD Z0, Z1, Z7
	VPDPBUSD Z0, Z1, Z8
	VPDPBUSD Z0, Z1, Z9
	VPDPBUSD Z0, Z1, Z10
	VPDPBUSD Z0, Z1, Z11
	VPDPBUSD Z0, Z1, Z12
	VPDPBUSD Z0, Z1, Z13
	VPDPBUSD Z0, Z1, Z14
	VPDPBUSD Z0, Z1, Z15
	DECQ CX
	JNZ  peakVNNI8loop
	VZEROUPPER
	RET

// func peakVNNI16(n int)
//
// s16·s16 dot products (AVX512_VNNI): 32 multiply-adds an instruction.
TEXT ·peakVNNI16(SB), NOSPLIT, $0-8
	MOVQ n+0(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
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
	PCALIGN $32

peakVNNI16loop:
	VPDPWSSD Z0, Z1, Z4
	VPDPWSSD Z0, Z1, Z5
	VPDPWSSD Z0, Z1, Z6
	VPDPWSSD Z0, Z1, Z7
	VPDPWSSD Z0, Z1, Z8
	VPDPWSSD Z0, Z1, Z9
	VPDPWSSD Z0, Z1, Z10
	VPDPWSSD Z0, Z1, Z11
	VPDPWSSD Z0, Z1, Z12
	VPDPWSSD Z0, Z1, Z13
	VPDPWSSD Z0, Z1, Z14
	VPDPWSSD Z0, Z1, Z15
	DECQ CX
	JNZ  peakVNNI16loop
	VZEROUPPER
	RET

