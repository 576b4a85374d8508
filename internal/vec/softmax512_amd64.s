//go:build !purego

#include "textflag.h"

// The constants of expconst (softmax_amd64.s, which keeps them file-local),
// once each: expLo, log2(e), 0.5, C1, C2, P0..P5, 1.0 and (integer) 127.
DATA exp512<>+0(SB)/4, $0xc2aeac4a
DATA exp512<>+4(SB)/4, $0x3fb8aa3b
DATA exp512<>+8(SB)/4, $0x3f000000
DATA exp512<>+12(SB)/4, $0x3f318000
DATA exp512<>+16(SB)/4, $0xb95e8083
DATA exp512<>+20(SB)/4, $0x39506967
DATA exp512<>+24(SB)/4, $0x3ab743ce
DATA exp512<>+28(SB)/4, $0x3c088908
DATA exp512<>+32(SB)/4, $0x3d2aa9c1
DATA exp512<>+36(SB)/4, $0x3e2aaaaa
DATA exp512<>+40(SB)/4, $0x3f000000
DATA exp512<>+44(SB)/4, $0x3f800000
DATA exp512<>+48(SB)/4, $0x0000007f
GLOBL exp512<>(SB), RODATA|NOPTR, $52

// func softmaxRows512Asm(x *float32, rows, cols, ld int)
//
// softmaxRowsAsm (softmax_amd64.s) sixteen lanes at a time, for cols a
// positive multiple of 16; the same reference loop and ExpPoly polynomial
// (twin: softmaxRowsGeneric), with the sum kept in sixteen partial sums,
// and the lanes with x − m < expLo set to 0 by mask K1. VRNDSCALEPS $1
// rounds down, as VROUNDPS $1 does.
//
// Registers: DI &x[i][0], CX rows left, BX cols/16, DX steps left, R8 ld
// in bytes, SI &x[i][j]; Z15 m, Z14 the partial sums, Z0..Z4 as in
// softmaxRowsAsm, Z5 0, Z16..Z28 the constants of expconst broadcast.
TEXT ·softmaxRows512Asm(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), DI
	MOVQ rows+8(FP), CX
	MOVQ cols+16(FP), BX
	MOVQ ld+24(FP), R8
	SHRQ $4, BX
	SHLQ $2, R8
	VBROADCASTSS exp512<>+0(SB), Z16   // expLo
	VBROADCASTSS exp512<>+4(SB), Z17  // log2(e)
	VBROADCASTSS exp512<>+8(SB), Z18  // 0.5
	VBROADCASTSS exp512<>+12(SB), Z19  // C1
	VBROADCASTSS exp512<>+16(SB), Z20 // C2
	VBROADCASTSS exp512<>+20(SB), Z21 // P0
	VBROADCASTSS exp512<>+24(SB), Z22 // P1
	VBROADCASTSS exp512<>+28(SB), Z23 // P2
	VBROADCASTSS exp512<>+32(SB), Z24 // P3
	VBROADCASTSS exp512<>+36(SB), Z25 // P4
	VBROADCASTSS exp512<>+40(SB), Z26 // P5
	VBROADCASTSS exp512<>+44(SB), Z27 // 1.0
	VPBROADCASTD exp512<>+48(SB), Z28 // 127
	VPXORD       Z5, Z5, Z5

s5row: // m = max(row...)
	MOVQ    DI, SI
	MOVQ    BX, DX
	VMOVUPS (SI), Z0
	ADDQ    $64, SI
	DECQ    DX
	JZ      s5maxdone

s5max:
	VMAXPS (SI), Z0, Z0
	ADDQ   $64, SI
	DECQ   DX
	JNZ    s5max

s5maxdone:
	VEXTRACTF32X8 $1, Z0, Y1
	VMAXPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0x4e, X0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0xb1, X0, X1
	VMAXPS        X1, X0, X0
	VBROADCASTSS  X0, Z15
	VPXORD        Z14, Z14, Z14
	MOVQ          DI, SI
	MOVQ          BX, DX

s5exp: // row[j:j+16] = ExpPoly(row[j:j+16] − m), 0 below expLo; s += them
	VMOVUPS      (SI), Z0
	VSUBPS       Z15, Z0, Z0
	VCMPPS       $1, Z16, Z0, K1
	VMAXPS       Z16, Z0, Z0
	VMOVAPS      Z18, Z1
	VFMADD231PS  Z17, Z0, Z1
	VRNDSCALEPS  $1, Z1, Z1
	VFNMADD231PS Z19, Z1, Z0
	VFNMADD231PS Z20, Z1, Z0
	VMOVAPS      Z21, Z2
	VFMADD213PS  Z22, Z0, Z2
	VFMADD213PS  Z23, Z0, Z2
	VFMADD213PS  Z24, Z0, Z2
	VFMADD213PS  Z25, Z0, Z2
	VFMADD213PS  Z26, Z0, Z2
	VMULPS       Z0, Z0, Z3
	VFMADD213PS  Z0, Z3, Z2
	VADDPS       Z27, Z2, Z2
	VCVTTPS2DQ   Z1, Z4
	VPADDD       Z28, Z4, Z4
	VPSLLD       $23, Z4, Z4
	VMULPS       Z4, Z2, Z0
	VMOVAPS      Z5, K1, Z0
	VMOVUPS      Z0, (SI)
	VADDPS       Z0, Z14, Z14
	ADDQ         $64, SI
	DECQ         DX
	JNZ          s5exp

	VEXTRACTF32X8 $1, Z14, Y1 // Z1 = 1/s, s the horizontal sum of Z14
	VADDPS        Y1, Y14, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VPERMILPS     $0x4e, X0, X1
	VADDPS        X1, X0, X0
	VPERMILPS     $0xb1, X0, X1
	VADDPS        X1, X0, X0
	VBROADCASTSS  X0, Z0
	VDIVPS        Z0, Z27, Z1
	MOVQ          DI, SI
	MOVQ          BX, DX

s5scale:
	VMULPS  (SI), Z1, Z0
	VMOVUPS Z0, (SI)
	ADDQ    $64, SI
	DECQ    DX
	JNZ     s5scale

	ADDQ R8, DI
	DECQ CX
	JNZ  s5row
	VZEROUPPER
	RET

// func softmaxCodeRowsAsm(x *float32, rows, cols, ld int, nv int, dst *uint8, ldd int, scale *float32)
//
// softmaxRows512Asm fused with QuantizeRows(dst, ldd, scale, x, ld, rows,
// nv, false) of its output (the twin is that composition; 0 < nv ≤ cols,
// cols a multiple of 16). Per row, with e, s and r = 1/s exactly as in
// softmaxRows512Asm (a_j = e_j·r, rounded, are the softmax weights):
//
//	emax := max over j < nv of e_j  // in the exp loop, lanes j < nv (K3 in the last such step)
//	ma := emax * r                  // = max over j < nv of a_j: rounding is monotonic
//	sc, inv := ma/255, 255/ma (0, 0 if ma == 0)
//	scale[i] = sc
//	for j < RoundUp4(nv): dst[i*ldd+j] = usat8(max(RoundToEven((e_j*r)*inv), 0)) // e_j = 0 past nv
//
// x is left holding e (not the weights). Registers as in softmaxRows512Asm,
// and: R9, R10 full steps and tail lanes of nv, K3 the tail's lanes, K4
// the tail's stored bytes, R11 the step index, Z13 emax, R12 &dst[i][0],
// R13 ldd, R14 &scale[i].
TEXT ·softmaxCodeRowsAsm(SB), NOSPLIT, $0-64
	MOVQ x+0(FP), DI
	MOVQ rows+8(FP), CX
	MOVQ cols+16(FP), BX
	MOVQ ld+24(FP), R8
	MOVQ nv+32(FP), R9
	MOVQ dst+40(FP), R12
	MOVQ ldd+48(FP), R13
	MOVQ scale+56(FP), R14
	SHRQ $4, BX
	SHLQ $2, R8
	MOVQ R9, R10
	ANDQ $15, R10              // tail lanes of nv
	SHRQ $4, R9                // full steps of nv
	MOVQ CX, R15               // keep rows: CL is needed for the shifts
	MOVQ R10, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K3
	ADDQ $3, CX
	ANDQ $-4, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K4
	MOVQ R15, CX
	VBROADCASTSS exp512<>+0(SB), Z16
	VBROADCASTSS exp512<>+4(SB), Z17
	VBROADCASTSS exp512<>+8(SB), Z18
	VBROADCASTSS exp512<>+12(SB), Z19
	VBROADCASTSS exp512<>+16(SB), Z20
	VBROADCASTSS exp512<>+20(SB), Z21
	VBROADCASTSS exp512<>+24(SB), Z22
	VBROADCASTSS exp512<>+28(SB), Z23
	VBROADCASTSS exp512<>+32(SB), Z24
	VBROADCASTSS exp512<>+36(SB), Z25
	VBROADCASTSS exp512<>+40(SB), Z26
	VBROADCASTSS exp512<>+44(SB), Z27
	VPBROADCASTD exp512<>+48(SB), Z28
	VPXORD       Z5, Z5, Z5
	MOVL         $0x437f0000, AX // 255.0
	VMOVD        AX, X12

scrow:
	MOVQ    DI, SI
	MOVQ    BX, DX
	VMOVUPS (SI), Z0
	ADDQ    $64, SI
	DECQ    DX
	JZ      scmaxdone

scmax:
	VMAXPS (SI), Z0, Z0
	ADDQ   $64, SI
	DECQ   DX
	JNZ    scmax

scmaxdone:
	VEXTRACTF32X8 $1, Z0, Y1
	VMAXPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0x4e, X0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0xb1, X0, X1
	VMAXPS        X1, X0, X0
	VBROADCASTSS  X0, Z15
	VPXORD        Z14, Z14, Z14
	VPXORD        Z13, Z13, Z13
	MOVQ          DI, SI
	MOVQ          BX, DX
	XORQ          R11, R11

scexp:
	VMOVUPS      (SI), Z0
	VSUBPS       Z15, Z0, Z0
	VCMPPS       $1, Z16, Z0, K1
	VMAXPS       Z16, Z0, Z0
	VMOVAPS      Z18, Z1
	VFMADD231PS  Z17, Z0, Z1
	VRNDSCALEPS  $1, Z1, Z1
	VFNMADD231PS Z19, Z1, Z0
	VFNMADD231PS Z20, Z1, Z0
	VMOVAPS      Z21, Z2
	VFMADD213PS  Z22, Z0, Z2
	VFMADD213PS  Z23, Z0, Z2
	VFMADD213PS  Z24, Z0, Z2
	VFMADD213PS  Z25, Z0, Z2
	VFMADD213PS  Z26, Z0, Z2
	VMULPS       Z0, Z0, Z3
	VFMADD213PS  Z0, Z3, Z2
	VADDPS       Z27, Z2, Z2
	VCVTTPS2DQ   Z1, Z4
	VPADDD       Z28, Z4, Z4
	VPSLLD       $23, Z4, Z4
	VMULPS       Z4, Z2, Z0
	VMOVAPS      Z5, K1, Z0
	VMOVUPS      Z0, (SI)
	VADDPS       Z0, Z14, Z14
	CMPQ         R11, R9
	JGT          scexpnext     // past nv
	JEQ          scexptail
	VMAXPS       Z0, Z13, Z13  // a step inside nv
	JMP          scexpnext

scexptail: // the step holding nv's tail: its first R10 lanes
	VMAXPS       Z0, Z13, K3, Z13

scexpnext:
	INCQ         R11
	ADDQ         $64, SI
	DECQ         DX
	JNZ          scexp

	VEXTRACTF32X8 $1, Z14, Y1 // Z1 = 1/s
	VADDPS        Y1, Y14, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VPERMILPS     $0x4e, X0, X1
	VADDPS        X1, X0, X0
	VPERMILPS     $0xb1, X0, X1
	VADDPS        X1, X0, X0
	VBROADCASTSS  X0, Z0
	VDIVPS        Z0, Z27, Z1
	VEXTRACTF32X8 $1, Z13, Y2 // X2 = emax
	VMAXPS        Y2, Y13, Y2
	VEXTRACTF128  $1, Y2, X3
	VMAXPS        X3, X2, X2
	VPERMILPS     $0x4e, X2, X3
	VMAXPS        X3, X2, X2
	VPERMILPS     $0xb1, X2, X3
	VMAXPS        X3, X2, X2
	VMULSS        X1, X2, X2   // ma = emax * r
	VXORPS        X4, X4, X4
	VXORPS        X6, X6, X6
	VUCOMISS      X4, X2
	JEQ           scscale
	VDIVSS        X12, X2, X6  // sc = ma / 255
	VDIVSS        X2, X12, X4  // inv = 255 / ma

scscale:
	VMOVSS       X6, (R14)
	VBROADCASTSS X4, Z4
	MOVQ         DI, SI
	MOVQ         R12, AX
	MOVQ         R9, DX

sccode:
	TESTQ     DX, DX
	JZ        sccodetail
	VMULPS    (SI), Z1, Z0     // a = e * r
	VMULPS    Z4, Z0, Z0
	VCVTPS2DQ Z0, Z0
	VPMAXSD   Z5, Z0, Z0
	VPMOVUSDB Z0, X0
	VMOVDQU8  X0, (AX)
	ADDQ      $64, SI
	ADDQ      $16, AX
	DECQ      DX
	JMP       sccode

sccodetail:
	TESTQ     R10, R10
	JZ        scnext
	VMOVUPS.Z (SI), K3, Z0
	VMULPS    Z1, Z0, Z0
	VMULPS    Z4, Z0, Z0
	VCVTPS2DQ Z0, Z0
	VPMAXSD   Z5, Z0, Z0
	VPMOVUSDB Z0, X0
	VMOVDQU8  X0, K4, (AX)

scnext:
	ADDQ R8, DI
	ADDQ R13, R12
	ADDQ $4, R14
	DECQ CX
	JNZ  scrow
	VZEROUPPER
	RET
