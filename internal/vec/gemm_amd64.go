package vec

import "golang.org/x/sys/cpu"

// useGemmAsm selects the AVX2/FMA GEMM micro-kernel; tests flip it to
// compare the twins.
var useGemmAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernelAsm is the assembly micro-kernel; see kernel for the contract.
//
//go:noescape
func kernelAsm(kb int, a *float32, rs, cs int, b *float32, c *float32, ldc int)

// preluFwdAsm and preluBwdAsm implement PReLUForward and PReLUBackward for
// c a positive multiple of 8.
//
//go:noescape
func preluFwdAsm(x, alpha, y *float32, n, c int)

//go:noescape
func preluBwdAsm(x, alpha, dy, dx, galpha *float32, n, c int)
