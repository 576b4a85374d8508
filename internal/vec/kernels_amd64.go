//go:build !purego

package vec

import "golang.org/x/sys/cpu"

// detect chooses the assembly kernels this CPU can run.
func detect() Kernels {
	avx2 := cpu.X86.HasAVX2 && cpu.X86.HasFMA
	return Kernels{
		AVX2:     avx2,
		AVX512:   avx2 && cpu.X86.HasAVX512F,
		F16C:     cpu.X86.HasAVX2 && cpu.X86.HasF16C,
		Prefetch: avx2,
		VNNI:     avx2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI,
	}
}
