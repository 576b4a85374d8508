package vec

// f16ToF32Asm widens n (a positive multiple of 8) values.
//
//go:noescape
func f16ToF32Asm(dst *float32, src *uint16, n int)

// f32ToF16Asm narrows n (a positive multiple of 8) values.
//
//go:noescape
func f32ToF16Asm(dst *uint16, src *float32, n int)
