package nn

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
	alpha := p.Alpha.W[:p.C]
	for i := 0; i < n; i++ {
		xr := x[i*p.C : i*p.C+p.C]
		yr := y[i*p.C : i*p.C+p.C]
		for j, v := range xr {
			if v <= 0 {
				v *= alpha[j]
			}
			yr[j] = v
		}
	}
}

// Backward adds dAlpha to g and writes dx (which may alias dy) for input x
// and upstream gradient dy.
func (p *PReLU) Backward(g Grads, x, dy []float32, n int, dx []float32) {
	alpha := p.Alpha.W[:p.C]
	ga := g.Of(p.Alpha)[:p.C]
	for i := 0; i < n; i++ {
		xr := x[i*p.C : i*p.C+p.C]
		dyr := dy[i*p.C : i*p.C+p.C]
		dxr := dx[i*p.C : i*p.C+p.C]
		for j, v := range xr {
			d := dyr[j]
			switch {
			case v < 0:
				ga[j] += d * v
				d *= alpha[j]
			case v == 0:
				d = 0 // TensorFlow's subgradient: relu'(0) = 0 on both sides
			}
			dxr[j] = d
		}
	}
}
