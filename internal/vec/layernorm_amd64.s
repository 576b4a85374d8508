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


// DenseNorm's GELU coefficients (gelu.go's geluTab): table j, the
// coefficient of u^j for the 16 intervals, at offset 64·j.
DATA gelutab<>+0(SB)/4, $0x33895aa7
DATA gelutab<>+4(SB)/4, $0x3e1df8a1
DATA gelutab<>+8(SB)/4, $0x3e227682
DATA gelutab<>+12(SB)/4, $0x3dcd3b50
DATA gelutab<>+16(SB)/4, $0x3d3a5e7f
DATA gelutab<>+20(SB)/4, $0x3c7e591c
DATA gelutab<>+24(SB)/4, $0x3b84b351
DATA gelutab<>+28(SB)/4, $0x3a557015
DATA gelutab<>+32(SB)/4, $0x3904d682
DATA gelutab<>+36(SB)/4, $0x37804170
DATA gelutab<>+40(SB)/4, $0x35c05c93
DATA gelutab<>+44(SB)/4, $0x33e0461f
DATA gelutab<>+48(SB)/4, $0x31cb5ef4
DATA gelutab<>+52(SB)/4, $0x2f8f7bca
DATA gelutab<>+56(SB)/4, $0x2d1d9004
DATA gelutab<>+60(SB)/4, $0x2a86ac9b
DATA gelutab<>+64(SB)/4, $0x3e7ffecb
DATA gelutab<>+68(SB)/4, $0x3d87afd4
DATA gelutab<>+72(SB)/4, $0xbd2a9d71
DATA gelutab<>+76(SB)/4, $0xbd828694
DATA gelutab<>+80(SB)/4, $0xbd2e8ef0
DATA gelutab<>+84(SB)/4, $0xbc9a0fdb
DATA gelutab<>+88(SB)/4, $0xbbc3b920
DATA gelutab<>+92(SB)/4, $0xbab8ea9e
DATA gelutab<>+96(SB)/4, $0xb983ff25
DATA gelutab<>+100(SB)/4, $0xb80fa289
DATA gelutab<>+104(SB)/4, $0xb66f8f05
DATA gelutab<>+108(SB)/4, $0xb499a353
DATA gelutab<>+112(SB)/4, $0xb297ee39
DATA gelutab<>+116(SB)/4, $0xb06811e8
DATA gelutab<>+120(SB)/4, $0xae09110a
DATA gelutab<>+124(SB)/4, $0xab7aacb6
DATA gelutab<>+128(SB)/4, $0xbdcc25c2
DATA gelutab<>+132(SB)/4, $0xbd9dbecc
DATA gelutab<>+136(SB)/4, $0xbcf82138
DATA gelutab<>+140(SB)/4, $0x3b841931
DATA gelutab<>+144(SB)/4, $0x3c5d5065
DATA gelutab<>+148(SB)/4, $0x3c18baa5
DATA gelutab<>+152(SB)/4, $0x3b7e46ae
DATA gelutab<>+156(SB)/4, $0x3a926f3e
DATA gelutab<>+160(SB)/4, $0x3974d315
DATA gelutab<>+164(SB)/4, $0x3817f994
DATA gelutab<>+168(SB)/4, $0x368dea7d
DATA gelutab<>+172(SB)/4, $0x34c8f645
DATA gelutab<>+176(SB)/4, $0x32d8ef02
DATA gelutab<>+180(SB)/4, $0x30b331e8
DATA gelutab<>+184(SB)/4, $0x2e632d28
DATA gelutab<>+188(SB)/4, $0x2bdd7be7
DATA gelutab<>+192(SB)/4, $0xb975ce7f
DATA gelutab<>+196(SB)/4, $0x3c61e7c6
DATA gelutab<>+200(SB)/4, $0x3c7ac778
DATA gelutab<>+204(SB)/4, $0x3bea74f2
DATA gelutab<>+208(SB)/4, $0xb8315c47
DATA gelutab<>+212(SB)/4, $0xbb097075
DATA gelutab<>+216(SB)/4, $0xbab6c3a6
DATA gelutab<>+220(SB)/4, $0xba089cfa
DATA gelutab<>+224(SB)/4, $0xb9090dba
DATA gelutab<>+228(SB)/4, $0xb7c3cc11
DATA gelutab<>+232(SB)/4, $0xb64cd96f
DATA gelutab<>+236(SB)/4, $0xb49f7c13
DATA gelutab<>+240(SB)/4, $0xb2baad00
DATA gelutab<>+244(SB)/4, $0xb0a5640d
DATA gelutab<>+248(SB)/4, $0xae5eef1c
DATA gelutab<>+252(SB)/4, $0xabe57064
DATA gelutab<>+256(SB)/4, $0x3b97595e
DATA gelutab<>+260(SB)/4, $0x3b07f132
DATA gelutab<>+264(SB)/4, $0xbad3623f
DATA gelutab<>+268(SB)/4, $0xbb1dbded
DATA gelutab<>+272(SB)/4, $0xba895eaa
DATA gelutab<>+276(SB)/4, $0x3862c2e7
DATA gelutab<>+280(SB)/4, $0x398fc500
DATA gelutab<>+284(SB)/4, $0x391b61e0
DATA gelutab<>+288(SB)/4, $0x383e3d34
DATA gelutab<>+292(SB)/4, $0x371b84e3
DATA gelutab<>+296(SB)/4, $0x35b3fe08
DATA gelutab<>+300(SB)/4, $0x3417c4fb
DATA gelutab<>+304(SB)/4, $0x323d9f93
DATA gelutab<>+308(SB)/4, $0x30317084
DATA gelutab<>+312(SB)/4, $0x2dfa941f
DATA gelutab<>+316(SB)/4, $0x2b863d1a
DATA gelutab<>+320(SB)/4, $0xb9e13f8c
DATA gelutab<>+324(SB)/4, $0xba38e1fb
DATA gelutab<>+328(SB)/4, $0xb94c3123
DATA gelutab<>+332(SB)/4, $0x397f1b81
DATA gelutab<>+336(SB)/4, $0x3969eb9d
DATA gelutab<>+340(SB)/4, $0x385eff1f
DATA gelutab<>+344(SB)/4, $0xb7bae6a8
DATA gelutab<>+348(SB)/4, $0xb7afe6da
DATA gelutab<>+352(SB)/4, $0xb7024d40
DATA gelutab<>+356(SB)/4, $0xb5ee079a
DATA gelutab<>+360(SB)/4, $0xb494c194
DATA gelutab<>+364(SB)/4, $0xb304f01c
DATA gelutab<>+368(SB)/4, $0xb12df240
DATA gelutab<>+372(SB)/4, $0xaf290fab
DATA gelutab<>+376(SB)/4, $0xacf67a3c
DATA gelutab<>+380(SB)/4, $0xaa87b02a
GLOBL gelutab<>(SB), RODATA|NOPTR, $384

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
//	columns: t = (x·rstd − mean·rstd)·scale[c] + lnBias[c]; with flags&1
//	         the GELU of gelu.go: y = 2·min(|t|, 8⁻) (VRANGEPS), u = y −
//	         ⌊y⌋ (VREDUCEPS), i = ⌊y⌋, each coefficient of interval i by
//	         VPERMPS from its table register, p by Horner in u, t =
//	         max(t, 0) − p; acc += t·dot[c], four columns per step, each
//	         step's instructions interleaved (their chains overlap; Z4, Z6
//	         the sums)
//	out[oidx[i] + g] = acc[i] + dotBias, scattered to the mask's lanes
//
// Registers: SI the next panel, R9 its bias, R8 groups left, DI out + g,
// R12 k, R10 panels (then column steps) left, R11 scratch, R13..R15
// scale, lnBias, dot; Z17 the clamp 8⁻ (the largest float32 below 8),
// Z18..Z23 the coefficient tables, Z26 zero; Z3 rstd, Z5 −mean·rstd.
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
	MOVL $0x40ffffff, AX         // the largest float32 below 8
	VPBROADCASTD AX, Z17
	VMOVUPS gelutab<>+0(SB), Z18
	VMOVUPS gelutab<>+64(SB), Z19
	VMOVUPS gelutab<>+128(SB), Z20
	VMOVUPS gelutab<>+192(SB), Z21
	VMOVUPS gelutab<>+256(SB), Z22
	VMOVUPS gelutab<>+320(SB), Z23
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
	VBROADCASTSS lnconst<>+256(SB), Z0
	VDIVPS Z2, Z0, Z3            // rstd
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
	VADDPS Z9, Z9, Z9
	VADDPS Z7, Z7, Z7
	VADDPS Z15, Z15, Z15
	VADDPS Z28, Z28, Z28
	VREDUCEPS $0x09, Z9, Z11
	VREDUCEPS $0x09, Z7, Z13
	VREDUCEPS $0x09, Z15, Z16
	VREDUCEPS $0x09, Z28, Z29
	VCVTTPS2DQ Z9, Z2
	VCVTTPS2DQ Z7, Z8
	VCVTTPS2DQ Z15, Z0
	VCVTTPS2DQ Z28, Z30
	VPERMPS Z23, Z2, Z9
	VPERMPS Z23, Z8, Z7
	VPERMPS Z23, Z0, Z15
	VPERMPS Z23, Z30, Z28
	VPERMPS Z22, Z2, Z1
	VPERMPS Z22, Z8, Z31
	VPERMPS Z22, Z0, Z25
	VPERMPS Z22, Z30, Z24
	VFMADD213PS Z1, Z11, Z9
	VFMADD213PS Z31, Z13, Z7
	VFMADD213PS Z25, Z16, Z15
	VFMADD213PS Z24, Z29, Z28
	VPERMPS Z21, Z2, Z1
	VPERMPS Z21, Z8, Z31
	VPERMPS Z21, Z0, Z25
	VPERMPS Z21, Z30, Z24
	VFMADD213PS Z1, Z11, Z9
	VFMADD213PS Z31, Z13, Z7
	VFMADD213PS Z25, Z16, Z15
	VFMADD213PS Z24, Z29, Z28
	VPERMPS Z20, Z2, Z1
	VPERMPS Z20, Z8, Z31
	VPERMPS Z20, Z0, Z25
	VPERMPS Z20, Z30, Z24
	VFMADD213PS Z1, Z11, Z9
	VFMADD213PS Z31, Z13, Z7
	VFMADD213PS Z25, Z16, Z15
	VFMADD213PS Z24, Z29, Z28
	VPERMPS Z19, Z2, Z1
	VPERMPS Z19, Z8, Z31
	VPERMPS Z19, Z0, Z25
	VPERMPS Z19, Z30, Z24
	VFMADD213PS Z1, Z11, Z9
	VFMADD213PS Z31, Z13, Z7
	VFMADD213PS Z25, Z16, Z15
	VFMADD213PS Z24, Z29, Z28
	VPERMPS Z18, Z2, Z1
	VPERMPS Z18, Z8, Z31
	VPERMPS Z18, Z0, Z25
	VPERMPS Z18, Z30, Z24
	VFMADD213PS Z1, Z11, Z9
	VFMADD213PS Z31, Z13, Z7
	VFMADD213PS Z25, Z16, Z15
	VFMADD213PS Z24, Z29, Z28
	VMAXPS Z10, Z26, Z10
	VMAXPS Z12, Z26, Z12
	VMAXPS Z14, Z26, Z14
	VMAXPS Z27, Z26, Z27
	VSUBPS Z9, Z10, Z10
	VSUBPS Z7, Z12, Z12
	VSUBPS Z15, Z14, Z14
	VSUBPS Z28, Z27, Z27
dnnogelu:
	VFMADD231PS.BCST 0(R15), Z10, Z4
	VFMADD231PS.BCST 4(R15), Z12, Z6
	VFMADD231PS.BCST 8(R15), Z14, Z4
	VFMADD231PS.BCST 12(R15), Z27, Z6
	ADDQ $256, R11
	ADDQ $16, R13
	ADDQ $16, R14
	ADDQ $16, R15
	DECQ R10
	JNZ dncols
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
