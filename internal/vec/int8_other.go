//go:build !amd64 || purego

package vec

// Without assembly detect never selects VNNI, so these are never called.

func tile12x16I8Asm(k4 int, a *uint8, lda int, b *int8, c *float32, ldc int, flags int, comp *int32, rscale, cscale, bias, alpha *float32) {
	noAsm()
}

func quantizeRowsAsm(dst *uint8, ldd int, scale *float32, x *float32, ldx, rows, cols int, signed bool) {
	noAsm()
}

func tile12x16I16Asm(k2 int, a *int16, lda int, b *int16, c *float32, ldc int, flags int, comp *int32, rscale, cscale, bias, alpha *float32) {
	noAsm()
}

func quantizeRows16Asm(dst *int16, ldd int, scale *float32, x *float32, ldx, rows, cols int) {
	noAsm()
}

func peakFMA32(n int)  { noAsm() }
func peakBF16(n int)   { noAsm() }
func peakVNNI8(n int)  { noAsm() }
func peakVNNI16(n int) { noAsm() }

func tile12x32I8Asm(k4 int, a *uint8, lda int, b *int8, pstride int, c *float32, ldc int, flags int, comp *int32, rscale, cscale, bias, alpha *float32) {
	noAsm()
}

func tile12x32I16Asm(k2 int, a *int16, lda int, b *int16, pstride int, c *float32, ldc int, flags int, comp *int32, rscale, cscale, bias, alpha *float32) {
	noAsm()
}

func gatherI8RowsAsm(codes *uint8, hp int, scale *float32, u *float32, ldu, w int, table *uint8, rb int, tscale *float32, rows *int32, n int) {
	noAsm()
}

func softmaxRows512Asm(x *float32, rows, cols, ld int) { noAsm() }

func softmaxCodeRowsAsm(x *float32, rows, cols, ld int, nv int, dst *uint8, ldd int, scale *float32) {
	noAsm()
}
