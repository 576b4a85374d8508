package vec

// This file: conversion between IEEE half precision (held as uint16 bit
// patterns) and float32, with F16C assembly on amd64 and a plain-Go twin
// (github.com/x448/float16). The engine stores its per-item tables in half
// precision and widens rows as it gathers them.

import "github.com/x448/float16"

// F16ToF32 widens len(src) half-precision values into dst. It panics if
// dst is shorter than src.
func F16ToF32(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	n := len(src) &^ 7
	if use.F16C && n > 0 {
		f16ToF32Asm(&dst[0], &src[0], n)
	} else {
		n = 0
	}
	for i := n; i < len(src); i++ {
		dst[i] = float16.Frombits(src[i]).Float32()
	}
}

// F32ToF16 rounds len(src) float32 values to half precision (nearest, ties
// to even; overflow gives ±Inf) into dst. It panics if dst is shorter.
func F32ToF16(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	n := len(src) &^ 7
	if use.F16C && n > 0 {
		f32ToF16Asm(&dst[0], &src[0], n)
	} else {
		n = 0
	}
	for i := n; i < len(src); i++ {
		dst[i] = float16.Fromfloat32(src[i]).Bits()
	}
}
