package nn

import (
	"math"
	"math/rand/v2"

	"nann/internal/vec"
)

// Attention is the reference's nonlinear target attention. For a user with a
// behaviour sequence seq (L rows of ValDim) and a candidate embedding e:
//
//	q = Q2(PReLU(Q1(e))), k_l = K2(PReLU(K1(seq_l))),
//	a = softmax_l(q·k_l / sqrt(Dim)), out = Σ_l a_l·seq_l.
//
// The keys depend on the user only and are computed once per user (Keys);
// Forward then serves C candidates per user. With Mask set, positions marked
// invalid get no weight (a user with no valid position attends to nothing);
// the reference does not mask.
type Attention struct {
	Q1, Q2, K1, K2 *Dense
	QAct, KAct     *PReLU
	ValDim, Dim    int
	Mask           bool
}

// NewAttention creates the four Glorot-initialised, zero-bias Dense layers
// (query: qIn→hidden→dim, key: ValDim→hidden→dim) and two PReLUs under name.
func NewAttention(s *ParamSet, r *rand.Rand, name string, qIn, valDim, hidden, dim int, mask bool) *Attention {
	return &Attention{
		Q1:     NewDense(s, r, name+"/query_dense0", qIn, hidden, true, InitGlorotUniform, 0),
		QAct:   NewPReLU(s, name+"/query_prelu", hidden, 0.25),
		Q2:     NewDense(s, r, name+"/query_dense1", hidden, dim, true, InitGlorotUniform, 0),
		K1:     NewDense(s, r, name+"/key_dense0", valDim, hidden, true, InitGlorotUniform, 0),
		KAct:   NewPReLU(s, name+"/key_prelu", hidden, 0.25),
		K2:     NewDense(s, r, name+"/key_dense1", hidden, dim, true, InitGlorotUniform, 0),
		ValDim: valDim, Dim: dim, Mask: mask,
	}
}

// AttnKeys is the user side of the attention for B users of L positions.
type AttnKeys struct {
	B, L    int
	Seq     []float32 // B·L×ValDim, owned by the caller
	Valid   []bool    // B·L, consulted only with Mask
	H, P, K []float32 // key pre-activation, activation (B·L×hidden), keys (B·L×Dim)
	dP      []float32
}

// Keys computes the keys of B users' sequences (B·L rows of seq).
func (a *Attention) Keys(gw *vec.GemmWork, seq []float32, valid []bool, b, l int, kc *AttnKeys) {
	n, h := b*l, a.K1.Out
	kc.B, kc.L, kc.Seq, kc.Valid = b, l, seq, valid
	kc.H = grow(kc.H, n*h)
	kc.P = grow(kc.P, n*h)
	kc.K = grow(kc.K, n*a.Dim)
	a.K1.Forward(gw, seq, a.ValDim, n, kc.H, h)
	a.KAct.Forward(kc.H, n, kc.P)
	a.K2.Forward(gw, kc.P, h, n, kc.K, a.Dim)
}

// KeysBackward adds the key-side parameter gradients for dK (B·L×Dim) to g
// and adds the gradient with respect to the sequence to dSeq.
func (a *Attention) KeysBackward(gw *vec.GemmWork, g Grads, kc *AttnKeys, dK, dSeq []float32) {
	n, h := kc.B*kc.L, a.K1.Out
	kc.dP = grow(kc.dP, n*h)
	a.K2.Backward(gw, g, kc.P, h, dK, a.Dim, n, kc.dP, h, false)
	a.KAct.Backward(g, kc.H, kc.dP, n, kc.dP)
	a.K1.Backward(gw, g, kc.Seq, a.ValDim, kc.dP, h, n, dSeq, a.ValDim, true)
}

// AttnQueries is the candidate side of one attention pass over B·C
// candidates (C per user), with its backward scratch.
type AttnQueries struct {
	H, P, Q []float32 // query pre-activation, activation, queries
	A       []float32 // B·C×L attention weights
	dA, dQ  []float32
	dP      []float32
}

// Forward attends from B·C candidate embeddings ev (leading dimension ldev;
// rows b·C..b·C+C belong to user b) over the users' sequences and writes the
// B·C×ValDim result to out (leading dimension ldOut).
func (a *Attention) Forward(gw *vec.GemmWork, ev []float32, ldev, c int, kc *AttnKeys, qc *AttnQueries, out []float32, ldOut int) {
	b, l, h, dim, v := kc.B, kc.L, a.Q1.Out, a.Dim, a.ValDim
	n := b * c
	qc.H = grow(qc.H, n*h)
	qc.P = grow(qc.P, n*h)
	qc.Q = grow(qc.Q, n*dim)
	qc.A = grow(qc.A, n*l)
	a.Q1.Forward(gw, ev, ldev, n, qc.H, h)
	a.QAct.Forward(qc.H, n, qc.P)
	a.Q2.Forward(gw, qc.P, h, n, qc.Q, dim)
	scale := float32(1 / math.Sqrt(float64(dim)))
	for u := 0; u < b; u++ {
		qu := qc.Q[u*c*dim : (u+1)*c*dim]
		ku := kc.K[u*l*dim : (u+1)*l*dim]
		au := qc.A[u*c*l : (u+1)*c*l]
		vec.Gemm(gw, false, true, c, l, dim, 1, qu, dim, ku, dim, 0, au, l)
		var valid []bool
		if a.Mask && kc.Valid != nil {
			valid = kc.Valid[u*l : (u+1)*l]
		}
		for i := 0; i < c; i++ {
			softmaxRow(au[i*l:i*l+l], scale, valid)
		}
		vec.Gemm(gw, false, false, c, v, l, 1, au, l, kc.Seq[u*l*v:(u+1)*l*v], v, 0, out[u*c*ldOut:], ldOut)
	}
}

// softmaxRow replaces x by softmax(scale·x), giving zero weight to positions
// with valid[i] false (all zeros if none is valid).
func softmaxRow(x []float32, scale float32, valid []bool) {
	for i := range x {
		x[i] *= scale
	}
	m := float32(math.Inf(-1))
	for i, v := range x {
		if (valid == nil || valid[i]) && v > m {
			m = v
		}
	}
	if math.IsInf(float64(m), -1) {
		clear(x)
		return
	}
	var s float32
	for i, v := range x {
		if valid != nil && !valid[i] {
			x[i] = 0
			continue
		}
		e := float32(math.Exp(float64(v - m)))
		x[i] = e
		s += e
	}
	inv := 1 / s
	for i := range x {
		x[i] *= inv
	}
}

// Backward takes dout (B·C×ValDim, leading dimension ldDout), adds the query
// side parameter gradients to g, adds the gradients with respect to the keys
// and the sequence to dK and dSeq, and writes (accDev false) or adds (accDev
// true) the gradient with respect to the candidate embeddings to dev.
func (a *Attention) Backward(gw *vec.GemmWork, g Grads, ev []float32, ldev, c int, kc *AttnKeys, qc *AttnQueries,
	dout []float32, ldDout int, dK, dSeq []float32, dev []float32, lddev int, accDev bool) {
	b, l, h, dim, v := kc.B, kc.L, a.Q1.Out, a.Dim, a.ValDim
	n := b * c
	qc.dA = grow(qc.dA, n*l)
	qc.dQ = grow(qc.dQ, n*dim)
	qc.dP = grow(qc.dP, n*h)
	scale := float32(1 / math.Sqrt(float64(dim)))
	for u := 0; u < b; u++ {
		du := dout[u*c*ldDout:]
		au := qc.A[u*c*l : (u+1)*c*l]
		dau := qc.dA[u*c*l : (u+1)*c*l]
		su := kc.Seq[u*l*v : (u+1)*l*v]
		vec.Gemm(gw, false, true, c, l, v, 1, du, ldDout, su, v, 0, dau, l)
		vec.Gemm(gw, true, false, l, v, c, 1, au, l, du, ldDout, 1, dSeq[u*l*v:(u+1)*l*v], v)
		for i := 0; i < c; i++ {
			softmaxBackwardRow(au[i*l:i*l+l], dau[i*l:i*l+l], scale)
		}
		ku := kc.K[u*l*dim : (u+1)*l*dim]
		vec.Gemm(gw, false, false, c, dim, l, 1, dau, l, ku, dim, 0, qc.dQ[u*c*dim:(u+1)*c*dim], dim)
		vec.Gemm(gw, true, false, l, dim, c, 1, dau, l, qc.Q[u*c*dim:(u+1)*c*dim], dim, 1, dK[u*l*dim:(u+1)*l*dim], dim)
	}
	a.Q2.Backward(gw, g, qc.P, h, qc.dQ, dim, n, qc.dP, h, false)
	a.QAct.Backward(g, qc.H, qc.dP, n, qc.dP)
	a.Q1.Backward(gw, g, ev, ldev, qc.dP, h, n, dev, lddev, accDev)
}

// softmaxBackwardRow turns the gradient d with respect to y =
// softmax(scale·x) into the gradient with respect to x:
// scale·y ⊙ (d − Σ y·d).
func softmaxBackwardRow(y, d []float32, scale float32) {
	var s float32
	for i, v := range y {
		s += v * d[i]
	}
	for i, v := range y {
		d[i] = scale * v * (d[i] - s)
	}
}
