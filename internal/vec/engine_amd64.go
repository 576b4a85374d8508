package vec

import "unsafe"

//go:noescape
func tile6x16Asm(k int, a *float32, lda int, b *float32, c *float32, ldc int, flags int, bias, alpha *float32)

//go:noescape
func tile6x8Asm(k int, a *float32, lda int, b *float32, c *float32, ldc int, flags int, bias, alpha *float32)

//go:noescape
func softmaxRowsAsm(x *float32, rows, cols, ld int)

//go:noescape
func prefetchRowsAsm(table unsafe.Pointer, rowBytes int, rows *int32, n int)

//go:noescape
func tile12x16Asm(k int, a *float32, lda int, b *float32, c *float32, ldc int, flags int, bias, alpha *float32)
