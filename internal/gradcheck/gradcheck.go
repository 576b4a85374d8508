// Package gradcheck compares analytic gradients with central finite
// differences of a scalar loss: the gradient checks of the nn layers and of
// the model's training step share it.
package gradcheck

import (
	"math"
	"testing"
)

// Tol is the step of the finite differences and the tolerance
// |fd−g| ≤ Rel·max(|fd|,|g|) + Abs they must meet.
type Tol struct {
	Step, Rel, Abs float64
}

// Check moves each w[i], i in idx, by ±tol.Step, evaluates loss at both
// points (restoring w[i] after), and reports with t.Errorf every element
// whose finite difference disagrees with grad[i]. It returns how many
// disagreed.
func Check(t testing.TB, name string, w, grad []float32, idx []int, loss func() float64, tol Tol) int {
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
