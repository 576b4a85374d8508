//go:build !amd64

package vec

func f16ToF32Asm(dst *float32, src *uint16, n int) {
	panic("vec: no F16C kernels on this architecture")
}

func f32ToF16Asm(dst *uint16, src *float32, n int) {
	panic("vec: no F16C kernels on this architecture")
}
