#include "textflag.h"

// Engine kernels (see engine.go). Register use in the tile kernels: the
// 6×16 tile lives in Y4..Y15 (two registers per row; 6×8: Y4..Y9), Y0/Y1
// hold a row of the packed B panel and Y2/Y3 broadcast A values; the
// epilogue reuses Y0..Y3 for bias, alpha and a zero.

// func tile6x16Asm(k int, a *float32, lda int, b *float32, c *float32, ldc int, flags int, bias, alpha *float32)
TEXT ·tile6x16Asm(SB), NOSPLIT, $0-72
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R9
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	MOVQ flags+48(FP), BX
	SHLQ $2, R9
	SHLQ $2, R8
	LEAQ (SI)(R9*2), R10
	ADDQ R9, R10
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	TESTQ CX, CX
	JZ    t16epi

t16loop:
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VBROADCASTSS (SI), Y2
	VFMADD231PS  Y0, Y2, Y4
	VFMADD231PS  Y1, Y2, Y5
	VBROADCASTSS (SI)(R9*1), Y3
	VFMADD231PS  Y0, Y3, Y6
	VFMADD231PS  Y1, Y3, Y7
	VBROADCASTSS (SI)(R9*2), Y2
	VFMADD231PS  Y0, Y2, Y8
	VFMADD231PS  Y1, Y2, Y9
	VBROADCASTSS (R10), Y3
	VFMADD231PS  Y0, Y3, Y10
	VFMADD231PS  Y1, Y3, Y11
	VBROADCASTSS (R10)(R9*1), Y2
	VFMADD231PS  Y0, Y2, Y12
	VFMADD231PS  Y1, Y2, Y13
	VBROADCASTSS (R10)(R9*2), Y3
	VFMADD231PS  Y0, Y3, Y14
	VFMADD231PS  Y1, Y3, Y15
	ADDQ $4, SI
	ADDQ $4, R10
	ADDQ $64, DI
	DECQ CX
	JNZ  t16loop

t16epi:
	TESTQ $1, BX
	JZ    t16nacc
	MOVQ  DX, R11
	VADDPS (R11), Y4, Y4
	VADDPS 32(R11), Y5, Y5
	ADDQ   R8, R11
	VADDPS (R11), Y6, Y6
	VADDPS 32(R11), Y7, Y7
	ADDQ   R8, R11
	VADDPS (R11), Y8, Y8
	VADDPS 32(R11), Y9, Y9
	ADDQ   R8, R11
	VADDPS (R11), Y10, Y10
	VADDPS 32(R11), Y11, Y11
	ADDQ   R8, R11
	VADDPS (R11), Y12, Y12
	VADDPS 32(R11), Y13, Y13
	ADDQ   R8, R11
	VADDPS (R11), Y14, Y14
	VADDPS 32(R11), Y15, Y15

t16nacc:
	TESTQ $2, BX
	JZ    t16nbias
	MOVQ  bias+56(FP), AX
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VADDPS Y0, Y4, Y4
	VADDPS Y1, Y5, Y5
	VADDPS Y0, Y6, Y6
	VADDPS Y1, Y7, Y7
	VADDPS Y0, Y8, Y8
	VADDPS Y1, Y9, Y9
	VADDPS Y0, Y10, Y10
	VADDPS Y1, Y11, Y11
	VADDPS Y0, Y12, Y12
	VADDPS Y1, Y13, Y13
	VADDPS Y0, Y14, Y14
	VADDPS Y1, Y15, Y15

t16nbias:
	TESTQ $4, BX
	JZ    t16store
	MOVQ  alpha+64(FP), AX
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VXORPS Y2, Y2, Y2
	VMINPS Y2, Y4, Y3
	VMAXPS Y2, Y4, Y4
	VFMADD231PS Y3, Y0, Y4
	VMINPS Y2, Y5, Y3
	VMAXPS Y2, Y5, Y5
	VFMADD231PS Y3, Y1, Y5
	VMINPS Y2, Y6, Y3
	VMAXPS Y2, Y6, Y6
	VFMADD231PS Y3, Y0, Y6
	VMINPS Y2, Y7, Y3
	VMAXPS Y2, Y7, Y7
	VFMADD231PS Y3, Y1, Y7
	VMINPS Y2, Y8, Y3
	VMAXPS Y2, Y8, Y8
	VFMADD231PS Y3, Y0, Y8
	VMINPS Y2, Y9, Y3
	VMAXPS Y2, Y9, Y9
	VFMADD231PS Y3, Y1, Y9
	VMINPS Y2, Y10, Y3
	VMAXPS Y2, Y10, Y10
	VFMADD231PS Y3, Y0, Y10
	VMINPS Y2, Y11, Y3
	VMAXPS Y2, Y11, Y11
	VFMADD231PS Y3, Y1, Y11
	VMINPS Y2, Y12, Y3
	VMAXPS Y2, Y12, Y12
	VFMADD231PS Y3, Y0, Y12
	VMINPS Y2, Y13, Y3
	VMAXPS Y2, Y13, Y13
	VFMADD231PS Y3, Y1, Y13
	VMINPS Y2, Y14, Y3
	VMAXPS Y2, Y14, Y14
	VFMADD231PS Y3, Y0, Y14
	VMINPS Y2, Y15, Y3
	VMAXPS Y2, Y15, Y15
	VFMADD231PS Y3, Y1, Y15

t16store:
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y10, (DX)
	VMOVUPS Y11, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y12, (DX)
	VMOVUPS Y13, 32(DX)
	ADDQ    R8, DX
	VMOVUPS Y14, (DX)
	VMOVUPS Y15, 32(DX)
	VZEROUPPER
	RET

// func tile6x8Asm(k int, a *float32, lda int, b *float32, c *float32, ldc int, flags int, bias, alpha *float32)
//
// Six accumulators alone would leave the FMA units waiting on latency, so
// even and odd k go to two banks (Y4..Y9 and Y10..Y15), summed at the end.
TEXT ·tile6x8Asm(SB), NOSPLIT, $0-72
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R9
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	MOVQ flags+48(FP), BX
	SHLQ $2, R9
	SHLQ $2, R8
	LEAQ (SI)(R9*2), R10
	ADDQ R9, R10
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	CMPQ CX, $2
	JLT  t8tail

t8loop:
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VBROADCASTSS (SI), Y2
	VFMADD231PS  Y0, Y2, Y4
	VBROADCASTSS 4(SI), Y3
	VFMADD231PS  Y1, Y3, Y10
	VBROADCASTSS (SI)(R9*1), Y2
	VFMADD231PS  Y0, Y2, Y5
	VBROADCASTSS 4(SI)(R9*1), Y3
	VFMADD231PS  Y1, Y3, Y11
	VBROADCASTSS (SI)(R9*2), Y2
	VFMADD231PS  Y0, Y2, Y6
	VBROADCASTSS 4(SI)(R9*2), Y3
	VFMADD231PS  Y1, Y3, Y12
	VBROADCASTSS (R10), Y2
	VFMADD231PS  Y0, Y2, Y7
	VBROADCASTSS 4(R10), Y3
	VFMADD231PS  Y1, Y3, Y13
	VBROADCASTSS (R10)(R9*1), Y2
	VFMADD231PS  Y0, Y2, Y8
	VBROADCASTSS 4(R10)(R9*1), Y3
	VFMADD231PS  Y1, Y3, Y14
	VBROADCASTSS (R10)(R9*2), Y2
	VFMADD231PS  Y0, Y2, Y9
	VBROADCASTSS 4(R10)(R9*2), Y3
	VFMADD231PS  Y1, Y3, Y15
	ADDQ $8, SI
	ADDQ $8, R10
	ADDQ $64, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  t8loop

t8tail:
	TESTQ CX, CX
	JZ    t8sum
	VMOVUPS (DI), Y0
	VBROADCASTSS (SI), Y2
	VFMADD231PS  Y0, Y2, Y4
	VBROADCASTSS (SI)(R9*1), Y2
	VFMADD231PS  Y0, Y2, Y5
	VBROADCASTSS (SI)(R9*2), Y2
	VFMADD231PS  Y0, Y2, Y6
	VBROADCASTSS (R10), Y2
	VFMADD231PS  Y0, Y2, Y7
	VBROADCASTSS (R10)(R9*1), Y2
	VFMADD231PS  Y0, Y2, Y8
	VBROADCASTSS (R10)(R9*2), Y2
	VFMADD231PS  Y0, Y2, Y9

t8sum:
	VADDPS Y10, Y4, Y4
	VADDPS Y11, Y5, Y5
	VADDPS Y12, Y6, Y6
	VADDPS Y13, Y7, Y7
	VADDPS Y14, Y8, Y8
	VADDPS Y15, Y9, Y9

t8epi:
	TESTQ $1, BX
	JZ    t8nacc
	MOVQ  DX, R11
	VADDPS (R11), Y4, Y4
	ADDQ   R8, R11
	VADDPS (R11), Y5, Y5
	ADDQ   R8, R11
	VADDPS (R11), Y6, Y6
	ADDQ   R8, R11
	VADDPS (R11), Y7, Y7
	ADDQ   R8, R11
	VADDPS (R11), Y8, Y8
	ADDQ   R8, R11
	VADDPS (R11), Y9, Y9

t8nacc:
	TESTQ $2, BX
	JZ    t8nbias
	MOVQ  bias+56(FP), AX
	VMOVUPS (AX), Y0
	VADDPS Y0, Y4, Y4
	VADDPS Y0, Y5, Y5
	VADDPS Y0, Y6, Y6
	VADDPS Y0, Y7, Y7
	VADDPS Y0, Y8, Y8
	VADDPS Y0, Y9, Y9

t8nbias:
	TESTQ $4, BX
	JZ    t8store
	MOVQ  alpha+64(FP), AX
	VMOVUPS (AX), Y0
	VXORPS Y2, Y2, Y2
	VMINPS Y2, Y4, Y3
	VMAXPS Y2, Y4, Y4
	VFMADD231PS Y3, Y0, Y4
	VMINPS Y2, Y5, Y3
	VMAXPS Y2, Y5, Y5
	VFMADD231PS Y3, Y0, Y5
	VMINPS Y2, Y6, Y3
	VMAXPS Y2, Y6, Y6
	VFMADD231PS Y3, Y0, Y6
	VMINPS Y2, Y7, Y3
	VMAXPS Y2, Y7, Y7
	VFMADD231PS Y3, Y0, Y7
	VMINPS Y2, Y8, Y3
	VMAXPS Y2, Y8, Y8
	VFMADD231PS Y3, Y0, Y8
	VMINPS Y2, Y9, Y3
	VMAXPS Y2, Y9, Y9
	VFMADD231PS Y3, Y0, Y9

t8store:
	VMOVUPS Y4, (DX)
	ADDQ    R8, DX
	VMOVUPS Y5, (DX)
	ADDQ    R8, DX
	VMOVUPS Y6, (DX)
	ADDQ    R8, DX
	VMOVUPS Y7, (DX)
	ADDQ    R8, DX
	VMOVUPS Y8, (DX)
	ADDQ    R8, DX
	VMOVUPS Y9, (DX)
	VZEROUPPER
	RET

// Constants of the exponential, each broadcast to 8 lanes; see ExpPoly.
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
// Per row: the maximum m, then e_j = exp(x_j − m) with the polynomial of
// ExpPoly (8 lanes at a time), their sum s, and finally e_j / s. Y15 holds
// m, Y14 the running sum; Y0..Y4 are scratch.
TEXT ·softmaxRowsAsm(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), DI
	MOVQ rows+8(FP), CX
	MOVQ cols+16(FP), BX
	MOVQ ld+24(FP), R8
	SHRQ $3, BX
	SHLQ $2, R8

smrow:
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

smmaxdone:
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

smexp:
	VMOVUPS      (SI), Y0
	VSUBPS       Y15, Y0, Y0
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
	VMOVUPS      Y0, (SI)
	VADDPS       Y0, Y14, Y14
	ADDQ         $32, SI
	DECQ         DX
	JNZ          smexp

	VEXTRACTF128 $1, Y14, X1
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

smscale:
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

