//go:build !amd64

package vec

var useGemmAsm = false

func kernelAsm(kb int, a *float32, rs, cs int, b *float32, c *float32, ldc int) {
	panic("vec: no assembly GEMM kernel on this architecture")
}

func preluFwdAsm(x, alpha, y *float32, n, c int) {
	panic("vec: no assembly PReLU on this architecture")
}

func preluBwdAsm(x, alpha, dy, dx, galpha *float32, n, c int) {
	panic("vec: no assembly PReLU on this architecture")
}
