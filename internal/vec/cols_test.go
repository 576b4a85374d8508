package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestColKernelsTwinsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, c := range []int{8, 16, 64, 128, 5, 12} {
		for _, n := range []int{1, 3, 17} {
			x, x2 := randVec(r, n*c), randVec(r, n*c)
			a, b, k := randVec(r, c), randVec(r, c), randVec(r, c)
			type res struct{ sums, sq, dots, aff, aff2 []float32 }
			var got [2]res
			for t2, asm := range []bool{false, true} {
				var q res
				q.sums, q.sq, q.dots = append([]float32(nil), a...), append([]float32(nil), a...), append([]float32(nil), a...)
				q.aff, q.aff2 = make([]float32, n*c), append([]float32(nil), x...)
				withKernels(t, Kernels{AVX2: asm}, func() {
					ColSums(x, n, q.sums)
					ColSumSqDiff(x, b, n, q.sq)
					ColDotSums(x, x2, n, q.dots)
					ColAffine(x, a, b, q.aff, n)
					ColAffine2(q.aff2, x2, a, b, k, q.aff2, n) // in place over x1
				})
				got[t2] = q
			}
			for j := 0; j < c; j++ {
				ws, wq, wd := float64(a[j]), float64(a[j]), float64(a[j])
				for i := 0; i < n; i++ {
					v := float64(x[i*c+j])
					ws += v
					d := v - float64(b[j])
					wq += d * d
					wd += v * float64(x2[i*c+j])
				}
				for tw := range got {
					for _, cmp := range []struct {
						name string
						g    float32
						w    float64
					}{{"sums", got[tw].sums[j], ws}, {"sq", got[tw].sq[j], wq}, {"dots", got[tw].dots[j], wd}} {
						if math.Abs(float64(cmp.g)-cmp.w) > 1e-5*(1+math.Abs(cmp.w))*float64(n) {
							t.Fatalf("c=%d n=%d twin %d %s[%d]=%v want %v", c, n, tw, cmp.name, j, cmp.g, cmp.w)
						}
					}
				}
			}
			for i := 0; i < n*c; i++ {
				j := i % c
				wa := float64(x[i])*float64(a[j]) + float64(b[j])
				wa2 := float64(x[i])*float64(a[j]) + float64(x2[i])*float64(b[j]) + float64(k[j])
				for tw := range got {
					if math.Abs(float64(got[tw].aff[i])-wa) > 1e-5*(1+math.Abs(wa)) ||
						math.Abs(float64(got[tw].aff2[i])-wa2) > 1e-5*(1+math.Abs(wa2)) {
						t.Fatalf("c=%d n=%d twin %d affine[%d]: %v %v want %v %v", c, n, tw, i,
							got[tw].aff[i], got[tw].aff2[i], wa, wa2)
					}
				}
			}
		}
	}
}
