package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// exact64 computes in float64 as the reference for both twins.
func exact64(a, b []float32, l2 bool) float64 {
	s := 0.0
	for i := range a {
		if l2 {
			d := float64(a[i]) - float64(b[i])
			s += d * d
		} else {
			s += float64(a[i]) * float64(b[i])
		}
	}
	return s
}

func close32(got float32, want, scale float64) bool {
	return math.Abs(float64(got)-want) <= 1e-5*(scale+1)
}

func TestDistTwinsAgree(t *testing.T) {
	if !have.AVX2 {
		t.Log("no AVX2/FMA on this machine: only the generic kernels are tested")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 67; n++ {
		for rep := 0; rep < 5; rep++ {
			// Offset the start so the assembly sees unaligned slices.
			off := rep % 3
			a := randVec(r, n+off)[off:]
			b := randVec(r, n+off)[off:]
			scale := exact64(a, a, false) + exact64(b, b, false)
			wantD, wantL := exact64(a, b, false), exact64(a, b, true)
			for _, k := range []struct {
				name string
				f    func(a, b []float32) float32
				want float64
			}{
				{"dotGeneric", dotGeneric, wantD},
				{"l2SquaredGeneric", l2SquaredGeneric, wantL},
				{"dotAVX2", dotAVX2, wantD},
				{"l2SquaredAVX2", l2SquaredAVX2, wantL},
				{"Dot", Dot, wantD},
				{"L2Squared", L2Squared, wantL},
			} {
				if (k.name == "dotAVX2" || k.name == "l2SquaredAVX2") && !have.AVX2 {
					continue
				}
				if got := k.f(a, b); !close32(got, k.want, scale) {
					t.Fatalf("%s len %d: got %v want %v", k.name, n, got, k.want)
				}
			}
		}
	}
}

func TestDistExactSmall(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	b := []float32{9, 8, 7, 6, 5, 4, 3, 2, 1}
	if got := Dot(a, b); got != 165 {
		t.Fatalf("Dot = %v, want 165", got)
	}
	if got := L2Squared(a, b); got != 240 {
		t.Fatalf("L2Squared = %v, want 240", got)
	}
	if got := L2Squared(nil, nil); got != 0 {
		t.Fatalf("L2Squared(nil) = %v", got)
	}
}

func TestLengthMismatchPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic on length mismatch")
		}
	}()
	L2Squared(make([]float32, 8), make([]float32, 9))
}

func TestL2SquaredBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for d := 1; d <= 67; d++ {
		const n = 40
		data := randVec(r, d*n)
		q := randVec(r, d)
		for _, ids := range [][]int32{nil, {0}, {39, 0}, {0, 39, 7, 7, 23}, {5, 6, 7, 8, 9, 10, 11}} {
			out := make([]float32, len(ids))
			got := make([]float32, len(ids))
			L2SquaredBatch(q, data, ids, out)
			if have.AVX2 {
				l2SquaredBatchAVX2(q, data, ids, got)
			}
			for i, id := range ids {
				row := data[int(id)*d : int(id)*d+d]
				want := exact64(q, row, true)
				if !close32(out[i], want, want) || (have.AVX2 && !close32(got[i], want, want)) {
					t.Fatalf("d %d id %d: %v / %v, want %v", d, id, out[i], got[i], want)
				}
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("no panic on out-of-range id")
		}
	}()
	L2SquaredBatch(make([]float32, 8), make([]float32, 16), []int32{2}, make([]float32, 1))
}

func BenchmarkL2SquaredBatch(b *testing.B) {
	const d, n = 64, 200000
	r := rand.New(rand.NewPCG(5, 6))
	data := randVec(r, d*n)
	q := randVec(r, d)
	ids := make([]int32, 64)
	out := make([]float32, 64)
	b.Run("batch", func(b *testing.B) {
		for b.Loop() {
			for i := range ids {
				ids[i] = int32(r.IntN(n))
			}
			L2SquaredBatch(q, data, ids, out)
		}
	})
	b.Run("loop", func(b *testing.B) {
		for b.Loop() {
			for i := range ids {
				ids[i] = int32(r.IntN(n))
			}
			for i, id := range ids {
				out[i] = L2Squared(q, data[int(id)*d:int(id)*d+d])
			}
		}
	})
}

// benchTwins times generic and (where this CPU has AVX2) asm over random
// pairs of vectors of 32, 64 and 128 dimensions.
func benchTwins(b *testing.B, generic, asm func(x, y []float32) float32) {
	for _, d := range []int{32, 64, 128} {
		r := rand.New(rand.NewPCG(5, 6))
		x, y := randVec(r, d), randVec(r, d)
		b.Run(fmt.Sprintf("generic/d%d", d), func(b *testing.B) {
			for b.Loop() {
				generic(x, y)
			}
		})
		if have.AVX2 {
			b.Run(fmt.Sprintf("avx2/d%d", d), func(b *testing.B) {
				for b.Loop() {
					asm(x, y)
				}
			})
		}
	}
}

func BenchmarkL2Squared(b *testing.B) { benchTwins(b, l2SquaredGeneric, l2SquaredAVX2) }

func BenchmarkDot(b *testing.B) { benchTwins(b, dotGeneric, dotAVX2) }
