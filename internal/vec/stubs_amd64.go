//go:build !purego

package vec

// The assembly kernels. Each .s file gives, beside every kernel, the
// reference Go loop it computes and its register use; the kernel's
// plain-Go twin (named here) is that loop and is tested against it. The
// Go callers check lengths and bounds, so the kernels trust their
// arguments.

import "unsafe"

// The tile micro-kernel family (tile_amd64.s); twin tileGo. a and b may be
// nil when k is 0, bias and alpha when their flag is clear.
//
//go:noescape
func tile6x16AVX2(k int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, flags int, bias, alpha *float32)

// tile6x8AVX2 reads A with cs = 1 and B with ldb = 8.
//
//go:noescape
func tile6x8AVX2(k int, a *float32, lda int, b *float32, c *float32, ldc int, flags int, bias, alpha *float32)

//go:noescape
func tile12x16AVX512(k int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, flags int, bias, alpha *float32)

// Distances (dist_amd64.s); twins dotGeneric, l2SquaredGeneric and
// l2SquaredBatchGeneric.

//go:noescape
func dotAVX2(a, b []float32) float32

//go:noescape
func l2SquaredAVX2(a, b []float32) float32

//go:noescape
func l2SquaredBatchAVX2(q, data []float32, ids []int32, out []float32)

// softmaxRowsAsm (softmax_amd64.s); twin softmaxRowsGeneric.
//
//go:noescape
func softmaxRowsAsm(x *float32, rows, cols, ld int)

// prefetchRowsAsm (prefetch_amd64.s); the twin does nothing.
//
//go:noescape
func prefetchRowsAsm(table unsafe.Pointer, rowBytes int, rows *int32, n int)

// PReLU (prelu_amd64.s); twins preluFwdGeneric and preluBwdGeneric.

//go:noescape
func preluFwdAsm(x, alpha, y *float32, n, c int)

//go:noescape
func preluBwdAsm(x, alpha, dy, dx, galpha *float32, n, c int)

// Column reductions and affine maps (cols_amd64.s); twins the loops of
// ColSums, ColSumSqDiff, ColDotSums, ColAffine and ColAffine2.

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

// expAsm (exp_amd64.s); twin expGeneric, c is expConsts.
//
//go:noescape
func expAsm(x, y *float32, n int, c *[10]float32)

// Half-precision conversions (f16_amd64.s); twins the loops of F16ToF32
// and F32ToF16 (x448/float16).

//go:noescape
func f16ToF32Asm(dst *float32, src *uint16, n int)

//go:noescape
func f32ToF16Asm(dst *uint16, src *float32, n int)
