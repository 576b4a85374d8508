package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpTwinsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{0, 1, 7, 8, 9, 50, 64, 1000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.Float64()*180 - 90)
			if i%3 == 0 {
				x[i] = float32(r.Float64()*20 - 20) // the softmax range
			}
		}
		if n > 2 {
			x[0], x[1] = 0, -200
		}
		for _, asm := range []bool{false, true} {
			y := make([]float32, n)
			withKernels(t, Kernels{AVX2: asm}, func() { Exp(x, y) })
			for i, v := range x {
				want := math.Exp(float64(v))
				got := float64(y[i])
				if want < 1e-37 { // subnormal territory: only closeness to 0
					if got > 1e-36 {
						t.Fatalf("asm=%v exp(%v)=%v want ≈0", asm, v, got)
					}
					continue
				}
				if v > 88.3 {
					continue // clamped
				}
				if math.Abs(got-want) > 4e-7*want {
					t.Fatalf("asm=%v n=%d exp(%v)=%v want %v (rel %v)", asm, n, v, got, want, math.Abs(got-want)/want)
				}
			}
		}
	}
}
