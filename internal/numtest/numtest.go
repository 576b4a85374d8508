// Package numtest holds the numeric checks that tests of several packages
// share: the central finite-difference gradient check of the nn layers and
// the model's training step, and the relative error measure that scores
// are compared with.
package numtest

import (
	"math"
	"testing"
)

// Tol is the step of the finite differences and the tolerance
// |fd−g| ≤ Rel·max(|fd|,|g|) + Abs they must meet.
type Tol struct {
	Step, Rel, Abs float64
}

// GradCheck moves each w[i], i in idx, by ±tol.Step, evaluates loss at both
// points (restoring w[i] after), and reports with t.Errorf every element
// whose finite difference disagrees with grad[i]. It returns how many
// disagreed.
func GradCheck(t testing.TB, name string, w, grad []float32, idx []int, loss func() float64, tol Tol) int {
	t.Helper()
	h := float32(tol.Step)
	bad := 0
	for _, i := range idx {
		saved := w[i]
		w[i] = saved + h
		lp := loss()
		w[i] = saved - h
		lm := loss()
		w[i] = saved
		fd := (lp - lm) / (2 * tol.Step)
		g := float64(grad[i])
		if math.Abs(fd-g) > tol.Rel*math.Max(math.Abs(fd), math.Abs(g))+tol.Abs {
			bad++
			t.Errorf("%s[%d]: analytic %.6g, finite difference %.6g", name, i, g, fd)
		}
	}
	return bad
}

// RelErr is the ONNX import's error measure: |got−ref| / max(|ref|, 0.1·rms
// of ref), the worst over the elements (+Inf where got is NaN).
func RelErr[T float32 | float64](got []T, ref []float64) float64 {
	rms := 0.0
	for _, r := range ref {
		rms += r * r
	}
	rms = math.Sqrt(rms / float64(len(ref)))
	worst := 0.0
	for i := range ref {
		g := float64(got[i])
		d := math.Abs(g-ref[i]) / math.Max(math.Abs(ref[i]), 0.1*rms)
		if math.IsNaN(g) {
			d = math.Inf(1)
		}
		worst = math.Max(worst, d)
	}
	return worst
}
