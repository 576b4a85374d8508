//go:build !purego

#include "textflag.h"

// The fused row pass of layernorm.go (generated layout, see the reference
// loop below). Constants, each in 8 lanes: the abs mask, the clamp 8,
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

// func layerNormAVX2(x *float32, rows, cols int, scale, bias *float32, eps float32, flags int, dot *float32, dotBias float32, y *float32)
//
// Reference loop (twin: layerNormGeneric), cols a positive multiple of 8:
//
//	for each row: mean = Σx·(1/cols); var = Σ(x−mean)²·(1/cols)
//	rstd = 1/sqrt(var + eps)
//	t = (x−mean)·rstd·scale + bias               (8 lanes at a time)
//	if flags&1: a = min(|t|, 8); p = 1 + b1·a + … + b6·a⁶; r = 1/p¹⁶
//	            t = max(t, 0) − a·r/2            (GELU; 1/p¹⁶ by VRCPPS
//	                                             and one Newton step)
//	if flags&2: acc += t·dot, y[r] = Σacc + dotBias; else y[r, :] = t
//
// Two vectors per step where cols is a multiple of 16, so that the two
// GELU dependency chains overlap.
//
// Registers:
//
//	SI, DI    the row of x; y (the row, or the row's value)
//	R8        rows left; R13 cols·4 (bytes per row); BX the byte offset in a row
//	R9, R10, R11  scale, bias, dot; R12 flags; R14 1 if cols%16 == 0
//	X14       1/cols
//	Y2 mean, Y3 rstd, Y4 and Y5 the dot accumulators, Y6 0, Y12 1.0
//	Y1, Y9, Y11, Y10 lane A (t, a, p, r); Y7, Y8, Y13, Y15 lane B; Y0 sums
TEXT ·layerNormAVX2(SB), NOSPLIT, $0-80
	MOVQ x+0(FP), SI
	MOVQ rows+8(FP), R8
	MOVQ cols+16(FP), R13
	MOVQ scale+24(FP), R9
	MOVQ bias+32(FP), R10
	MOVQ flags+48(FP), R12
	MOVQ dot+56(FP), R11
	MOVQ y+72(FP), DI
	XORQ R14, R14
	TESTQ $15, R13
	JNZ setup
	MOVQ $1, R14
setup:
	VCVTSI2SSQ R13, X14, X14
	VMOVSS lnconst<>+256(SB), X0
	VDIVSS X14, X0, X14          // 1/cols
	SHLQ $2, R13                 // bytes per row
	VMOVUPS lnconst<>+256(SB), Y12
	VXORPS Y6, Y6, Y6

row:
	// pass 1: the mean
	VXORPS Y0, Y0, Y0
	XORQ BX, BX
sum:
	VADDPS (SI)(BX*1), Y0, Y0
	ADDQ $32, BX
	CMPQ BX, R13
	JB sum
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMULSS X14, X0, X0
	VBROADCASTSS X0, Y2

	// pass 2: the variance
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
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMULSS X14, X0, X0
	VADDSS eps+40(FP), X0, X0
	VSQRTSS X0, X0, X0
	VMOVSS lnconst<>+256(SB), X1
	VDIVSS X0, X1, X0
	VBROADCASTSS X0, Y3

	// pass 3: normalise, GELU, store or dot
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	XORQ BX, BX
	TESTQ R14, R14
	JZ lanes1
lanes2:
	VMOVUPS 0(SI)(BX*1), Y1
	VSUBPS Y2, Y1, Y1
	VMULPS Y3, Y1, Y1
	VMULPS 0(R9)(BX*1), Y1, Y1
	VADDPS 0(R10)(BX*1), Y1, Y1
	VMOVUPS 32(SI)(BX*1), Y7
	VSUBPS Y2, Y7, Y7
	VMULPS Y3, Y7, Y7
	VMULPS 32(R9)(BX*1), Y7, Y7
	VADDPS 32(R10)(BX*1), Y7, Y7
	TESTQ $1, R12
	JZ nogelu2
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
	VMULPS Y11, Y11, Y11
	VRCPPS Y11, Y10
	VFNMADD213PS Y12, Y10, Y11
	VFMADD213PS Y10, Y10, Y11
	VMULPS Y9, Y11, Y11
	VMAXPS Y1, Y6, Y1
	VFNMADD231PS lnconst<>+288(SB), Y11, Y1
	VANDPS lnconst<>+0(SB), Y7, Y8
	VMINPS lnconst<>+32(SB), Y8, Y8
	VMOVUPS lnconst<>+64(SB), Y13
	VFMADD213PS lnconst<>+96(SB), Y8, Y13
	VFMADD213PS lnconst<>+128(SB), Y8, Y13
	VFMADD213PS lnconst<>+160(SB), Y8, Y13
	VFMADD213PS lnconst<>+192(SB), Y8, Y13
	VFMADD213PS lnconst<>+224(SB), Y8, Y13
	VFMADD213PS Y12, Y8, Y13
	VMULPS Y13, Y13, Y13
	VMULPS Y13, Y13, Y13
	VMULPS Y13, Y13, Y13
	VMULPS Y13, Y13, Y13
	VRCPPS Y13, Y15
	VFNMADD213PS Y12, Y15, Y13
	VFMADD213PS Y15, Y15, Y13
	VMULPS Y8, Y13, Y13
	VMAXPS Y7, Y6, Y7
	VFNMADD231PS lnconst<>+288(SB), Y13, Y7
nogelu2:
	TESTQ $2, R12
	JZ st2a
	VFMADD231PS 0(R11)(BX*1), Y1, Y4
	JMP st2adone
st2a:
	VMOVUPS Y1, 0(DI)(BX*1)
st2adone:
	TESTQ $2, R12
	JZ st2b
	VFMADD231PS 32(R11)(BX*1), Y7, Y5
	JMP st2bdone
st2b:
	VMOVUPS Y7, 32(DI)(BX*1)
st2bdone:
	ADDQ $64, BX
	CMPQ BX, R13
	JB lanes2
	JMP rowdone
lanes1:
	VMOVUPS 0(SI)(BX*1), Y1
	VSUBPS Y2, Y1, Y1
	VMULPS Y3, Y1, Y1
	VMULPS 0(R9)(BX*1), Y1, Y1
	VADDPS 0(R10)(BX*1), Y1, Y1
	TESTQ $1, R12
	JZ nogelu1
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
	VMULPS Y11, Y11, Y11
	VRCPPS Y11, Y10
	VFNMADD213PS Y12, Y10, Y11
	VFMADD213PS Y10, Y10, Y11
	VMULPS Y9, Y11, Y11
	VMAXPS Y1, Y6, Y1
	VFNMADD231PS lnconst<>+288(SB), Y11, Y1
nogelu1:
	TESTQ $2, R12
	JZ st1
	VFMADD231PS 0(R11)(BX*1), Y1, Y4
	JMP st1done
st1:
	VMOVUPS Y1, 0(DI)(BX*1)
st1done:
	ADDQ $32, BX
	CMPQ BX, R13
	JB lanes1

rowdone:
	TESTQ $2, R12
	JZ advance
	VADDPS Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X1
	VADDPS X1, X4, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VADDSS dotBias+64(FP), X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	JMP rowend
advance:
	ADDQ R13, DI
rowend:
	ADDQ R13, SI
	DECQ R8
	JNZ row
	VZEROUPPER
	RET
