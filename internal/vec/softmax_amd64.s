//go:build !purego

#include "textflag.h"

// The row softmax of softmax.go.

// Constants of the exponential, each broadcast to 8 lanes; see ExpPoly:
// the clamp -87.3365, log2(e), 0.5, C1, C2, P0..P5, 1.0 and (integer) 127.
DATA expconst<>+0(SB)/4, $0xc2aeac4a
DATA expconst<>+4(SB)/4, $0xc2aeac4a
DATA expconst<>+8(SB)/4, $0xc2aeac4a
DATA expconst<>+12(SB)/4, $0xc2aeac4a
DATA expconst<>+16(SB)/4, $0xc2aeac4a
DATA expconst<>+20(SB)/4, $0xc2aeac4a
DATA expconst<>+24(SB)/4, $0xc2aeac4a
DATA expconst<>+28(SB)/4, $0xc2aeac4a
DATA expconst<>+32(SB)/4, $0x3fb8aa3b
DATA expconst<>+36(SB)/4, $0x3fb8aa3b
DATA expconst<>+40(SB)/4, $0x3fb8aa3b
DATA expconst<>+44(SB)/4, $0x3fb8aa3b
DATA expconst<>+48(SB)/4, $0x3fb8aa3b
DATA expconst<>+52(SB)/4, $0x3fb8aa3b
DATA expconst<>+56(SB)/4, $0x3fb8aa3b
DATA expconst<>+60(SB)/4, $0x3fb8aa3b
DATA expconst<>+64(SB)/4, $0x3f000000
DATA expconst<>+68(SB)/4, $0x3f000000
DATA expconst<>+72(SB)/4, $0x3f000000
DATA expconst<>+76(SB)/4, $0x3f000000
DATA expconst<>+80(SB)/4, $0x3f000000
DATA expconst<>+84(SB)/4, $0x3f000000
DATA expconst<>+88(SB)/4, $0x3f000000
DATA expconst<>+92(SB)/4, $0x3f000000
DATA expconst<>+96(SB)/4, $0x3f318000
DATA expconst<>+100(SB)/4, $0x3f318000
DATA expconst<>+104(SB)/4, $0x3f318000
DATA expconst<>+108(SB)/4, $0x3f318000
DATA expconst<>+112(SB)/4, $0x3f318000
DATA expconst<>+116(SB)/4, $0x3f318000
DATA expconst<>+120(SB)/4, $0x3f318000
DATA expconst<>+124(SB)/4, $0x3f318000
DATA expconst<>+128(SB)/4, $0xb95e8083
DATA expconst<>+132(SB)/4, $0xb95e8083
DATA expconst<>+136(SB)/4, $0xb95e8083
DATA expconst<>+140(SB)/4, $0xb95e8083
DATA expconst<>+144(SB)/4, $0xb95e8083
DATA expconst<>+148(SB)/4, $0xb95e8083
DATA expconst<>+152(SB)/4, $0xb95e8083
DATA expconst<>+156(SB)/4, $0xb95e8083
DATA expconst<>+160(SB)/4, $0x39506967
DATA expconst<>+164(SB)/4, $0x39506967
DATA expconst<>+168(SB)/4, $0x39506967
DATA expconst<>+172(SB)/4, $0x39506967
DATA expconst<>+176(SB)/4, $0x39506967
DATA expconst<>+180(SB)/4, $0x39506967
DATA expconst<>+184(SB)/4, $0x39506967
DATA expconst<>+188(SB)/4, $0x39506967
DATA expconst<>+192(SB)/4, $0x3ab743ce
DATA expconst<>+196(SB)/4, $0x3ab743ce
DATA expconst<>+200(SB)/4, $0x3ab743ce
DATA expconst<>+204(SB)/4, $0x3ab743ce
DATA expconst<>+208(SB)/4, $0x3ab743ce
DATA expconst<>+212(SB)/4, $0x3ab743ce
DATA expconst<>+216(SB)/4, $0x3ab743ce
DATA expconst<>+220(SB)/4, $0x3ab743ce
DATA expconst<>+224(SB)/4, $0x3c088908
DATA expconst<>+228(SB)/4, $0x3c088908
DATA expconst<>+232(SB)/4, $0x3c088908
DATA expconst<>+236(SB)/4, $0x3c088908
DATA expconst<>+240(SB)/4, $0x3c088908
DATA expconst<>+244(SB)/4, $0x3c088908
DATA expconst<>+248(SB)/4, $0x3c088908
DATA expconst<>+252(SB)/4, $0x3c088908
DATA expconst<>+256(SB)/4, $0x3d2aa9c1
DATA expconst<>+260(SB)/4, $0x3d2aa9c1
DATA expconst<>+264(SB)/4, $0x3d2aa9c1
DATA expconst<>+268(SB)/4, $0x3d2aa9c1
DATA expconst<>+272(SB)/4, $0x3d2aa9c1
DATA expconst<>+276(SB)/4, $0x3d2aa9c1
DATA expconst<>+280(SB)/4, $0x3d2aa9c1
DATA expconst<>+284(SB)/4, $0x3d2aa9c1
DATA expconst<>+288(SB)/4, $0x3e2aaaaa
DATA expconst<>+292(SB)/4, $0x3e2aaaaa
DATA expconst<>+296(SB)/4, $0x3e2aaaaa
DATA expconst<>+300(SB)/4, $0x3e2aaaaa
DATA expconst<>+304(SB)/4, $0x3e2aaaaa
DATA expconst<>+308(SB)/4, $0x3e2aaaaa
DATA expconst<>+312(SB)/4, $0x3e2aaaaa
DATA expconst<>+316(SB)/4, $0x3e2aaaaa
DATA expconst<>+320(SB)/4, $0x3f000000
DATA expconst<>+324(SB)/4, $0x3f000000
DATA expconst<>+328(SB)/4, $0x3f000000
DATA expconst<>+332(SB)/4, $0x3f000000
DATA expconst<>+336(SB)/4, $0x3f000000
DATA expconst<>+340(SB)/4, $0x3f000000
DATA expconst<>+344(SB)/4, $0x3f000000
DATA expconst<>+348(SB)/4, $0x3f000000
DATA expconst<>+352(SB)/4, $0x3f800000
DATA expconst<>+356(SB)/4, $0x3f800000
DATA expconst<>+360(SB)/4, $0x3f800000
DATA expconst<>+364(SB)/4, $0x3f800000
DATA expconst<>+368(SB)/4, $0x3f800000
DATA expconst<>+372(SB)/4, $0x3f800000
DATA expconst<>+376(SB)/4, $0x3f800000
DATA expconst<>+380(SB)/4, $0x3f800000
DATA expconst<>+384(SB)/4, $0x0000007f
DATA expconst<>+388(SB)/4, $0x0000007f
DATA expconst<>+392(SB)/4, $0x0000007f
DATA expconst<>+396(SB)/4, $0x0000007f
DATA expconst<>+400(SB)/4, $0x0000007f
DATA expconst<>+404(SB)/4, $0x0000007f
DATA expconst<>+408(SB)/4, $0x0000007f
DATA expconst<>+412(SB)/4, $0x0000007f
GLOBL expconst<>(SB), RODATA|NOPTR, $416

// func softmaxRowsAsm(x *float32, rows, cols, ld int)
//
// Reference loop (twin: softmaxRowsGeneric), rows ≥ 1, cols a positive
// multiple of 8, eight lanes at a time; the sum s is kept in eight partial
// sums, so it rounds differently from the twin's single sum:
//
//	for i := 0; i < rows; i++ {
//		row := x[i*ld : i*ld+cols]
//		m := max(row...)
//		var s float32
//		for j, v := range row {
//			row[j] = ExpPoly(v - m) // the polynomial below, with FMAs
//			if v-m < expLo { row[j] = 0 } // no subnormal weights
//			s += row[j]
//		}
//		for j := range row {
//			row[j] *= 1 / s
//		}
//	}
//
// Registers:
//
//	DI        &x[i][0]
//	CX        rows left
//	BX        cols/8; DX blocks of 8 left in this row
//	R8        ld in bytes
//	SI        &x[i][j]
//	Y15       m, broadcast
//	Y14       the eight partial sums of s
//	Y0        x − m, then e; Y1 the power of two f, then 1/s
//	Y2, Y3    the polynomial, (x − m)²; Y4 2^f
//	Y5        the lanes with x − m < expLo, whose e is set to 0
TEXT ·softmaxRowsAsm(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), DI
	MOVQ rows+8(FP), CX
	MOVQ cols+16(FP), BX
	MOVQ ld+24(FP), R8
	SHRQ $3, BX
	SHLQ $2, R8

smrow: // m = max(row...)
	MOVQ    DI, SI
	MOVQ    BX, DX
	VMOVUPS (SI), Y0
	ADDQ    $32, SI
	DECQ    DX
	JZ      smmaxdone

smmax:
	VMAXPS (SI), Y0, Y0
	ADDQ   $32, SI
	DECQ   DX
	JNZ    smmax

smmaxdone: // Y15 = the horizontal max of Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VMAXPS       X1, X0, X0
	VBROADCASTSS X0, Y15
	VXORPS       Y14, Y14, Y14
	MOVQ         DI, SI
	MOVQ         BX, DX

smexp: // row[j:j+8] = ExpPoly(row[j:j+8] − m); s += them
	VMOVUPS      (SI), Y0
	VSUBPS       Y15, Y0, Y0
	VCMPPS       $1, expconst<>+0(SB), Y0, Y5 // Y5 = x − m < expLo
	VMAXPS       expconst<>+0(SB), Y0, Y0
	VMOVUPS      expconst<>+64(SB), Y1
	VFMADD231PS  expconst<>+32(SB), Y0, Y1
	VROUNDPS     $1, Y1, Y1
	VFNMADD231PS expconst<>+96(SB), Y1, Y0
	VFNMADD231PS expconst<>+128(SB), Y1, Y0
	VMOVUPS      expconst<>+160(SB), Y2
	VFMADD213PS  expconst<>+192(SB), Y0, Y2
	VFMADD213PS  expconst<>+224(SB), Y0, Y2
	VFMADD213PS  expconst<>+256(SB), Y0, Y2
	VFMADD213PS  expconst<>+288(SB), Y0, Y2
	VFMADD213PS  expconst<>+320(SB), Y0, Y2
	VMULPS       Y0, Y0, Y3
	VFMADD213PS  Y0, Y3, Y2
	VADDPS       expconst<>+352(SB), Y2, Y2
	VCVTTPS2DQ   Y1, Y4
	VPADDD       expconst<>+384(SB), Y4, Y4
	VPSLLD       $23, Y4, Y4
	VMULPS       Y4, Y2, Y0
	VANDNPS      Y0, Y5, Y0                   // e = 0 where Y5
	VMOVUPS      Y0, (SI)
	VADDPS       Y0, Y14, Y14
	ADDQ         $32, SI
	DECQ         DX
	JNZ          smexp

	VEXTRACTF128 $1, Y14, X1 // Y1 = 1/s, s the horizontal sum of Y14
	VADDPS       X1, X14, X0
	VPERMILPS    $0x4e, X0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VADDPS       X1, X0, X0
	VBROADCASTSS X0, Y0
	VMOVUPS      expconst<>+352(SB), Y1
	VDIVPS       Y0, Y1, Y1
	MOVQ         DI, SI
	MOVQ         BX, DX

smscale: // row[j:j+8] *= 1/s
	VMULPS  (SI), Y1, Y0
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	DECQ    DX
	JNZ     smscale

	ADDQ R8, DI
	DECQ CX
	JNZ  smrow
	VZEROUPPER
	RET
