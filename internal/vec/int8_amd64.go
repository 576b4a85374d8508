//go:build !purego

package vec

// The int8 kernels (int8_amd64.s); twins tileI8Go and quantizeRowsGo. The
// Go callers in int8.go check lengths and bounds.

//go:noescape
func tile12x16I8Asm(k4 int, a *uint8, lda int, b *int8, c *float32, ldc int, flags int, comp *int32, rscale, cscale, bias, alpha *float32)

//go:noescape
func quantizeRowsAsm(dst *uint8, ldd int, scale *float32, x *float32, ldx, rows, cols int, signed bool)

//go:noescape
func tile12x16I16Asm(k2 int, a *int16, lda int, b *int16, c *float32, ldc int, flags int, comp *int32, rscale, cscale, bias, alpha *float32)

//go:noescape
func quantizeRows16Asm(dst *int16, ldd int, scale *float32, x *float32, ldx, rows, cols int)

// The peak loops (peak_amd64.s).

func peakFMA32(n int)
func peakBF16(n int)
func peakVNNI8(n int)
func peakVNNI16(n int)

//go:noescape
func tile12x32I8Asm(k4 int, a *uint8, lda int, b *int8, pstride int, c *float32, ldc int, flags int, comp *int32, rscale, cscale, bias, alpha *float32)

//go:noescape
func tile12x32I16Asm(k2 int, a *int16, lda int, b *int16, pstride int, c *float32, ldc int, flags int, comp *int32, rscale, cscale, bias, alpha *float32)

//go:noescape
func gatherI8RowsAsm(codes *uint8, hp int, scale *float32, u *float32, ldu, w int, table *uint8, rb int, tscale *float32, rows *int32, n int)

// softmaxRows512Asm (softmax512_amd64.s); twin softmaxRowsGeneric.
//
//go:noescape
func softmaxRows512Asm(x *float32, rows, cols, ld int)

//go:noescape
func softmaxCodeRowsAsm(x *float32, rows, cols, ld int, nv int, dst *uint8, ldd int, scale *float32)
