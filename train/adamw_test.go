package train

import (
	"math"
	"testing"

	"nann/nn"
)

// tfAdamW is TF 1.x AdamW written out in float64 for one scalar.
type tfAdamW struct{ m, v, w float64 }

func (s *tfAdamW) step(g float64, t int, lr, b1, b2, eps, wd float64) {
	s.w -= wd * s.w
	lrT := lr * math.Sqrt(1-math.Pow(b2, float64(t))) / (1 - math.Pow(b1, float64(t)))
	s.m = b1*s.m + (1-b1)*g
	s.v = b2*s.v + (1-b2)*g*g
	s.w -= lrT * s.m / (math.Sqrt(s.v) + eps)
}

func TestAdamWMatchesTF(t *testing.T) {
	cfg := Default()
	cfg.WeightDecay = 0.01 // large enough to see
	params := []*nn.Param{
		{Name: "a", Shape: []int{3}, W: []float32{0.5, -1, 2}, Decay: true},
		{Name: "b", Shape: []int{2}, W: []float32{0.3, -0.7}, Decay: false},
	}
	ref := [][]tfAdamW{{{w: 0.5}, {w: -1}, {w: 2}}, {{w: 0.3}, {w: -0.7}}}
	o := NewAdamW(cfg, params)
	for step := 1; step <= 20; step++ {
		// two workers' gradients, summed by Apply
		g0 := [][]float32{{0.1, -0.2, float32(step) * 0.01}, {1, -3}}
		g1 := [][]float32{{0.05, 0.1, -0.02}, {0.5, 0}}
		o.Apply(params, [][][]float32{g0, g1}, 2)
		for p := range params {
			wd := 0.0
			if params[p].Decay {
				wd = cfg.WeightDecay
			}
			for i := range params[p].W {
				ref[p][i].step(float64(g0[p][i]+g1[p][i]), step, cfg.LR, cfg.Beta1, cfg.Beta2, cfg.AdamEps, wd)
				if d := math.Abs(float64(params[p].W[i]) - ref[p][i].w); d > 1e-5 {
					t.Fatalf("step %d param %s[%d] = %v, TF formula gives %v", step, params[p].Name, i, params[p].W[i], ref[p][i].w)
				}
			}
		}
	}
	// Without decay and with zero gradients, parameters stay put.
	p := []*nn.Param{{Name: "c", Shape: []int{1}, W: []float32{1}, Decay: false}}
	o = NewAdamW(cfg, p)
	o.Apply(p, [][][]float32{{{0}}}, 1)
	if p[0].W[0] != 1 {
		t.Errorf("zero gradient moved a non-decayed param to %v", p[0].W[0])
	}
}

func TestAdamWThreadsDoNotMatter(t *testing.T) {
	mk := func() []*nn.Param {
		w := make([]float32, 3*chunk+17)
		for i := range w {
			w[i] = float32(math.Sin(float64(i)))
		}
		return []*nn.Param{{Name: "x", Shape: []int{len(w)}, W: w, Decay: true}}
	}
	g := make([]float32, 3*chunk+17)
	for i := range g {
		g[i] = float32(math.Cos(float64(i) * 0.3))
	}
	a, b := mk(), mk()
	oa, ob := NewAdamW(Default(), a), NewAdamW(Default(), b)
	for range 3 {
		oa.Apply(a, [][][]float32{{g}}, 1)
		ob.Apply(b, [][][]float32{{g}}, 7)
	}
	for i := range a[0].W {
		if a[0].W[i] != b[0].W[i] {
			t.Fatalf("element %d: %v with 1 thread, %v with 7", i, a[0].W[i], b[0].W[i])
		}
	}
}
