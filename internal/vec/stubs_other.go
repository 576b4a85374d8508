//go:build !amd64 || purego

package vec

// Without assembly (another architecture, or the purego build tag) detect
// selects no kernel family, so these are never called; they exist so that
// the package and its tests compile.

import "unsafe"

func noAsm() { panic("vec: assembly kernel called in a build without assembly") }

func tile6x16AVX2(k int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, flags int, bias, alpha *float32) {
	noAsm()
}

func tile6x8AVX2(k int, a *float32, lda int, b *float32, c *float32, ldc int, flags int, bias, alpha *float32) {
	noAsm()
}

func tile12x16AVX512(k int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, flags int, bias, alpha *float32) {
	noAsm()
}

func dotAVX2(a, b []float32) float32                                   { noAsm(); return 0 }
func l2SquaredAVX2(a, b []float32) float32                             { noAsm(); return 0 }
func l2SquaredBatchAVX2(q, data []float32, ids []int32, out []float32) { noAsm() }
func softmaxRowsAsm(x *float32, rows, cols, ld int)                    { noAsm() }
func prefetchRowsAsm(table unsafe.Pointer, rowBytes int, rows *int32, n int) {
	noAsm()
}
func preluFwdAsm(x, alpha, y *float32, n, c int)              { noAsm() }
func preluBwdAsm(x, alpha, dy, dx, galpha *float32, n, c int) { noAsm() }
func colSumsAsm(x, s *float32, n, c int)                      { noAsm() }
func colSumSqDiffAsm(x, mean, s *float32, n, c int)           { noAsm() }
func colDotSumsAsm(a, b, s *float32, n, c int)                { noAsm() }
func colAffineAsm(x, a, b, y *float32, n, c int)              { noAsm() }
func colAffine2Asm(x1, x2, a, b, k, y *float32, n, c int)     { noAsm() }
func expAsm(x, y *float32, n int, c *[10]float32)             { noAsm() }
func f16ToF32Asm(dst *float32, src *uint16, n int)            { noAsm() }
func f32ToF16Asm(dst *uint16, src *float32, n int)            { noAsm() }
