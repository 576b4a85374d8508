package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpPoly(t *testing.T) {
	for x := float32(-87); x <= 0; x += 0.0137 {
		got, want := float64(ExpPoly(x)), math.Exp(float64(x))
		if math.Abs(got-want) > 3e-7*want {
			t.Fatalf("ExpPoly(%v) = %v, want %v (rel %g)", x, got, want, math.Abs(got-want)/want)
		}
	}
	if v := ExpPoly(float32(math.Inf(-1))); v < 0 || v > 2e-38 {
		t.Fatalf("ExpPoly(-Inf) = %v, want ~0", v)
	}
}

// TestSoftmaxTwins compares both softmax kernels with a float64 softmax,
// including -Inf padding and large logits.
func TestSoftmaxTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, asm := range []bool{false, true} {
		prev := UseKernels(Kernels{AVX2: asm})
		checkSoftmaxRows(t, r, 7, []int{8, 16, 56, 64}, fmt.Sprintf("asm=%v", asm))
		UseKernels(prev)
	}
}

func BenchmarkSoftmax56(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	x := randSlice(r, 48*56)
	for b.Loop() {
		SoftmaxRows(x, 48, 56, 56)
	}
	b.ReportMetric(float64(48*b.N)/b.Elapsed().Seconds()/1e6, "Mrows/s")
}

// checkSoftmaxRows runs SoftmaxRows with the current kernels on rows of
// random logits (scaled by 10, with -Inf padding and one large logit) for
// each width in colsList, each row padded by 4 columns that must stay as
// they were, and compares the weights with a float64 softmax.
func checkSoftmaxRows(t *testing.T, r *rand.Rand, rows int, colsList []int, what string) {
	t.Helper()
	for _, cols := range colsList {
		ld := cols + 4
		x := randSlice(r, rows*ld)
		for i := range x {
			x[i] *= 10
		}
		x[3] = float32(math.Inf(-1))
		x[ld+cols-1] = float32(math.Inf(-1))
		x[2*ld] = 80
		want := make([]float64, len(x))
		for i := 0; i < rows; i++ {
			m := math.Inf(-1)
			for j := 0; j < cols; j++ {
				m = math.Max(m, float64(x[i*ld+j]))
			}
			var s float64
			for j := 0; j < cols; j++ {
				want[i*ld+j] = math.Exp(float64(x[i*ld+j]) - m)
				s += want[i*ld+j]
			}
			for j := 0; j < cols; j++ {
				want[i*ld+j] /= s
			}
			for j := cols; j < ld; j++ {
				want[i*ld+j] = float64(x[i*ld+j])
			}
		}
		SoftmaxRows(x, rows, cols, ld)
		for i := range x {
			if d := math.Abs(float64(x[i]) - want[i]); d > 1e-6*math.Max(math.Abs(want[i]), 1e-3) {
				t.Fatalf("%s cols=%d: x[%d] = %v, want %v", what, cols, i, x[i], want[i])
			}
		}
	}
}
