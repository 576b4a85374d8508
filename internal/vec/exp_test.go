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

// TestExpKeepsNaN: a NaN input gives NaN in every lane position and in both
// twins, so a bad value upstream cannot come out of a softmax or a sigmoid
// as a plausible number (the assembly's clamps used to turn it into
// exp(88.38) or exp(-88.38)); ±Inf still clamp.
func TestExpKeepsNaN(t *testing.T) {
	nan := float32(math.NaN())
	for _, v := range variants() {
		for _, n := range []int{1, 8, 9, 16, 17} {
			for at := range n {
				x := make([]float32, n)
				x[at] = nan
				y := make([]float32, n)
				withKernels(t, v.k, func() { Exp(x, y) })
				for i, got := range y {
					if i == at && !math.IsNaN(float64(got)) {
						t.Fatalf("%s n=%d: exp(NaN) at %d = %v, want NaN", v.name, n, i, got)
					}
					if i != at && got != 1 {
						t.Fatalf("%s n=%d: exp(0) at %d = %v beside a NaN at %d", v.name, n, i, got, at)
					}
				}
			}
		}
		x := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), 0, 0, 0, 0, 0, 0}
		y := make([]float32, len(x))
		withKernels(t, v.k, func() { Exp(x, y) })
		if math.IsNaN(float64(y[0])) || math.IsInf(float64(y[0]), 0) || y[0] < 1e38 || y[1] > 1e-37 {
			t.Fatalf("%s: exp(+Inf), exp(-Inf) = %v, %v, want the clamped values", v.name, y[0], y[1])
		}
	}
}
