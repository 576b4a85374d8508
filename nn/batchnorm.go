package nn

import (
	"math"

	"nann/internal/vec"
)

// BatchNorm normalises each channel: with batch statistics in training
// (biased variance, as the normalisation itself uses), with the moving
// averages in inference. y = Gamma·(x−mean)/sqrt(var+Eps) + Beta.
type BatchNorm struct {
	C                     int
	Gamma, Beta           *Param // trainable
	MovingMean, MovingVar *Param // state
	Momentum, Eps         float32
}

// NewBatchNorm creates "<name>/gamma" (1) and "<name>/beta" (0) in params and
// "<name>/moving_mean" (0) and "<name>/moving_variance" (1) in state.
func NewBatchNorm(params, state *ParamSet, name string, c int, momentum, eps float32) *BatchNorm {
	bn := &BatchNorm{C: c, Momentum: momentum, Eps: eps,
		Gamma:      params.New(name+"/gamma", true, c),
		Beta:       params.New(name+"/beta", true, c),
		MovingMean: state.New(name+"/moving_mean", false, c),
		MovingVar:  state.New(name+"/moving_variance", false, c),
	}
	Fill(bn.Gamma.W, 1)
	Fill(bn.MovingVar.W, 1)
	return bn
}

// BNCache holds what the training-mode backward pass needs.
type BNCache struct {
	Xhat      []float32 // n×C normalised input
	Mean, Var []float32 // batch mean and biased variance, C each
	InvStd    []float32 // 1/sqrt(Var+Eps)
}

func (c *BNCache) resize(n, ch int) {
	c.Xhat = grow(c.Xhat, n*ch)
	c.Mean = grow(c.Mean, ch)
	c.Var = grow(c.Var, ch)
	c.InvStd = grow(c.InvStd, ch)
}

// grow returns s resized to n, reallocating only if the capacity is short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// bnChunk bounds the rows whose sums accumulate in float32 before they are
// added in float64.
const bnChunk = 512

// colSums64 returns per-column float64 sums of f applied to chunks of rows.
func colSums64(n, ch int, out []float64, f func(s, cnt int, part []float32)) {
	var buf [512]float32
	part := buf[:0]
	if ch > len(buf) {
		part = make([]float32, ch)
	} else {
		part = buf[:ch]
	}
	for s := 0; s < n; s += bnChunk {
		clear(part)
		f(s, min(bnChunk, n-s), part)
		for j, v := range part {
			out[j] += float64(v)
		}
	}
}

// ForwardTrain normalises n rows of x with their own statistics and writes y
// (which may alias x). n must be at least 1.
func (bn *BatchNorm) ForwardTrain(x []float32, n int, y []float32, c *BNCache) {
	ch := bn.C
	c.resize(n, ch)
	var sum, sq [512]float64
	s, q := sum[:0], sq[:0]
	if ch > len(sum) {
		s, q = make([]float64, ch), make([]float64, ch)
	} else {
		s, q = sum[:ch], sq[:ch]
	}
	colSums64(n, ch, s, func(r, cnt int, part []float32) { vec.ColSums(x[r*ch:(r+cnt)*ch], cnt, part) })
	for j := range s {
		c.Mean[j] = float32(s[j] / float64(n))
	}
	colSums64(n, ch, q, func(r, cnt int, part []float32) {
		vec.ColSumSqDiff(x[r*ch:(r+cnt)*ch], c.Mean, cnt, part)
	})
	var kb [512]float32
	shift := kb[:0]
	if ch > len(kb) {
		shift = make([]float32, ch)
	} else {
		shift = kb[:ch]
	}
	for j := range q {
		v := q[j] / float64(n)
		c.Var[j] = float32(v)
		inv := 1 / math.Sqrt(v+float64(bn.Eps))
		c.InvStd[j] = float32(inv)
		shift[j] = float32(-float64(c.Mean[j]) * inv)
	}
	vec.ColAffine(x, c.InvStd, shift, c.Xhat, n)
	vec.ColAffine(c.Xhat, bn.Gamma.W[:ch], bn.Beta.W[:ch], y, n)
}

// ForwardInfer normalises n rows of x with the moving averages; y may alias x.
func (bn *BatchNorm) ForwardInfer(x []float32, n int, y []float32) {
	var sb, hb [512]float32
	scale, shift := sb[:0], hb[:0]
	if bn.C > len(sb) {
		scale, shift = make([]float32, bn.C), make([]float32, bn.C)
	} else {
		scale, shift = sb[:bn.C], hb[:bn.C]
	}
	bn.fold(scale, shift)
	vec.ColAffine(x, scale, shift, y, n)
}

// Folded returns the inference-mode affine map y = x·scale + shift.
func (bn *BatchNorm) Folded() (scale, shift []float32) {
	scale, shift = make([]float32, bn.C), make([]float32, bn.C)
	bn.fold(scale, shift)
	return scale, shift
}

func (bn *BatchNorm) fold(scale, shift []float32) {
	for j := range scale {
		inv := 1 / math.Sqrt(float64(bn.MovingVar.W[j])+float64(bn.Eps))
		scale[j] = float32(float64(bn.Gamma.W[j]) * inv)
		shift[j] = float32(float64(bn.Beta.W[j]) - float64(bn.MovingMean.W[j])*float64(bn.Gamma.W[j])*inv)
	}
}

// Backward adds dGamma and dBeta to g and writes dx (which may alias dy),
// differentiating through the batch statistics:
// dx = gamma·inv·(dy − mean(dy) − xhat·mean(dy·xhat)).
func (bn *BatchNorm) Backward(g Grads, c *BNCache, dy []float32, n int, dx []float32) {
	ch := bn.C
	var sb, sg [512]float64
	dbeta, dgamma := sb[:0], sg[:0]
	if ch > len(sb) {
		dbeta, dgamma = make([]float64, ch), make([]float64, ch)
	} else {
		dbeta, dgamma = sb[:ch], sg[:ch]
	}
	colSums64(n, ch, dbeta, func(r, cnt int, part []float32) { vec.ColSums(dy[r*ch:(r+cnt)*ch], cnt, part) })
	colSums64(n, ch, dgamma, func(r, cnt int, part []float32) {
		vec.ColDotSums(dy[r*ch:(r+cnt)*ch], c.Xhat[r*ch:(r+cnt)*ch], cnt, part)
	})
	gg, gb := g.Of(bn.Gamma)[:ch], g.Of(bn.Beta)[:ch]
	var ka, kb, kc [512]float32
	a, b, k := ka[:0], kb[:0], kc[:0]
	if ch > len(ka) {
		a, b, k = make([]float32, ch), make([]float32, ch), make([]float32, ch)
	} else {
		a, b, k = ka[:ch], kb[:ch], kc[:ch]
	}
	for j := 0; j < ch; j++ {
		gg[j] += float32(dgamma[j])
		gb[j] += float32(dbeta[j])
		gi := float64(bn.Gamma.W[j]) * float64(c.InvStd[j])
		a[j] = float32(gi)
		b[j] = float32(-gi * dgamma[j] / float64(n))
		k[j] = float32(-gi * dbeta[j] / float64(n))
	}
	vec.ColAffine2(dy, c.Xhat, a, b, k, dx, n)
}
