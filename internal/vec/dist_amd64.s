//go:build !purego

#include "textflag.h"

// The distance kernels of the HNSW index (see dist.go). Each walks 32
// elements at a time into four 8-lane accumulators, then 8 at a time into
// the first, adds the 32 partial sums horizontally and finishes the last
// len%8 elements one by one. The Go callers check that lengths agree.

// func dotAVX2(a, b []float32) float32
//
// Reference loop (twin: dotGeneric, which keeps four partial sums):
//
//	for i := range a {
//		s += a[i] * b[i]
//	}
//	return s
//
// Registers:
//
//	SI, DI    &a[i], &b[i]
//	CX        elements left
//	Y0..Y3    partial sums (X0 the total after the horizontal sum)
//	Y4..Y7    a[i:i+32]; X1 scratch
TEXT ·dotAVX2(SB), NOSPLIT, $0-52
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot32: // s[0:32] += a[i:i+32] * b[i:i+32]
	CMPQ CX, $32
	JL   dot8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  dot32

dot8: // s[0:8] += a[i:i+8] * b[i:i+8]
	CMPQ CX, $8
	JL   dotsum
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  dot8

dotsum: // X0[0] = the sum of the 32 partial sums
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0

dottail: // s += a[i] * b[i] for the last len%8
	CMPQ CX, $0
	JE   dotdone
	VMOVSS (SI), X1
	VFMADD231SS (DI), X1, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  dottail

dotdone:
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// func l2SquaredAVX2(a, b []float32) float32
//
// Reference loop (twin: l2SquaredGeneric):
//
//	for i := range a {
//		d := a[i] - b[i]
//		s += d * d
//	}
//	return s
//
// Registers as in dotAVX2; Y4..Y7 hold the differences.
TEXT ·l2SquaredAVX2(SB), NOSPLIT, $0-52
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

l232: // d = a[i:i+32] - b[i:i+32]; s[0:32] += d*d
	CMPQ CX, $32
	JL   l28
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VSUBPS (DI), Y4, Y4
	VSUBPS 32(DI), Y5, Y5
	VSUBPS 64(DI), Y6, Y6
	VSUBPS 96(DI), Y7, Y7
	VFMADD231PS Y4, Y4, Y0
	VFMADD231PS Y5, Y5, Y1
	VFMADD231PS Y6, Y6, Y2
	VFMADD231PS Y7, Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  l232

l28:
	CMPQ CX, $8
	JL   l2sum
	VMOVUPS (SI), Y4
	VSUBPS (DI), Y4, Y4
	VFMADD231PS Y4, Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  l28

l2sum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0

l2tail:
	CMPQ CX, $0
	JE   l2done
	VMOVSS (SI), X1
	VSUBSS (DI), X1, X1
	VFMADD231SS X1, X1, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  l2tail

l2done:
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// func l2SquaredBatchAVX2(q, data []float32, ids []int32, out []float32)
//
// Reference loop (twin: l2SquaredBatchGeneric), d = len(q) ≥ 1, ids
// range-checked by the Go caller; the row of ids[i+2] is prefetched while
// row ids[i] is computed as in l2SquaredAVX2:
//
//	for i, id := range ids {
//		out[i] = l2SquaredAVX2(q, data[int(id)*d:int(id)*d+d])
//	}
//
// Registers:
//
//	R8, R9    &q[0], d
//	R10       &data[0]
//	R11, R12  &ids[0], len(ids)
//	R13       &out[0]
//	R14       d in bytes (a row's length)
//	BX        i
//	AX, DX    the index and row address being prefetched
//	SI, DI    &q[j], &row[j]; CX elements of the row left
//	Y0..Y7    as in l2SquaredAVX2
TEXT ·l2SquaredBatchAVX2(SB), NOSPLIT, $0-96
	MOVQ q_base+0(FP), R8
	MOVQ q_len+8(FP), R9
	MOVQ data_base+24(FP), R10
	MOVQ ids_base+48(FP), R11
	MOVQ ids_len+56(FP), R12
	MOVQ out_base+72(FP), R13
	MOVQ R9, R14
	SHLQ $2, R14
	XORQ BX, BX

	// Prefetch the rows of ids 0 and 1.
	XORQ AX, AX

prelude: // for AX := 0; AX < min(2, len(ids)); AX++: prefetch row ids[AX]
	CMPQ AX, $2
	JGE  batchloop
	CMPQ AX, R12
	JGE  batchloop
	MOVLQSX (R11)(AX*4), DX
	IMULQ R14, DX
	ADDQ R10, DX
	XORQ CX, CX

prepf: // every 64-byte line of the row
	PREFETCHT0 (DX)(CX*1)
	ADDQ $64, CX
	CMPQ CX, R14
	JL   prepf
	INCQ AX
	JMP  prelude

batchloop: // for BX := 0; BX < len(ids); BX++
	CMPQ BX, R12
	JGE  batchdone
	LEAQ 2(BX), AX
	CMPQ AX, R12
	JGE  compute
	MOVLQSX (R11)(AX*4), DX
	IMULQ R14, DX
	ADDQ R10, DX
	XORQ CX, CX

pfloop: // prefetch row ids[BX+2]
	PREFETCHT0 (DX)(CX*1)
	ADDQ $64, CX
	CMPQ CX, R14
	JL   pfloop

compute: // DI = &data[ids[BX]*d]; then l2SquaredAVX2(q, row)
	MOVLQSX (R11)(BX*4), DI
	IMULQ R14, DI
	ADDQ R10, DI
	MOVQ R8, SI
	MOVQ R9, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

b32:
	CMPQ CX, $32
	JL   b8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VSUBPS (DI), Y4, Y4
	VSUBPS 32(DI), Y5, Y5
	VSUBPS 64(DI), Y6, Y6
	VSUBPS 96(DI), Y7, Y7
	VFMADD231PS Y4, Y4, Y0
	VFMADD231PS Y5, Y5, Y1
	VFMADD231PS Y6, Y6, Y2
	VFMADD231PS Y7, Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  b32

b8:
	CMPQ CX, $8
	JL   bsum
	VMOVUPS (SI), Y4
	VSUBPS (DI), Y4, Y4
	VFMADD231PS Y4, Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  b8

bsum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0

btail:
	CMPQ CX, $0
	JE   bstore
	VMOVSS (SI), X1
	VSUBSS (DI), X1, X1
	VFMADD231SS X1, X1, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  btail

bstore: // out[BX] = the sum
	MOVSS X0, (R13)(BX*4)
	INCQ BX
	JMP  batchloop

batchdone:
	VZEROUPPER
	RET
