package train

import (
	"context"
	"math"

	"nann/internal/parallel"
	"nann/nn"
)

// AdamW is TensorFlow 1.x's AdamOptimizer wrapped by contrib's
// DecoupledWeightDecayExtension, element for element:
//
//	var −= wd·var                          (Decay parameters only; not scaled by lr)
//	t += 1
//	lr_t = lr·sqrt(1−β2^t)/(1−β1^t)
//	m = β1·m + (1−β1)·g
//	v = β2·v + (1−β2)·g²
//	var −= lr_t·m/(sqrt(v) + ε)
//
// The decay is applied first, as contrib's control dependency orders it.
// Updates are dense over every parameter (TF's Adam also updates every
// row of an embedding each step, even for sparse gradients).
type AdamW struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64

	Step int64       // completed updates
	M, V [][]float32 // first and second moments, aligned with the params
}

// NewAdamW returns an optimiser with zero moments for params.
func NewAdamW(cfg Config, params []*nn.Param) *AdamW {
	o := &AdamW{LR: cfg.LR, Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: cfg.AdamEps, WeightDecay: cfg.WeightDecay}
	for _, p := range params {
		o.M = append(o.M, make([]float32, len(p.W)))
		o.V = append(o.V, make([]float32, len(p.W)))
	}
	return o
}

// chunk is the number of elements one goroutine updates at a time.
const chunk = 1 << 15

// Apply performs one update of params. grads[r][p] is worker r's gradient
// of params[p]; the gradient used is their sum, taken in worker order
// (g0 + g1 + ...), so the result is deterministic. The work is spread over
// `threads` goroutines; the result does not depend on threads.
func (o *AdamW) Apply(params []*nn.Param, grads [][][]float32, threads int) {
	o.Step++
	t := float64(o.Step)
	lrT := float32(o.LR * math.Sqrt(1-math.Pow(o.Beta2, t)) / (1 - math.Pow(o.Beta1, t)))
	b1, b2, eps := float32(o.Beta1), float32(o.Beta2), float32(o.Eps)
	type job struct {
		p      int
		lo, hi int
	}
	var jobs []job
	for p := range params {
		n := len(params[p].W)
		for lo := 0; lo < n; lo += chunk {
			jobs = append(jobs, job{p, lo, min(lo+chunk, n)})
		}
	}
	parallel.ForEach(context.Background(), len(jobs), max(threads, 1), func() [][]float32 { return make([][]float32, len(grads)) },
		func(_ context.Context, gs [][]float32, i int) error {
			j := jobs[i]
			wd := float32(0)
			if params[j.p].Decay {
				wd = float32(o.WeightDecay)
			}
			for r := range grads {
				gs[r] = grads[r][j.p][j.lo:j.hi]
			}
			adamRange(params[j.p].W[j.lo:j.hi], gs, o.M[j.p][j.lo:j.hi], o.V[j.p][j.lo:j.hi], lrT, b1, b2, eps, wd)
			return nil
		})
}

func adamRange(w []float32, gs [][]float32, m, v []float32, lrT, b1, b2, eps, wd float32) {
	m, v = m[:len(w)], v[:len(w)]
	for i := range w {
		x := w[i]
		if wd != 0 {
			x -= wd * x
		}
		var gi float32
		for _, g := range gs {
			gi += g[i]
		}
		mi := b1*m[i] + (1-b1)*gi
		vi := b2*v[i] + (1-b2)*gi*gi
		m[i], v[i] = mi, vi
		w[i] = x - lrT*mi/(float32(math.Sqrt(float64(vi)))+eps)
	}
}
