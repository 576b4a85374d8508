//go:build !amd64

package vec

const useGemmAsm = false

func kernelAsm(kb int, a *float32, rs, cs int, b *float32, c *float32, ldc int) {
	panic("vec: no assembly GEMM kernel on this architecture")
}
