package nn

import "nann/internal/vec"

// PReLU is y = x for x > 0 and alpha_c·x otherwise, one alpha per channel
// (initialised to 0.25 by NewPReLU, as the reference does).
type PReLU struct {
	C     int
	Alpha *Param
}

// NewPReLU creates "<name>/alpha" with c channels set to init.
func NewPReLU(s *ParamSet, name string, c int, init float32) *PReLU {
	p := &PReLU{C: c, Alpha: s.New(name+"/alpha", true, c)}
	Fill(p.Alpha.W, init)
	return p
}

// Forward writes y for n rows of x (both n×C, contiguous). y may alias x
// only if the caller does not need x for Backward.
func (p *PReLU) Forward(x []float32, n int, y []float32) {
	vec.PReLUForward(x, p.Alpha.W[:p.C], y, n)
}

// Backward adds dAlpha to g and writes dx (which may alias dy) for input x
// and upstream gradient dy. At x = 0 it uses TensorFlow's subgradient 0.
func (p *PReLU) Backward(g Grads, x, dy []float32, n int, dx []float32) {
	vec.PReLUBackward(x, p.Alpha.W[:p.C], dy, dx, g.Of(p.Alpha)[:p.C], n)
}
