package vec

import (
	"math"
	"testing"
)

// geluRef is x·Φ(x) in float64.
func geluRef(x float64) float64 { return 0.5 * x * math.Erfc(-x/math.Sqrt2) }

// The piecewise polynomial against math.Erfc over a dense grid of [−12,
// 12] (every interval, both signs, the clamp): at most 1e-7 absolute plus
// the rounding of max(x, 0) − g (half an ulp of x).
func TestGELUTable(t *testing.T) {
	worst, at := 0.0, 0.0
	for i := -12 * 8192; i <= 12*8192; i++ {
		x := float32(i) / 8192
		got, want := float64(GELUTable32(x)), geluRef(float64(x))
		e := math.Abs(got - want)
		if e > 1e-7+6e-8*math.Abs(float64(x)) { // 6e-8 ≈ 2⁻²⁴, half an ulp
			t.Fatalf("GELUTable32(%v) = %v, want %v (error %.3g)", x, got, want, e)
		}
		if e > worst {
			worst, at = e, float64(x)
		}
	}
	t.Logf("max absolute error %.3g at %v", worst, at)
	if v := GELUTable32(float32(math.NaN())); !math.IsNaN(float64(v)) {
		t.Errorf("GELUTable32(NaN) = %v", v)
	}
	if v := GELUTable32(float32(math.Inf(1))); !math.IsInf(float64(v), 1) {
		t.Errorf("GELUTable32(+Inf) = %v", v)
	}
	if v := GELUTable32(float32(math.Inf(-1))); math.Abs(float64(v)) > 1e-14 {
		t.Errorf("GELUTable32(−Inf) = %v", v)
	}
}

// geluTab is what its recipe gives: for each interval [i/2, (i+1)/2) of
// [0, 8), the degree-5 polynomial in u ∈ [0, 1) through g at the six
// Chebyshev nodes, solved in float64 and rounded to float32.
func TestGELUTableFit(t *testing.T) {
	const n = geluDeg + 1
	for i := 0; i < geluIntervals; i++ {
		var a [n][n]float64
		var b [n]float64
		for k := 0; k < n; k++ {
			u := 0.5 - 0.5*math.Cos(math.Pi*(float64(k)+0.5)/n)
			for j := 0; j < n; j++ {
				a[k][j] = math.Pow(u, float64(j))
			}
			x := (float64(i) + u) / 2
			b[k] = x / 2 * math.Erfc(x/math.Sqrt2)
		}
		// Gaussian elimination with partial pivoting.
		for c := 0; c < n; c++ {
			p := c
			for r := c + 1; r < n; r++ {
				if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
					p = r
				}
			}
			a[c], a[p], b[c], b[p] = a[p], a[c], b[p], b[c]
			for r := c + 1; r < n; r++ {
				f := a[r][c] / a[c][c]
				for k := c; k < n; k++ {
					a[r][k] -= f * a[c][k]
				}
				b[r] -= f * b[c]
			}
		}
		var x [n]float64
		for c := n - 1; c >= 0; c-- {
			s := b[c]
			for k := c + 1; k < n; k++ {
				s -= a[c][k] * x[k]
			}
			x[c] = s / a[c][c]
		}
		for j := 0; j < n; j++ {
			if got, want := geluTab[j][i], float32(x[j]); got != want && math.Abs(float64(got-want)) > 1e-6*math.Abs(float64(want)) {
				t.Errorf("interval %d, u^%d: table %v, fit %v", i, j, got, want)
			}
		}
	}
}
