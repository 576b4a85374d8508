package nn

import "math"

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
	for i := 0; i < n; i++ {
		for j, v := range x[i*ch : i*ch+ch] {
			s[j] += float64(v)
		}
	}
	for j := range s {
		c.Mean[j] = float32(s[j] / float64(n))
	}
	for i := 0; i < n; i++ {
		for j, v := range x[i*ch : i*ch+ch] {
			d := float64(v - c.Mean[j])
			q[j] += d * d
		}
	}
	for j := range q {
		v := q[j] / float64(n)
		c.Var[j] = float32(v)
		c.InvStd[j] = float32(1 / math.Sqrt(v+float64(bn.Eps)))
	}
	gamma, beta := bn.Gamma.W[:ch], bn.Beta.W[:ch]
	mean, inv := c.Mean[:ch], c.InvStd[:ch]
	for i := 0; i < n; i++ {
		xr := x[i*ch : i*ch+ch]
		hr := c.Xhat[i*ch : i*ch+ch]
		yr := y[i*ch : i*ch+ch]
		for j, v := range xr {
			h := (v - mean[j]) * inv[j]
			hr[j] = h
			yr[j] = gamma[j]*h + beta[j]
		}
	}
}

// ForwardInfer normalises n rows of x with the moving averages; y may alias x.
func (bn *BatchNorm) ForwardInfer(x []float32, n int, y []float32) {
	ch := bn.C
	scale, shift := bn.Folded()
	for i := 0; i < n; i++ {
		xr := x[i*ch : i*ch+ch]
		yr := y[i*ch : i*ch+ch]
		for j, v := range xr {
			yr[j] = v*scale[j] + shift[j]
		}
	}
}

// Folded returns the inference-mode affine map y = x·scale + shift.
func (bn *BatchNorm) Folded() (scale, shift []float32) {
	scale, shift = make([]float32, bn.C), make([]float32, bn.C)
	for j := range scale {
		inv := 1 / math.Sqrt(float64(bn.MovingVar.W[j])+float64(bn.Eps))
		scale[j] = float32(float64(bn.Gamma.W[j]) * inv)
		shift[j] = float32(float64(bn.Beta.W[j]) - float64(bn.MovingMean.W[j])*float64(bn.Gamma.W[j])*inv)
	}
	return scale, shift
}

// Backward adds dGamma and dBeta to g and writes dx (which may alias dy),
// differentiating through the batch statistics.
func (bn *BatchNorm) Backward(g Grads, c *BNCache, dy []float32, n int, dx []float32) {
	ch := bn.C
	var sb, sg [512]float64
	dbeta, dgamma := sb[:0], sg[:0]
	if ch > len(sb) {
		dbeta, dgamma = make([]float64, ch), make([]float64, ch)
	} else {
		dbeta, dgamma = sb[:ch], sg[:ch]
	}
	for i := 0; i < n; i++ {
		hr := c.Xhat[i*ch : i*ch+ch]
		for j, d := range dy[i*ch : i*ch+ch] {
			dbeta[j] += float64(d)
			dgamma[j] += float64(d * hr[j])
		}
	}
	gg, gb := g.Of(bn.Gamma)[:ch], g.Of(bn.Beta)[:ch]
	var ka, kb, kc [512]float32
	a, b, m := ka[:0], kb[:0], kc[:0]
	if ch > len(ka) {
		a, b, m = make([]float32, ch), make([]float32, ch), make([]float32, ch)
	} else {
		a, b, m = ka[:ch], kb[:ch], kc[:ch]
	}
	for j := 0; j < ch; j++ {
		gg[j] += float32(dgamma[j])
		gb[j] += float32(dbeta[j])
		// dx = gamma·inv·(dy − mean(dy) − xhat·mean(dy·xhat))
		a[j] = bn.Gamma.W[j] * c.InvStd[j]
		m[j] = float32(dbeta[j] / float64(n))
		b[j] = float32(dgamma[j] / float64(n))
	}
	for i := 0; i < n; i++ {
		hr := c.Xhat[i*ch : i*ch+ch]
		dyr := dy[i*ch : i*ch+ch]
		dxr := dx[i*ch : i*ch+ch]
		for j, d := range dyr {
			dxr[j] = a[j] * (d - m[j] - hr[j]*b[j])
		}
	}
}
