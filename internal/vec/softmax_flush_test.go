package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftmaxZeroForNegligible is the regression test of the subnormal
// softmax weights: a logit more than 87.3 below its row's maximum (the
// −Inf padding of the engine's attention) gets weight exactly 0 from both
// twins. Before, it got ExpPoly's clamp, about 1.2e-38, which the 1/s
// scaling turned into a subnormal: each such value cost a microcode assist
// (the softmax ran 1.9–2.9× slower with 6 padding columns in 56 on this
// Xeon) and slowed every product that read it.
func TestSoftmaxZeroForNegligible(t *testing.T) {
	for _, k := range []Kernels{{}, {AVX2: true}, have} {
		prev := UseKernels(k)
		asm := k.AVX2
		for _, cols := range []int{56, 64} {
			const rows = 3
			x := make([]float32, rows*cols)
			for i := range x {
				x[i] = float32(i%7) - 3
				if i%cols >= cols-6 {
					x[i] = float32(math.Inf(-1))
				}
			}
			x[cols+3] = -200 // finite, but negligible
			SoftmaxRows(x, rows, cols, cols)
			for i, v := range x {
				negligible := i%cols >= cols-6 || i == cols+3
				if negligible && v != 0 {
					t.Fatalf("asm=%v: x[%d] = %g, want exactly 0", asm, i, v)
				}
				if !negligible && !(v >= 1e-4) {
					t.Fatalf("asm=%v: x[%d] = %g, want a normal weight", asm, i, v)
				}
			}
		}
		UseKernels(prev)
	}
}

// TestSoftmax512 compares the AVX-512 softmax (cols a multiple of 16)
// with a float64 softmax, including -Inf padding and large logits.
func TestSoftmax512(t *testing.T) {
	if !have.AVX512 {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(3, 5))
	withKernels(t, have, func() {
		checkSoftmaxRows(t, r, 9, []int{16, 48, 64, 128}, "avx512")
	})
}
