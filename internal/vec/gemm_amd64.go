package vec

import "golang.org/x/sys/cpu"

// useGemmAsm selects the AVX2/FMA GEMM micro-kernel; tests flip it to
// compare the twins.
var useGemmAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// useAVX512 selects the 12×16 AVX-512 GEMM kernel over the 6×16 AVX2 one
// (with useGemmAsm); tests flip it to compare the kernels.
var useAVX512 = cpu.X86.HasAVX512F

// kernelAsm is the assembly micro-kernel; see kernel for the contract
// (overwrite is 0 or 1).
//
//go:noescape
func kernelAsm(kb int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, overwrite int)

// kernel512Asm is the 12-row AVX-512 micro-kernel, same contract.
//
//go:noescape
func kernel512Asm(kb int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, overwrite int)

// preluFwdAsm and preluBwdAsm implement PReLUForward and PReLUBackward for
// c a positive multiple of 8.
//
//go:noescape
func preluFwdAsm(x, alpha, y *float32, n, c int)

//go:noescape
func preluBwdAsm(x, alpha, dy, dx, galpha *float32, n, c int)

// Column kernels for cols.go; c is a positive multiple of 8, n ≥ 1.

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

// expAsm writes exp of n (a multiple of 8) values; see Exp.
//
//go:noescape
func expAsm(x, y *float32, n int, c *[10]float32)

// SetAVX512 enables or disables the AVX-512 GEMM kernel (where the CPU has
// it) and returns the previous setting. It is for benchmarks and tests that
// compare kernels; call it only while no GEMM is running.
func SetAVX512(on bool) bool {
	prev := useAVX512
	useAVX512 = on && cpu.X86.HasAVX512F
	return prev
}
