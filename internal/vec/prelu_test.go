package vec

import (
	"math/rand/v2"
	"testing"
)

func TestPReLUTwinsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, c := range []int{8, 16, 24, 64, 128, 3, 13} {
		for _, n := range []int{1, 2, 7, 33} {
			x := randVec(r, n*c)
			x[0], x[len(x)-1] = 0, 0 // the kink itself
			alpha := randVec(r, c)
			dy := randVec(r, n*c)
			var ys, dxs, gas [2][]float32
			for k, asm := range []bool{false, true} {
				y := make([]float32, n*c)
				dx := make([]float32, n*c)
				ga := append([]float32(nil), alpha...) // non-zero start: accumulation
				withKernels(t, Kernels{AVX2: asm}, func() {
					PReLUForward(x, alpha, y, n)
					PReLUBackward(x, alpha, dy, dx, ga, n)
				})
				ys[k], dxs[k], gas[k] = y, dx, ga
			}
			for i := range x {
				want := x[i]
				if x[i] < 0 {
					want = alpha[i%c] * x[i]
				}
				if ys[0][i] != want || ys[1][i] != want {
					t.Fatalf("c=%d n=%d forward[%d]: %v %v want %v", c, n, i, ys[0][i], ys[1][i], want)
				}
				wd := dy[i]
				switch {
				case x[i] < 0:
					wd = alpha[i%c] * dy[i]
				case x[i] == 0:
					wd = 0
				}
				if dxs[0][i] != wd || dxs[1][i] != wd {
					t.Fatalf("c=%d n=%d dx[%d]: %v %v want %v", c, n, i, dxs[0][i], dxs[1][i], wd)
				}
			}
			for j := 0; j < c; j++ {
				want := float64(alpha[j])
				for i := 0; i < n; i++ {
					want += float64(dy[i*c+j]) * float64(min(x[i*c+j], 0))
				}
				for k := range gas {
					if d := float64(gas[k][j]) - want; d > 1e-5 || d < -1e-5 {
						t.Fatalf("c=%d n=%d galpha[%d] twin %d: %v want %v", c, n, j, k, gas[k][j], want)
					}
				}
			}
		}
	}
}
