//go:build !purego

package vec

// The assembly kernels. Each declaration gives the reference loop the
// kernel computes (its plain-Go twin, named beside it, is that loop and is
// tested against it); the .s files say how, with their register use. The
// callers check lengths and bounds, so the kernels trust their arguments.

import "unsafe"

// tile6x16AVX2, tile6x8AVX2 and tile12x16AVX512 (tile_amd64.s) are the
// micro-kernel family; their twin is tileGo, with mr = 6 or 12 rows and
// w = 16 or 8 columns:
//
//	var acc [mr][w]float32
//	for p := 0; p < k; p++ {
//		for i := 0; i < mr; i++ {
//			for j := 0; j < w; j++ {
//				acc[i][j] += a[i*rs+p*cs] * b[p*ldb+j] // one FMA
//			}
//		}
//	}
//	for i, j := range the tile {
//		v := acc[i][j]
//		if flags&TileAccumulate != 0 { v += c[i*ldc+j] }
//		if flags&TileBias != 0 { v += bias[j] }
//		if flags&TilePReLU != 0 { v = max(v, 0) + alpha[j]*min(v, 0) } // one FMA
//		if flags&TileReLU != 0 { v = max(v, 0) }
//		c[i*ldc+j] = v
//	}
//
// tile6x8AVX2 reads A with cs = 1 and B with ldb = 8 and adds even and odd
// p into separate accumulators, summed before the epilogue. a and b may be
// nil when k is 0; bias and alpha may be nil when their flag is clear.
//
//go:noescape
func tile6x16AVX2(k int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, flags int, bias, alpha *float32)

//go:noescape
func tile6x8AVX2(k int, a *float32, lda int, b *float32, c *float32, ldc int, flags int, bias, alpha *float32)

//go:noescape
func tile12x16AVX512(k int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, flags int, bias, alpha *float32)

// dotAVX2 (dist_amd64.s) is dotGeneric with 32 partial sums (four
// registers of eight lanes) instead of four, len(a) = len(b):
//
//	for i := range a {
//		s += a[i] * b[i]
//	}
//	return s
//
//go:noescape
func dotAVX2(a, b []float32) float32

// l2SquaredAVX2 (dist_amd64.s) is l2SquaredGeneric, summed as dotAVX2:
//
//	for i := range a {
//		d := a[i] - b[i]
//		s += d * d
//	}
//	return s
//
//go:noescape
func l2SquaredAVX2(a, b []float32) float32

// l2SquaredBatchAVX2 (dist_amd64.s) is l2SquaredBatchGeneric, prefetching
// the rows of ids[i+2] while computing row ids[i]; d = len(q) ≥ 1:
//
//	for i, id := range ids {
//		out[i] = l2SquaredAVX2(q, data[int(id)*d:int(id)*d+d])
//	}
//
//go:noescape
func l2SquaredBatchAVX2(q, data []float32, ids []int32, out []float32)

// softmaxRowsAsm (softmax_amd64.s) is softmaxRowsGeneric for cols a
// positive multiple of 8, eight lanes at a time (the sums in eight partial
// sums):
//
//	for i := 0; i < rows; i++ {
//		row := x[i*ld : i*ld+cols]
//		m := max(row...)
//		var s float32
//		for j, v := range row {
//			row[j] = ExpPoly(v - m)
//			s += row[j]
//		}
//		for j := range row {
//			row[j] *= 1 / s
//		}
//	}
//
//go:noescape
func softmaxRowsAsm(x *float32, rows, cols, ld int)

// prefetchRowsAsm (prefetch_amd64.s) issues PREFETCHT1 for every 64-byte
// line of each row; it changes no memory:
//
//	for _, r := range rows[:n] {
//		for off := 0; off < rowBytes; off += 64 {
//			prefetch(table + int(r)*rowBytes + off)
//		}
//	}
//
//go:noescape
func prefetchRowsAsm(table unsafe.Pointer, rowBytes int, rows *int32, n int)

// preluFwdAsm (prelu_amd64.s) is preluFwdGeneric for c a positive
// multiple of 8, n ≥ 1, eight columns at a time:
//
//	for i := 0; i < n; i++ {
//		for j := 0; j < c; j++ {
//			v := x[i*c+j]
//			y[i*c+j] = max(v, 0) + alpha[j]*min(v, 0) // one FMA
//		}
//	}
//
//go:noescape
func preluFwdAsm(x, alpha, y *float32, n, c int)

// preluBwdAsm (prelu_amd64.s) is preluBwdGeneric, as preluFwdAsm:
//
//	for i := 0; i < n; i++ {
//		for j := 0; j < c; j++ {
//			v, d := x[i*c+j], dy[i*c+j]
//			galpha[j] += d * min(v, 0) // one FMA
//			switch {
//			case v > 0: dx[i*c+j] = d
//			case v < 0: dx[i*c+j] = d * alpha[j]
//			default: dx[i*c+j] = 0
//			}
//		}
//	}
//
//go:noescape
func preluBwdAsm(x, alpha, dy, dx, galpha *float32, n, c int)

// The column kernels (cols_amd64.s) are the loops of ColSums,
// ColSumSqDiff, ColDotSums, ColAffine and ColAffine2 for c a positive
// multiple of 8 and n ≥ 1, eight columns at a time, with FMA where a
// product meets a sum:
//
//	for i := 0; i < n; i++ {
//		for j := 0; j < c; j++ {
//			s[j] += x[i*c+j]                        // colSumsAsm
//			s[j] += (x[i*c+j] - mean[j])²           // colSumSqDiffAsm
//			s[j] += a[i*c+j] * b[i*c+j]             // colDotSumsAsm
//			y[i*c+j] = x[i*c+j]*a[j] + b[j]         // colAffineAsm
//			y[i*c+j] = x1[i*c+j]*a[j] + x2[i*c+j]*b[j] + k[j] // colAffine2Asm
//		}
//	}

//go:noescape
func colSumsAsm(x, s *float32, n, c int)

//go:noescape
func colSumSqDiffAsm(x, mean, s *float32, n, c int)

//go:noescape
func colDotSumsAsm(a, b, s *float32, n, c int)

//go:noescape
func colAffineAsm(x, a, b, y *float32, n, c int)

//go:noescape
func colAffine2Asm(x1, x2, a, b, k, y *float32, n, c int)

// expAsm (exp_amd64.s) is expGeneric over n values, n a positive multiple
// of 8, eight lanes at a time (c is expConsts):
//
//	for i := 0; i < n; i++ {
//		y[i] = expGeneric(x[i])
//	}
//
//go:noescape
func expAsm(x, y *float32, n int, c *[10]float32)

// f16ToF32Asm and f32ToF16Asm (f16_amd64.s) are F16ToF32's and F32ToF16's
// loops for n a positive multiple of 8, with VCVTPH2PS and VCVTPS2PH
// (round to nearest even), bit-exact with x448/float16:
//
//	for i := 0; i < n; i++ {
//		dst[i] = float16.Frombits(src[i]).Float32() // f16ToF32Asm
//		dst[i] = float16.Fromfloat32(src[i]).Bits() // f32ToF16Asm
//	}
//
//go:noescape
func f16ToF32Asm(dst *float32, src *uint16, n int)

//go:noescape
func f32ToF16Asm(dst *uint16, src *float32, n int)
