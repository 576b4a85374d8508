//go:build !purego

#include "textflag.h"

// The fused row pass of layernorm.go, generated for 8 lanes (AVX2) and 16
// (AVX-512F). Constants, each in 8 lanes: the abs mask, the clamp 8,
// GELU's b6..b1 (A&S 7.1.28's a_i/√2^i), 1.0 and 0.5.
DATA lnconst<>+0(SB)/4, $0x7fffffff
DATA lnconst<>+4(SB)/4, $0x7fffffff
DATA lnconst<>+8(SB)/4, $0x7fffffff
DATA lnconst<>+12(SB)/4, $0x7fffffff
DATA lnconst<>+16(SB)/4, $0x7fffffff
DATA lnconst<>+20(SB)/4, $0x7fffffff
DATA lnconst<>+24(SB)/4, $0x7fffffff
DATA lnconst<>+28(SB)/4, $0x7fffffff
DATA lnconst<>+32(SB)/4, $0x41000000
DATA lnconst<>+36(SB)/4, $0x41000000
DATA lnconst<>+40(SB)/4, $0x41000000
DATA lnconst<>+44(SB)/4, $0x41000000
DATA lnconst<>+48(SB)/4, $0x41000000
DATA lnconst<>+52(SB)/4, $0x41000000
DATA lnconst<>+56(SB)/4, $0x41000000
DATA lnconst<>+60(SB)/4, $0x41000000
DATA lnconst<>+64(SB)/4, $0x36b49f67
DATA lnconst<>+68(SB)/4, $0x36b49f67
DATA lnconst<>+72(SB)/4, $0x36b49f67
DATA lnconst<>+76(SB)/4, $0x36b49f67
DATA lnconst<>+80(SB)/4, $0x36b49f67
DATA lnconst<>+84(SB)/4, $0x36b49f67
DATA lnconst<>+88(SB)/4, $0x36b49f67
DATA lnconst<>+92(SB)/4, $0x36b49f67
DATA lnconst<>+96(SB)/4, $0x384d0fec
DATA lnconst<>+100(SB)/4, $0x384d0fec
DATA lnconst<>+104(SB)/4, $0x384d0fec
DATA lnconst<>+108(SB)/4, $0x384d0fec
DATA lnconst<>+112(SB)/4, $0x384d0fec
DATA lnconst<>+116(SB)/4, $0x384d0fec
DATA lnconst<>+120(SB)/4, $0x384d0fec
DATA lnconst<>+124(SB)/4, $0x384d0fec
DATA lnconst<>+128(SB)/4, $0x381f6607
DATA lnconst<>+132(SB)/4, $0x381f6607
DATA lnconst<>+136(SB)/4, $0x381f6607
DATA lnconst<>+140(SB)/4, $0x381f6607
DATA lnconst<>+144(SB)/4, $0x381f6607
DATA lnconst<>+148(SB)/4, $0x381f6607
DATA lnconst<>+152(SB)/4, $0x381f6607
DATA lnconst<>+156(SB)/4, $0x381f6607
DATA lnconst<>+160(SB)/4, $0x3b56cd72
DATA lnconst<>+164(SB)/4, $0x3b56cd72
DATA lnconst<>+168(SB)/4, $0x3b56cd72
DATA lnconst<>+172(SB)/4, $0x3b56cd72
DATA lnconst<>+176(SB)/4, $0x3b56cd72
DATA lnconst<>+180(SB)/4, $0x3b56cd72
DATA lnconst<>+184(SB)/4, $0x3b56cd72
DATA lnconst<>+188(SB)/4, $0x3b56cd72
DATA lnconst<>+192(SB)/4, $0x3cad2fe7
DATA lnconst<>+196(SB)/4, $0x3cad2fe7
DATA lnconst<>+200(SB)/4, $0x3cad2fe7
DATA lnconst<>+204(SB)/4, $0x3cad2fe7
DATA lnconst<>+208(SB)/4, $0x3cad2fe7
DATA lnconst<>+212(SB)/4, $0x3cad2fe7
DATA lnconst<>+216(SB)/4, $0x3cad2fe7
DATA lnconst<>+220(SB)/4, $0x3cad2fe7
DATA lnconst<>+224(SB)/4, $0x3d4c41b4
DATA lnconst<>+228(SB)/4, $0x3d4c41b4
DATA lnconst<>+232(SB)/4, $0x3d4c41b4
DATA lnconst<>+236(SB)/4, $0x3d4c41b4
DATA lnconst<>+240(SB)/4, $0x3d4c41b4
DATA lnconst<>+244(SB)/4, $0x3d4c41b4
DATA lnconst<>+248(SB)/4, $0x3d4c41b4
DATA lnconst<>+252(SB)/4, $0x3d4c41b4
DATA lnconst<>+256(SB)/4, $0x3f800000
DATA lnconst<>+260(SB)/4, $0x3f800000
DATA lnconst<>+264(SB)/4, $0x3f800000
DATA lnconst<>+268(SB)/4, $0x3f800000
DATA lnconst<>+272(SB)/4, $0x3f800000
DATA lnconst<>+276(SB)/4, $0x3f800000
DATA lnconst<>+280(SB)/4, $0x3f800000
DATA lnconst<>+284(SB)/4, $0x3f800000
DATA lnconst<>+288(SB)/4, $0x3f000000
DATA lnconst<>+292(SB)/4, $0x3f000000
DATA lnconst<>+296(SB)/4, $0x3f000000
DATA lnconst<>+300(SB)/4, $0x3f000000
DATA lnconst<>+304(SB)/4, $0x3f000000
DATA lnconst<>+308(SB)/4, $0x3f000000
DATA lnconst<>+312(SB)/4, $0x3f000000
DATA lnconst<>+316(SB)/4, $0x3f000000
GLOBL lnconst<>(SB), RODATA|NOPTR, $320

// func layerNormAVX2(x *float32, rows, cols int, scale, bias *float32, eps float32, flags int, dot *float32, dotBias float32, y *float32, stats *float32)
// func layerNormAVX512(same)
//
// Reference loop (twin: layerNormGeneric), cols a positive multiple of the
// lane count (8, or 16 for AVX-512):
//
//	phase A, each row r (r < rows ≤ 32): mean = Σx·(1/cols);
//	          var = Σ(x−mean)²·(1/cols); stats[r], stats[32+r] = mean, var
//	          then stats[32:64] = 1/sqrt(stats[32:64] + eps), vectorised
//	phase B, each row r, a lane vector at a time:
//	  t = (x−mean)·rstd·scale + bias
//	  if flags&1: a = min(|t|, 8); p = 1 + b1·a + … + b6·a⁶; r = 1/p¹⁶
//	              t = max(t, 0) − a·r/2   (GELU; 1/p¹⁶ by VRCPPS/VRCP14PS
//	                                       and one Newton step)
//	  if flags&2: acc += t·dot, y[r] = Σacc + dotBias; else y[r, :] = t
//
// Registers: SI the row of x; DI y (the row, or the row's value); DX the
// row's stats; R8 rows left; R13 bytes per row; BX the byte offset in the
// row; R9, R10, R11 scale, bias, dot; R12 flags; X14 1/cols. Lanes: 0 the
// sums, 1 t, 2 mean, 3 rstd, 4 the dot accumulator, 9..11 GELU's a, r₀, p.
// AVX2: Y6 0, Y12 1.0, the other constants from memory. AVX-512: the
// constants in Z16..Z25 (abs mask, clamp, b6..b1, 1.0, 0.5), Z26 0.

TEXT ·layerNormAVX2(SB), NOSPLIT, $0-88
	MOVQ x+0(FP), SI
	MOVQ rows+8(FP), R8
	MOVQ cols+16(FP), R13
	MOVQ stats+80(FP), DX
	VCVTSI2SSQ R13, X14, X14
	VMOVSS lnconst<>+256(SB), X0
	VDIVSS X14, X0, X14          // 1/cols
	SHLQ $2, R13                 // bytes per row

	// Phase A: every row's mean and 1/sqrt(var + eps) into stats. The
	// rows are independent, so their reduction chains overlap.
rowa:
	VXORPS Y0, Y0, Y0
	XORQ BX, BX
sum:
	VADDPS (SI)(BX*1), Y0, Y0
	ADDQ $32, BX
	CMPQ BX, R13
	JB sum
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VPSHUFD $0x55, X0, X1
	VADDSS X1, X0, X0
	VMULSS X14, X0, X0
	VMOVSS X0, (DX)              // the mean
	VBROADCASTSS X0, Y2
	VXORPS Y0, Y0, Y0
	XORQ BX, BX
sumsq:
	VMOVUPS (SI)(BX*1), Y1
	VSUBPS Y2, Y1, Y1
	VFMADD231PS Y1, Y1, Y0
	ADDQ $32, BX
	CMPQ BX, R13
	JB sumsq
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VPSHUFD $0x55, X0, X1
	VADDSS X1, X0, X0
	VMULSS X14, X0, X0
	VMOVSS X0, 128(DX)           // the variance
	ADDQ $4, DX
	ADDQ R13, SI
	DECQ R8
	JNZ rowa
	// 1/sqrt(var + eps) for the chunk's 32 rows at once.
	MOVQ stats+80(FP), DX
	VBROADCASTSS eps+40(FP), Y5
	VBROADCASTSS lnconst<>+256(SB), Y6
	XORQ BX, BX
rstd:
	VADDPS 128(DX)(BX*1), Y5, Y0
	VSQRTPS Y0, Y0
	VDIVPS Y0, Y6, Y0
	VMOVUPS Y0, 128(DX)(BX*1)
	ADDQ $32, BX
	CMPQ BX, $128
	JB rstd

	// Phase B: normalise, GELU, store or dot.
	MOVQ x+0(FP), SI
	MOVQ rows+8(FP), R8
	MOVQ stats+80(FP), DX
	MOVQ scale+24(FP), R9
	MOVQ bias+32(FP), R10
	MOVQ flags+48(FP), R12
	MOVQ dot+56(FP), R11
	MOVQ y+72(FP), DI
	VMOVUPS lnconst<>+256(SB), Y12
	VXORPS Y6, Y6, Y6
rowb:
	VBROADCASTSS (DX), Y2
	VBROADCASTSS 128(DX), Y3
	VXORPS Y4, Y4, Y4
	XORQ BX, BX
lanes:
	VMOVUPS (SI)(BX*1), Y1
	VSUBPS Y2, Y1, Y1
	VMULPS Y3, Y1, Y1
	VMULPS (R9)(BX*1), Y1, Y1
	VADDPS (R10)(BX*1), Y1, Y1
	TESTQ $1, R12
	JZ nogelu
	VANDPS lnconst<>+0(SB), Y1, Y9
	VMINPS lnconst<>+32(SB), Y9, Y9
	VMOVUPS lnconst<>+64(SB), Y11
	VFMADD213PS lnconst<>+96(SB), Y9, Y11
	VFMADD213PS lnconst<>+128(SB), Y9, Y11
	VFMADD213PS lnconst<>+160(SB), Y9, Y11
	VFMADD213PS lnconst<>+192(SB), Y9, Y11
	VFMADD213PS lnconst<>+224(SB), Y9, Y11
	VFMADD213PS Y12, Y9, Y11
	VMULPS Y11, Y11, Y11
	VMULPS Y11, Y11, Y11
	VMULPS Y11, Y11, Y11
	VMULPS Y11, Y11, Y11      // p¹⁶
	VRCPPS Y11, Y10
	VFNMADD213PS Y12, Y10, Y11  // e = 1 − p¹⁶·r₀
	VFMADD213PS Y10, Y10, Y11 // r = r₀ + r₀·e
	VMULPS Y9, Y11, Y11       // a·r
	VMAXPS Y1, Y6, Y1         // max(0, t); a NaN t stays NaN
	VFNMADD231PS lnconst<>+288(SB), Y11, Y1 // t = max(t, 0) − a·r/2
nogelu:
	TESTQ $2, R12
	JZ store
	VFMADD231PS (R11)(BX*1), Y1, Y4
	JMP next
store:
	VMOVUPS Y1, (DI)(BX*1)
next:
	ADDQ $32, BX
	CMPQ BX, R13
	JB lanes
	TESTQ $2, R12
	JZ advance
	VEXTRACTF128 $1, Y4, X1
	VADDPS X1, X4, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VPSHUFD $0x55, X0, X1
	VADDSS X1, X0, X0
	VADDSS dotBias+64(FP), X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	JMP rowend
advance:
	ADDQ R13, DI
rowend:
	ADDQ $4, DX
	ADDQ R13, SI
	DECQ R8
	JNZ rowb
	VZEROUPPER
	RET

TEXT ·layerNormAVX512(SB), NOSPLIT, $0-88
	MOVQ x+0(FP), SI
	MOVQ rows+8(FP), R8
	MOVQ cols+16(FP), R13
	MOVQ stats+80(FP), DX
	VCVTSI2SSQ R13, X14, X14
	VMOVSS lnconst<>+256(SB), X0
	VDIVSS X14, X0, X14          // 1/cols
	SHLQ $2, R13                 // bytes per row

	// Phase A, two rows (r, r+1) per step, one pass over each: with x0 a
	// row's first value, s = Σ(x − x0) and q = Σ(x − x0)² (the shift keeps
	// q/n − (s/n)² free of the cancellation of Σx² − n·mean²). The four
	// sums of a step are reduced together: stats[r] = s, stats[32+r] = q,
	// stats[64+r] = x0. An odd last row is paired with itself (its twin's
	// slot r+1 < 32 is unused).
rowa512:
	LEAQ (SI)(R13*1), R15
	CMPQ R8, $1
	JNE pairsa512
	MOVQ SI, R15
pairsa512:
	VBROADCASTSS (SI), Z2
	VBROADCASTSS (R15), Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ BX, BX
suma512:
	VMOVUPS (SI)(BX*1), Z0
	VMOVUPS (R15)(BX*1), Z1
	VSUBPS Z2, Z0, Z0
	VSUBPS Z3, Z1, Z1
	VADDPS Z0, Z4, Z4
	VADDPS Z1, Z6, Z6
	VFMADD231PS Z0, Z0, Z5
	VFMADD231PS Z1, Z1, Z7
	ADDQ $64, BX
	CMPQ BX, R13
	JB suma512
	// Z4 s_r, Z5 q_r, Z6 s_r1, Z7 q_r1 → one 128-bit lane each, summed.
	VSHUFF64X2 $0x44, Z5, Z4, Z8
	VSHUFF64X2 $0xEE, Z5, Z4, Z9
	VADDPS Z9, Z8, Z8            // [s lo+hi | q lo+hi], 8 partials each
	VSHUFF64X2 $0x44, Z7, Z6, Z10
	VSHUFF64X2 $0xEE, Z7, Z6, Z9
	VADDPS Z9, Z10, Z10
	VSHUFF32X4 $0x88, Z10, Z8, Z11
	VSHUFF32X4 $0xDD, Z10, Z8, Z12
	VADDPS Z12, Z11, Z11         // lanes [s_r, q_r, s_r1, q_r1], 4 partials each
	VPERMILPS $0x4E, Z11, Z12
	VADDPS Z12, Z11, Z11
	VPERMILPS $0xB1, Z11, Z12
	VADDPS Z12, Z11, Z11         // each lane's total in all its elements
	VMOVSS X11, (DX)
	VEXTRACTF32X4 $1, Z11, X1
	VMOVSS X1, 128(DX)
	VEXTRACTF32X4 $2, Z11, X1
	VMOVSS X1, 4(DX)
	VEXTRACTF32X4 $3, Z11, X1
	VMOVSS X1, 132(DX)
	VMOVSS X2, 256(DX)
	VMOVSS X3, 260(DX)
	ADDQ $8, DX
	LEAQ (SI)(R13*2), SI
	SUBQ $2, R8
	JG rowa512
	// mean = x0 + s/n and 1/sqrt(max(q/n − (s/n)², 0) + eps) for the
	// chunk's 32 slots at once (a NaN variance stays NaN).
	MOVQ stats+80(FP), DX
	VBROADCASTSS eps+40(FP), Z5
	VBROADCASTSS lnconst<>+256(SB), Z6
	VBROADCASTSS X14, Z7
	VPXORD Z8, Z8, Z8
	XORQ BX, BX
rstd512:
	VMULPS (DX)(BX*1), Z7, Z0
	VMULPS 128(DX)(BX*1), Z7, Z1
	VFNMADD231PS Z0, Z0, Z1
	VMAXPS Z1, Z8, Z1
	VADDPS 256(DX)(BX*1), Z0, Z0
	VMOVUPS Z0, (DX)(BX*1)
	VADDPS Z5, Z1, Z1
	VSQRTPS Z1, Z1
	VDIVPS Z1, Z6, Z1
	VMOVUPS Z1, 128(DX)(BX*1)
	ADDQ $64, BX
	CMPQ BX, $128
	JB rstd512

	// Phase B: normalise, GELU, store or dot.
	MOVQ x+0(FP), SI
	MOVQ rows+8(FP), R8
	MOVQ stats+80(FP), DX
	MOVQ scale+24(FP), R9
	MOVQ bias+32(FP), R10
	MOVQ flags+48(FP), R12
	MOVQ dot+56(FP), R11
	MOVQ y+72(FP), DI
	VBROADCASTSS lnconst<>+0(SB), Z16
	VBROADCASTSS lnconst<>+32(SB), Z17
	VBROADCASTSS lnconst<>+64(SB), Z18
	VBROADCASTSS lnconst<>+96(SB), Z19
	VBROADCASTSS lnconst<>+128(SB), Z20
	VBROADCASTSS lnconst<>+160(SB), Z21
	VBROADCASTSS lnconst<>+192(SB), Z22
	VBROADCASTSS lnconst<>+224(SB), Z23
	VBROADCASTSS lnconst<>+256(SB), Z24
	VBROADCASTSS lnconst<>+288(SB), Z25
	VPXORD Z26, Z26, Z26
	// Two rows at a time (Z1.. for row r, Z7.. for row r+1), so that the
	// GELU chains of two rows overlap.
pair512:
	CMPQ R8, $2
	JB rowb512
	LEAQ (SI)(R13*1), R15
	MOVQ DI, AX
	TESTQ $2, R12
	JZ pairy512
	ADDQ $4, AX
	JMP pairgo512
pairy512:
	ADDQ R13, AX
pairgo512:
	VBROADCASTSS (DX), Z2
	VBROADCASTSS 128(DX), Z3
	VBROADCASTSS 4(DX), Z15
	VBROADCASTSS 132(DX), Z6
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	XORQ BX, BX
lanes2x512:
	VMOVUPS (SI)(BX*1), Z1
	VMOVUPS (R15)(BX*1), Z7
	VSUBPS Z2, Z1, Z1
	VSUBPS Z15, Z7, Z7
	VMULPS Z3, Z1, Z1
	VMULPS Z6, Z7, Z7
	VMULPS (R9)(BX*1), Z1, Z1
	VMULPS (R9)(BX*1), Z7, Z7
	VADDPS (R10)(BX*1), Z1, Z1
	VADDPS (R10)(BX*1), Z7, Z7
	TESTQ $1, R12
	JZ nogelu2x512
	VPANDD Z16, Z1, Z9
	VMINPS Z17, Z9, Z9
	VMOVAPS Z18, Z11
	VFMADD213PS Z19, Z9, Z11
	VFMADD213PS Z20, Z9, Z11
	VFMADD213PS Z21, Z9, Z11
	VFMADD213PS Z22, Z9, Z11
	VFMADD213PS Z23, Z9, Z11
	VFMADD213PS Z24, Z9, Z11
	VMULPS Z11, Z11, Z11
	VMULPS Z11, Z11, Z11
	VMULPS Z11, Z11, Z11
	VMULPS Z11, Z11, Z11      // p¹⁶
	VRCP14PS Z11, Z10
	VFNMADD213PS Z24, Z10, Z11  // e = 1 − p¹⁶·r₀
	VFMADD213PS Z10, Z10, Z11 // r = r₀ + r₀·e
	VMULPS Z9, Z11, Z11       // a·r
	VMAXPS Z1, Z26, Z1         // max(0, t); a NaN t stays NaN
	VFNMADD231PS Z25, Z11, Z1 // t = max(t, 0) − a·r/2
	VPANDD Z16, Z7, Z8
	VMINPS Z17, Z8, Z8
	VMOVAPS Z18, Z13
	VFMADD213PS Z19, Z8, Z13
	VFMADD213PS Z20, Z8, Z13
	VFMADD213PS Z21, Z8, Z13
	VFMADD213PS Z22, Z8, Z13
	VFMADD213PS Z23, Z8, Z13
	VFMADD213PS Z24, Z8, Z13
	VMULPS Z13, Z13, Z13
	VMULPS Z13, Z13, Z13
	VMULPS Z13, Z13, Z13
	VMULPS Z13, Z13, Z13      // p¹⁶
	VRCP14PS Z13, Z12
	VFNMADD213PS Z24, Z12, Z13  // e = 1 − p¹⁶·r₀
	VFMADD213PS Z12, Z12, Z13 // r = r₀ + r₀·e
	VMULPS Z8, Z13, Z13       // a·r
	VMAXPS Z7, Z26, Z7         // max(0, t); a NaN t stays NaN
	VFNMADD231PS Z25, Z13, Z7 // t = max(t, 0) − a·r/2
nogelu2x512:
	TESTQ $2, R12
	JZ store2x512
	VFMADD231PS (R11)(BX*1), Z1, Z4
	VFMADD231PS (R11)(BX*1), Z7, Z5
	JMP next2x512
store2x512:
	VMOVUPS Z1, (DI)(BX*1)
	VMOVUPS Z7, (AX)(BX*1)
next2x512:
	ADDQ $64, BX
	CMPQ BX, R13
	JB lanes2x512
	TESTQ $2, R12
	JZ adv2x512
	VEXTRACTF64X4 $1, Z4, Y1
	VADDPS Y1, Y4, Y4
	VEXTRACTF128 $1, Y4, X1
	VADDPS X1, X4, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VPSHUFD $0x55, X0, X1
	VADDSS X1, X0, X0
	VADDSS dotBias+64(FP), X0, X0
	VMOVSS X0, (DI)
	VEXTRACTF64X4 $1, Z5, Y1
	VADDPS Y1, Y5, Y5
	VEXTRACTF128 $1, Y5, X1
	VADDPS X1, X5, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VPSHUFD $0x55, X0, X1
	VADDSS X1, X0, X0
	VADDSS dotBias+64(FP), X0, X0
	VMOVSS X0, 4(DI)
	ADDQ $8, DI
	JMP end2x512
adv2x512:
	LEAQ (DI)(R13*2), DI
end2x512:
	ADDQ $8, DX
	LEAQ (SI)(R13*2), SI
	SUBQ $2, R8
	JNZ pair512
	VZEROUPPER
	RET

rowb512:
	VBROADCASTSS (DX), Z2
	VBROADCASTSS 128(DX), Z3
	VPXORD Z4, Z4, Z4
	XORQ BX, BX
lanes512:
	VMOVUPS (SI)(BX*1), Z1
	VSUBPS Z2, Z1, Z1
	VMULPS Z3, Z1, Z1
	VMULPS (R9)(BX*1), Z1, Z1
	VADDPS (R10)(BX*1), Z1, Z1
	TESTQ $1, R12
	JZ nogelu512
	VPANDD Z16, Z1, Z9
	VMINPS Z17, Z9, Z9
	VMOVAPS Z18, Z11
	VFMADD213PS Z19, Z9, Z11
	VFMADD213PS Z20, Z9, Z11
	VFMADD213PS Z21, Z9, Z11
	VFMADD213PS Z22, Z9, Z11
	VFMADD213PS Z23, Z9, Z11
	VFMADD213PS Z24, Z9, Z11
	VMULPS Z11, Z11, Z11
	VMULPS Z11, Z11, Z11
	VMULPS Z11, Z11, Z11
	VMULPS Z11, Z11, Z11      // p¹⁶
	VRCP14PS Z11, Z10
	VFNMADD213PS Z24, Z10, Z11  // e = 1 − p¹⁶·r₀
	VFMADD213PS Z10, Z10, Z11 // r = r₀ + r₀·e
	VMULPS Z9, Z11, Z11       // a·r
	VMAXPS Z1, Z26, Z1         // max(0, t); a NaN t stays NaN
	VFNMADD231PS Z25, Z11, Z1 // t = max(t, 0) − a·r/2
nogelu512:
	TESTQ $2, R12
	JZ store512
	VFMADD231PS (R11)(BX*1), Z1, Z4
	JMP next512
store512:
	VMOVUPS Z1, (DI)(BX*1)
next512:
	ADDQ $64, BX
	CMPQ BX, R13
	JB lanes512
	TESTQ $2, R12
	JZ advance512
	VEXTRACTF64X4 $1, Z4, Y1
	VADDPS Y1, Y4, Y4
	VEXTRACTF128 $1, Y4, X1
	VADDPS X1, X4, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VPSHUFD $0x55, X0, X1
	VADDSS X1, X0, X0
	VADDSS dotBias+64(FP), X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	JMP rowend512
advance512:
	ADDQ R13, DI
rowend512:
	ADDQ $4, DX
	ADDQ R13, SI
	DECQ R8
	JNZ pair512
	VZEROUPPER
	RET


// func denseNormAVX512(a *float32, aidx *int32, k int, b, bias *float32, groups, m int, scale, lnBias, dot *float32, eps, invM float32, flags int, dotBias float32, out *float32, oidx *int32, mask int, at, scratch *float32)
//
// DenseNorm.Rows for one block of up to 16 rows, one row per lane (twin:
// denseNormGeneric); lane i is row i when bit i of mask is set. First A
// is gathered transposed into at (at[p·16 + i] = a[aidx[i] + p], 0 in
// the lanes off the mask). Then for each group g of m columns (m/16
// panels of b):
//
//	product: acc[c] = bias[c] (flags&2; else 0) + Σ_p at[p]·b[p][c], a panel of 16 columns
//	         at a time in Z0..Z15 (at[p], the 16 rows' A values at p, in
//	         Z27); each column stored to scratch[c], s += x, q += x²
//	         (Z29, Z30)
//	stats:   mean = s/m; rstd = 1/sqrt(max(q/m − mean², 0) + eps)
//	columns: t = (x·rstd − mean·rstd)·scale[c] + lnBias[c]; GELU as in
//	         layerNormAVX512 (flags&1) with min(|t|, 8) by one VRANGEPS;
//	         acc += t·dot[c], four columns per step, each step's
//	         instructions interleaved (their chains overlap; Z4, Z6, Z1,
//	         Z31 the sums)
//	out[oidx[i] + g] = acc[i] + dotBias, scattered to the mask's lanes
//
// Registers: SI the next panel, R9 its bias, R8 groups left, DI out + g,
// R12 k, R10 panels (then column steps) left, R11 scratch, R13..R15
// scale, lnBias, dot; the layerNormAVX512 constants in Z17..Z25, Z26
// zero; Z3 rstd, Z5 −mean·rstd.
TEXT ·denseNormAVX512(SB), NOSPLIT, $0-144
	MOVQ a+0(FP), AX
	MOVQ aidx+8(FP), DX
	VMOVDQU32 (DX), Z28
	MOVQ k+16(FP), CX
	MOVQ at+128(FP), DX
	MOVQ mask+120(FP), BX
dngather:
	KMOVW BX, K1
	VPXORD Z0, Z0, Z0
	VGATHERDPS (AX)(Z28*4), K1, Z0
	VMOVUPS Z0, (DX)
	ADDQ $4, AX
	ADDQ $64, DX
	DECQ CX
	JNZ dngather

	MOVQ b+24(FP), SI
	MOVQ bias+32(FP), R9
	MOVQ groups+40(FP), R8
	MOVQ out+104(FP), DI
	MOVQ k+16(FP), R12
	VBROADCASTSS lnconst<>+32(SB), Z17
	VBROADCASTSS lnconst<>+64(SB), Z18
	VBROADCASTSS lnconst<>+96(SB), Z19
	VBROADCASTSS lnconst<>+128(SB), Z20
	VBROADCASTSS lnconst<>+160(SB), Z21
	VBROADCASTSS lnconst<>+192(SB), Z22
	VBROADCASTSS lnconst<>+224(SB), Z23
	VBROADCASTSS lnconst<>+256(SB), Z24
	VBROADCASTSS lnconst<>+288(SB), Z25
	VPXORD Z26, Z26, Z26
dngroup:
	MOVQ flags+88(FP), BX
	MOVQ scratch+136(FP), R11
	MOVQ m+48(FP), R10
	SHRQ $4, R10
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
dnpanel:
	TESTQ $2, BX
	JNZ dnbias
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
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
	JMP dnprod
dnbias:
	VBROADCASTSS 0(R9), Z0
	VBROADCASTSS 4(R9), Z1
	VBROADCASTSS 8(R9), Z2
	VBROADCASTSS 12(R9), Z3
	VBROADCASTSS 16(R9), Z4
	VBROADCASTSS 20(R9), Z5
	VBROADCASTSS 24(R9), Z6
	VBROADCASTSS 28(R9), Z7
	VBROADCASTSS 32(R9), Z8
	VBROADCASTSS 36(R9), Z9
	VBROADCASTSS 40(R9), Z10
	VBROADCASTSS 44(R9), Z11
	VBROADCASTSS 48(R9), Z12
	VBROADCASTSS 52(R9), Z13
	VBROADCASTSS 56(R9), Z14
	VBROADCASTSS 60(R9), Z15
dnprod:
	MOVQ at+128(FP), AX
	MOVQ R12, CX
dnk:
	VMOVUPS (AX), Z27
	VFMADD231PS.BCST 0(SI), Z27, Z0
	VFMADD231PS.BCST 4(SI), Z27, Z1
	VFMADD231PS.BCST 8(SI), Z27, Z2
	VFMADD231PS.BCST 12(SI), Z27, Z3
	VFMADD231PS.BCST 16(SI), Z27, Z4
	VFMADD231PS.BCST 20(SI), Z27, Z5
	VFMADD231PS.BCST 24(SI), Z27, Z6
	VFMADD231PS.BCST 28(SI), Z27, Z7
	VFMADD231PS.BCST 32(SI), Z27, Z8
	VFMADD231PS.BCST 36(SI), Z27, Z9
	VFMADD231PS.BCST 40(SI), Z27, Z10
	VFMADD231PS.BCST 44(SI), Z27, Z11
	VFMADD231PS.BCST 48(SI), Z27, Z12
	VFMADD231PS.BCST 52(SI), Z27, Z13
	VFMADD231PS.BCST 56(SI), Z27, Z14
	VFMADD231PS.BCST 60(SI), Z27, Z15
	ADDQ $64, AX
	ADDQ $64, SI
	DECQ CX
	JNZ dnk
	VMOVUPS Z0, 0(R11)
	VADDPS Z0, Z29, Z29
	VFMADD231PS Z0, Z0, Z30
	VMOVUPS Z1, 64(R11)
	VADDPS Z1, Z29, Z29
	VFMADD231PS Z1, Z1, Z30
	VMOVUPS Z2, 128(R11)
	VADDPS Z2, Z29, Z29
	VFMADD231PS Z2, Z2, Z30
	VMOVUPS Z3, 192(R11)
	VADDPS Z3, Z29, Z29
	VFMADD231PS Z3, Z3, Z30
	VMOVUPS Z4, 256(R11)
	VADDPS Z4, Z29, Z29
	VFMADD231PS Z4, Z4, Z30
	VMOVUPS Z5, 320(R11)
	VADDPS Z5, Z29, Z29
	VFMADD231PS Z5, Z5, Z30
	VMOVUPS Z6, 384(R11)
	VADDPS Z6, Z29, Z29
	VFMADD231PS Z6, Z6, Z30
	VMOVUPS Z7, 448(R11)
	VADDPS Z7, Z29, Z29
	VFMADD231PS Z7, Z7, Z30
	VMOVUPS Z8, 512(R11)
	VADDPS Z8, Z29, Z29
	VFMADD231PS Z8, Z8, Z30
	VMOVUPS Z9, 576(R11)
	VADDPS Z9, Z29, Z29
	VFMADD231PS Z9, Z9, Z30
	VMOVUPS Z10, 640(R11)
	VADDPS Z10, Z29, Z29
	VFMADD231PS Z10, Z10, Z30
	VMOVUPS Z11, 704(R11)
	VADDPS Z11, Z29, Z29
	VFMADD231PS Z11, Z11, Z30
	VMOVUPS Z12, 768(R11)
	VADDPS Z12, Z29, Z29
	VFMADD231PS Z12, Z12, Z30
	VMOVUPS Z13, 832(R11)
	VADDPS Z13, Z29, Z29
	VFMADD231PS Z13, Z13, Z30
	VMOVUPS Z14, 896(R11)
	VADDPS Z14, Z29, Z29
	VFMADD231PS Z14, Z14, Z30
	VMOVUPS Z15, 960(R11)
	VADDPS Z15, Z29, Z29
	VFMADD231PS Z15, Z15, Z30
	ADDQ $1024, R11
	ADDQ $64, R9
	DECQ R10
	JNZ dnpanel

	// The group's statistics (a NaN variance stays NaN).
	VBROADCASTSS invM+84(FP), Z0
	VMULPS Z0, Z29, Z1           // the mean
	VMULPS Z0, Z30, Z2           // q/m
	VFNMADD231PS Z1, Z1, Z2      // q/m − mean²
	VMAXPS Z2, Z26, Z2
	VBROADCASTSS eps+80(FP), Z0
	VADDPS Z0, Z2, Z2
	VSQRTPS Z2, Z2
	VDIVPS Z2, Z24, Z3           // rstd
	VXORPS Z5, Z5, Z5
	VFNMADD231PS Z3, Z1, Z5      // −mean·rstd

	// The columns, four per step.
	MOVQ scratch+136(FP), R11
	MOVQ scale+56(FP), R13
	MOVQ lnBias+64(FP), R14
	MOVQ dot+72(FP), R15
	MOVQ m+48(FP), R10
	SHRQ $2, R10
	MOVQ flags+88(FP), BX
	VPXORD Z4, Z4, Z4
	VPXORD Z6, Z6, Z6
	VPXORD Z1, Z1, Z1
	VPXORD Z31, Z31, Z31
dncols:
	VMOVUPS 0(R11), Z9
	VMOVUPS 64(R11), Z7
	VMOVUPS 128(R11), Z15
	VMOVUPS 192(R11), Z28
	VFMADD213PS Z5, Z3, Z9
	VFMADD213PS Z5, Z3, Z7
	VFMADD213PS Z5, Z3, Z15
	VFMADD213PS Z5, Z3, Z28
	VBROADCASTSS 0(R14), Z10
	VBROADCASTSS 4(R14), Z12
	VBROADCASTSS 8(R14), Z14
	VBROADCASTSS 12(R14), Z27
	VFMADD231PS.BCST 0(R13), Z9, Z10
	VFMADD231PS.BCST 4(R13), Z7, Z12
	VFMADD231PS.BCST 8(R13), Z15, Z14
	VFMADD231PS.BCST 12(R13), Z28, Z27
	TESTQ $1, BX
	JZ dnnogelu
	VRANGEPS $0x0A, Z17, Z10, Z9
	VRANGEPS $0x0A, Z17, Z12, Z7
	VRANGEPS $0x0A, Z17, Z14, Z15
	VRANGEPS $0x0A, Z17, Z27, Z28
	VMOVAPS Z18, Z11
	VMOVAPS Z18, Z13
	VMOVAPS Z18, Z16
	VMOVAPS Z18, Z29
	VFMADD213PS Z19, Z9, Z11
	VFMADD213PS Z19, Z7, Z13
	VFMADD213PS Z19, Z15, Z16
	VFMADD213PS Z19, Z28, Z29
	VFMADD213PS Z20, Z9, Z11
	VFMADD213PS Z20, Z7, Z13
	VFMADD213PS Z20, Z15, Z16
	VFMADD213PS Z20, Z28, Z29
	VFMADD213PS Z21, Z9, Z11
	VFMADD213PS Z21, Z7, Z13
	VFMADD213PS Z21, Z15, Z16
	VFMADD213PS Z21, Z28, Z29
	VFMADD213PS Z22, Z9, Z11
	VFMADD213PS Z22, Z7, Z13
	VFMADD213PS Z22, Z15, Z16
	VFMADD213PS Z22, Z28, Z29
	VFMADD213PS Z23, Z9, Z11
	VFMADD213PS Z23, Z7, Z13
	VFMADD213PS Z23, Z15, Z16
	VFMADD213PS Z23, Z28, Z29
	VFMADD213PS Z24, Z9, Z11
	VFMADD213PS Z24, Z7, Z13
	VFMADD213PS Z24, Z15, Z16
	VFMADD213PS Z24, Z28, Z29
	VMULPS Z11, Z11, Z11
	VMULPS Z13, Z13, Z13
	VMULPS Z16, Z16, Z16
	VMULPS Z29, Z29, Z29
	VMULPS Z11, Z11, Z11
	VMULPS Z13, Z13, Z13
	VMULPS Z16, Z16, Z16
	VMULPS Z29, Z29, Z29
	VMULPS Z11, Z11, Z11
	VMULPS Z13, Z13, Z13
	VMULPS Z16, Z16, Z16
	VMULPS Z29, Z29, Z29
	VMULPS Z11, Z11, Z11
	VMULPS Z13, Z13, Z13
	VMULPS Z16, Z16, Z16
	VMULPS Z29, Z29, Z29
	VRCP14PS Z11, Z2
	VRCP14PS Z13, Z8
	VRCP14PS Z16, Z0
	VRCP14PS Z29, Z30
	VFNMADD213PS Z24, Z2, Z11
	VFNMADD213PS Z24, Z8, Z13
	VFNMADD213PS Z24, Z0, Z16
	VFNMADD213PS Z24, Z30, Z29
	VFMADD213PS Z2, Z2, Z11
	VFMADD213PS Z8, Z8, Z13
	VFMADD213PS Z0, Z0, Z16
	VFMADD213PS Z30, Z30, Z29
	VMULPS Z9, Z11, Z11
	VMULPS Z7, Z13, Z13
	VMULPS Z15, Z16, Z16
	VMULPS Z28, Z29, Z29
	VMAXPS Z10, Z26, Z10
	VMAXPS Z12, Z26, Z12
	VMAXPS Z14, Z26, Z14
	VMAXPS Z27, Z26, Z27
	VFNMADD231PS Z25, Z11, Z10
	VFNMADD231PS Z25, Z13, Z12
	VFNMADD231PS Z25, Z16, Z14
	VFNMADD231PS Z25, Z29, Z27
dnnogelu:
	VFMADD231PS.BCST 0(R15), Z10, Z4
	VFMADD231PS.BCST 4(R15), Z12, Z6
	VFMADD231PS.BCST 8(R15), Z14, Z1
	VFMADD231PS.BCST 12(R15), Z27, Z31
	ADDQ $256, R11
	ADDQ $16, R13
	ADDQ $16, R14
	ADDQ $16, R15
	DECQ R10
	JNZ dncols
	VADDPS Z1, Z4, Z4
	VADDPS Z31, Z6, Z6
	VADDPS Z6, Z4, Z4
	VBROADCASTSS dotBias+96(FP), Z0
	VADDPS Z0, Z4, Z4
	MOVQ oidx+112(FP), DX
	VMOVDQU32 (DX), Z2
	MOVQ mask+120(FP), BX
	KMOVW BX, K1
	VSCATTERDPS Z4, K1, (DI)(Z2*4)
	ADDQ $4, DI
	DECQ R8
	JNZ dngroup
	VZEROUPPER
	RET
