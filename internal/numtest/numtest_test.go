package numtest

import (
	"math"
	"testing"
)

// recorder counts Errorf calls instead of failing the test.
type recorder struct {
	testing.TB
	errors int
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.errors++ }

// TestGradCheck: the gradient of Σ w² passes, a gradient off by a factor
// of two fails at every element, and w is restored.
func TestGradCheck(t *testing.T) {
	w := []float32{0.5, -1, 2}
	loss := func() float64 {
		s := 0.0
		for _, v := range w {
			s += float64(v) * float64(v)
		}
		return s
	}
	tol := Tol{Step: 1e-3, Rel: 1e-2, Abs: 1e-4}
	idx := []int{0, 1, 2}
	r := &recorder{TB: t}
	if bad := GradCheck(r, "w", w, []float32{1, -2, 4}, idx, loss, tol); bad != 0 || r.errors != 0 {
		t.Fatalf("true gradient: %d bad, %d errors", bad, r.errors)
	}
	if bad := GradCheck(r, "w", w, []float32{2, -4, 8}, idx, loss, tol); bad != 3 || r.errors != 3 {
		t.Fatalf("doubled gradient: %d bad, %d errors, want 3", bad, r.errors)
	}
	if w[0] != 0.5 || w[1] != -1 || w[2] != 2 {
		t.Fatalf("w not restored: %v", w)
	}
}

// TestRelErr: the denominator is |ref| or 0.1·rms, whichever is larger,
// and NaN counts as infinitely wrong.
func TestRelErr(t *testing.T) {
	ref := []float64{10, 0} // rms √50 ≈ 7.07, floor 0.707
	if e := RelErr([]float32{10, 0}, ref); e != 0 {
		t.Fatalf("exact: %v", e)
	}
	if e := RelErr([]float64{11, 0}, ref); math.Abs(e-0.1) > 1e-12 {
		t.Fatalf("10%% off: %v, want 0.1", e)
	}
	if e, want := RelErr([]float64{10, 0.1}, ref), 0.1/(0.1*math.Sqrt(50)); math.Abs(e-want) > 1e-12 {
		t.Fatalf("near zero: %v, want %v", e, want)
	}
	if e := RelErr([]float32{float32(math.NaN()), 0}, ref); !math.IsInf(e, 1) {
		t.Fatalf("NaN: %v", e)
	}
}
