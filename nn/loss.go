package nn

import "math"

// SigmoidCrossEntropy returns Σ_i [max(x,0) − x·y + log(1+exp(−|x|))] over
// logits x and labels y (TensorFlow's sigmoid_cross_entropy_with_logits,
// summed in float64) and writes dlogits_i = scale·(σ(x_i) − y_i).
func SigmoidCrossEntropy(logits, labels []float32, scale float32, dlogits []float32) float64 {
	sum := 0.0
	for i, x := range logits {
		xf, y := float64(x), float64(labels[i])
		sum += math.Max(xf, 0) - xf*y + math.Log1p(math.Exp(-math.Abs(xf)))
		dlogits[i] = scale * float32(1/(1+math.Exp(-xf))-y)
	}
	return sum
}

// SoftmaxKL treats target and logits as rows×cols matrices, p = softmax of a
// target row (a constant: no gradient flows into it) and q = softmax of a
// logits row, and returns Σ_rows KL(p‖q) = Σ p·(log p − log q), computed
// from log-softmaxes in float64. It writes dlogits = scale·(q − p).
func SoftmaxKL(target, logits []float32, rows, cols int, scale float32, dlogits []float32) float64 {
	sum := 0.0
	lp := make([]float64, cols)
	lq := make([]float64, cols)
	for r := 0; r < rows; r++ {
		logSoftmax(target[r*cols:r*cols+cols], lp)
		logSoftmax(logits[r*cols:r*cols+cols], lq)
		d := dlogits[r*cols : r*cols+cols]
		for j := range lp {
			p := math.Exp(lp[j])
			if p > 0 {
				sum += p * (lp[j] - lq[j])
			}
			d[j] = scale * float32(math.Exp(lq[j])-p)
		}
	}
	return sum
}

func logSoftmax(x []float32, out []float64) {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	ls := m + math.Log(s)
	for j, v := range x {
		out[j] = float64(v) - ls
	}
}
