//go:build !amd64

package vec

var useGemmAsm = false

var useAVX512 = false

func kernelAsm(kb int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, overwrite int) {
	panic("vec: no assembly GEMM kernel on this architecture")
}

func preluFwdAsm(x, alpha, y *float32, n, c int) {
	panic("vec: no assembly PReLU on this architecture")
}

func preluBwdAsm(x, alpha, dy, dx, galpha *float32, n, c int) {
	panic("vec: no assembly PReLU on this architecture")
}

func colSumsAsm(x, s *float32, n, c int)                  { panic("vec: no assembly") }
func colSumSqDiffAsm(x, mean, s *float32, n, c int)       { panic("vec: no assembly") }
func colDotSumsAsm(a, b, s *float32, n, c int)            { panic("vec: no assembly") }
func colAffineAsm(x, a, b, y *float32, n, c int)          { panic("vec: no assembly") }
func colAffine2Asm(x1, x2, a, b, k, y *float32, n, c int) { panic("vec: no assembly") }

func expAsm(x, y *float32, n int, c *[10]float32) { panic("vec: no assembly") }

func kernel512Asm(kb int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, overwrite int) {
	panic("vec: no assembly GEMM kernel on this architecture")
}

// SetAVX512 has no effect on this architecture; it returns false.
func SetAVX512(on bool) bool { return false }
