//go:build !amd64

package vec

import "unsafe"

func tile6x16Asm(k int, a *float32, lda int, b *float32, c *float32, ldc int, flags int, bias, alpha *float32) {
	panic("vec: no assembly engine kernels on this architecture")
}

func tile6x8Asm(k int, a *float32, lda int, b *float32, c *float32, ldc int, flags int, bias, alpha *float32) {
	panic("vec: no assembly engine kernels on this architecture")
}

func softmaxRowsAsm(x *float32, rows, cols, ld int) {
	panic("vec: no assembly engine kernels on this architecture")
}

func prefetchRowsAsm(table unsafe.Pointer, rowBytes int, rows *int32, n int) {}

func tile12x16Asm(k int, a *float32, lda int, b *float32, c *float32, ldc int, flags int, bias, alpha *float32) {
	panic("vec: no AVX-512 engine kernel on this architecture")
}
