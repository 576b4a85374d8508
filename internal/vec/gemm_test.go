package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// naiveGemm is the float64 reference for both twins.
func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			out[i*n+j] = float64(alpha)*s + float64(beta)*float64(c[i*ldc+j])
		}
	}
	return out
}

func TestGemmTwinsAgree(t *testing.T) {
	if !have.AVX2 {
		t.Log("no AVX2/FMA: only the plain-Go kernel is tested")
	}
	r := rand.New(rand.NewPCG(3, 4))
	sizes := []int{1, 2, 5, 6, 7, 11, 12, 13, 15, 16, 17, 25, 31, 33, 50, 64}
	type shape struct{ m, n, k int }
	var shapes []shape
	for _, m := range sizes {
		for _, n := range sizes {
			shapes = append(shapes, shape{m, n, sizes[r.IntN(len(sizes))]})
		}
	}
	// Depths past one packed block, widths past one column block.
	shapes = append(shapes, shape{13, 19, 300}, shape{7, 530, 9}, shape{40, 33, 513}, shape{3, 4, 0})
	var w GemmWork
	for _, s := range shapes {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			ta, tb := tr[0], tr[1]
			pad := r.IntN(3)
			ar, ac := s.m, s.k
			if ta {
				ar, ac = s.k, s.m
			}
			br, bc := s.k, s.n
			if tb {
				br, bc = s.n, s.k
			}
			lda, ldb, ldc := ac+pad, bc+pad, s.n+pad
			a := randVec(r, max(ar*lda, 1))
			if r.IntN(2) == 0 {
				// Trailing NaNs: a short sliver read in place must not let
				// the rows past m leak into C.
				for range 12 * (lda + 1) {
					a = append(a, float32(math.NaN()))
				}
			}
			b := randVec(r, max(br*ldb, 1))
			c0 := randVec(r, s.m*ldc)
			alpha := []float32{1, 0.5, -2}[r.IntN(3)]
			beta := []float32{0, 1, 0.25}[r.IntN(3)]
			want := naiveGemm(ta, tb, s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c0, ldc)
			for _, v := range variants() {
				asm := v.name
				c := append([]float32(nil), c0...)
				withKernels(t, v.k, func() {
					Gemm(&w, ta, tb, s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c, ldc)
				})
				for i := 0; i < s.m; i++ {
					for j := 0; j < ldc; j++ {
						got := float64(c[i*ldc+j])
						if j >= s.n {
							if c[i*ldc+j] != c0[i*ldc+j] {
								t.Fatalf("kernel=%v %v trans=%v: padding C[%d,%d] changed", asm, s, tr, i, j)
							}
							continue
						}
						tol := 1e-5 * (math.Sqrt(float64(s.k))*4 + 1) * 4
						if d := math.Abs(got - want[i*s.n+j]); d > tol {
							t.Fatalf("kernel=%v %+v trans=%v alpha=%v beta=%v: C[%d,%d]=%v want %v",
								asm, s, tr, alpha, beta, i, j, got, want[i*s.n+j])
						}
					}
				}
			}
		}
	}
}

// BenchmarkGemm reports GFLOP/s (2·m·n·k per call) for the model's typical
// shapes, assembly and plain-Go twin side by side.
func BenchmarkGemm(b *testing.B) {
	shapes := []struct {
		name    string
		ta, tb  bool
		m, n, k int
	}{
		{"fwd_4096x256x128", false, false, 4096, 256, 128},
		{"fwd_4096x128x64", false, false, 4096, 128, 64},
		{"dX_4096x128x256_NT", false, true, 4096, 128, 256},
		{"dW_128x256x4096_TN", true, false, 128, 256, 4096},
	}
	for _, s := range shapes {
		for _, v := range variants() {
			name := fmt.Sprintf("%s/kernel=%s", s.name, v.name)
			b.Run(name, func(b *testing.B) {
				a, bb, c, lda, ldb := gemmOperands(s.ta, s.tb, s.m, s.n, s.k)
				var w GemmWork
				withKernels(b, v.k, func() {
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						Gemm(&w, s.ta, s.tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
					}
				})
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// gemmOperands returns random A (m×k, or k×m if ta) and B (k×n, or n×k if
// tb), a zero m×n C and the leading dimensions of A and B.
func gemmOperands(ta, tb bool, m, n, k int) (a, b, c []float32, lda, ldb int) {
	r := rand.New(rand.NewPCG(1, 1))
	a, b, c = randVec(r, m*k), randVec(r, k*n), make([]float32, m*n)
	lda, ldb = k, n
	if ta {
		lda = m
	}
	if tb {
		ldb = k
	}
	return a, b, c, lda, ldb
}

// BenchmarkGemmInterleaved runs the kernels one after the other inside each
// iteration on the model's typical shapes, so that the shared machine's
// load affects them alike, and reports each kernel's GFLOP/s and the
// assembly kernels' speed-ups over the plain-Go twin.
func BenchmarkGemmInterleaved(b *testing.B) {
	for _, s := range []struct {
		name    string
		ta, tb  bool
		m, n, k int
	}{
		{"fwd_2048x128x128", false, false, 2048, 128, 128},
		{"dW_128x128x2048_TN", true, false, 128, 128, 2048},
	} {
		b.Run(s.name, func(b *testing.B) {
			a, bb, c, lda, ldb := gemmOperands(s.ta, s.tb, s.m, s.n, s.k)
			var w GemmWork
			vs := variants()
			times := make([]time.Duration, len(vs))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j, v := range vs {
					t := time.Now()
					withKernels(b, v.k, func() {
						Gemm(&w, s.ta, s.tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
					})
					times[j] += time.Since(t)
				}
			}
			flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
			for j, v := range vs {
				b.ReportMetric(flops/times[j].Seconds()/1e9, v.name+"_GFLOP/s")
				if j > 0 {
					b.ReportMetric(times[0].Seconds()/times[j].Seconds(), v.name+"/go")
				}
			}
		})
	}
}
