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
// With Mask set, positions marked invalid get no weight (a user with no
// valid position attends to nothing); the reference does not mask.
//
// Computation. Q2 and K2 are linear, so with p = PReLU(Q1(e)) and
// r_l = PReLU(K1(seq_l)) (rows of Hidden values),
//
//	q·k_l = p·(r_l·Mᵀ) + r_l·v + (terms independent of l),
//	M = Wq2·Wk2ᵀ (Hidden×Hidden), v = Wk2·bq2,
//
// and the terms independent of l cancel in the softmax. The layer therefore
// computes, once per user, the projected keys K̃_l = r_l·Mᵀ and offsets
// β_l = r_l·v, and per candidate only p (Q1) and the L dot products p·K̃_l:
// no 256-wide query or key is ever formed. This is exact algebra (floating
// point rounding aside); gradients flow to Wq2, Wk2 and bq2 through M and v,
// and bk2's gradient is exactly zero, as the mathematics says it is.
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

// Hidden is the width of the query and key hidden layers.
func (a *Attention) Hidden() int { return a.Q1.Out }

// AttnKeys is the user side of the attention for B users of L positions:
// the projected keys and offsets, and the accumulators of their gradients
// (summed over every Forward/Backward pass until KeysBackward).
//
// Padding positions (marked by Keys's pad argument) all have the same
// all-zero input and hence the same key; the key path runs once for all of
// them, on a compacted set of rows.
type AttnKeys struct {
	B, L  int
	Seq   []float32 // B·L×ValDim, owned by the caller
	Valid []bool    // B·L, consulted only with Mask
	Kt    []float32 // projected keys P·Mᵀ, B·L×Hidden
	Beta  []float32 // offsets P·v, B·L
	M, V  []float32 // Wq2·Wk2ᵀ (Hidden×Hidden) and Wk2·bq2 (Hidden)

	// Compacted key path: row r of Sc is row src[r] of Seq; full row i
	// uses compact row idx[i]. identity means no compaction (Sc = Seq,
	// Ktc = Kt, ...).
	identity  bool
	nc        int
	idx, src  []int32
	padRow    int // compact row shared by the padding positions, or −1
	Sc        []float32
	H, P      []float32 // key pre-activation and activation, nc×Hidden
	Ktc, Betc []float32

	dKt, dBeta  []float32
	dKtc, dBetc []float32
	dP, dSc     []float32
	dM, dV      []float32
}

// Keys computes the projected keys of B users' sequences (B·L rows of seq)
// and clears the gradient accumulators. pad (nil for none) marks padding
// positions, whose seq rows must be zero; valid is used only with Mask.
func (a *Attention) Keys(gw *vec.GemmWork, seq []float32, valid, pad []bool, b, l int, kc *AttnKeys) {
	n, h, v := b*l, a.Hidden(), a.ValDim
	kc.B, kc.L, kc.Seq, kc.Valid = b, l, seq, valid
	kc.M, kc.V = grow(kc.M, h*h), grow(kc.V, h)
	vec.Gemm(gw, false, true, h, h, a.Dim, 1, a.Q2.W.W, a.Dim, a.K2.W.W, a.Dim, 0, kc.M, h)
	vec.Gemm(gw, false, true, h, 1, a.Dim, 1, a.K2.W.W, a.Dim, a.Q2.B.W, a.Dim, 0, kc.V, 1)
	kc.Kt, kc.Beta = grow(kc.Kt, n*h), grow(kc.Beta, n)
	kc.compact(pad, n)
	nc := kc.nc
	if kc.identity {
		kc.Sc, kc.Ktc, kc.Betc = seq, kc.Kt, kc.Beta
	} else {
		kc.Sc = grow(kc.Sc, nc*v)
		for r, i := range kc.src {
			copy(kc.Sc[r*v:(r+1)*v], seq[int(i)*v:int(i+1)*v])
		}
		kc.Ktc, kc.Betc = grow(kc.Ktc, nc*h), grow(kc.Betc, nc)
	}
	kc.H, kc.P = grow(kc.H, nc*h), grow(kc.P, nc*h)
	a.K1.Forward(gw, kc.Sc, v, nc, kc.H, h)
	a.KAct.Forward(kc.H, nc, kc.P)
	vec.Gemm(gw, false, true, nc, h, h, 1, kc.P, h, kc.M, h, 0, kc.Ktc, h)
	vec.Gemm(gw, false, false, nc, 1, h, 1, kc.P, h, kc.V, 1, 0, kc.Betc, 1)
	if !kc.identity {
		for i, r := range kc.idx[:n] {
			copy(kc.Kt[i*h:(i+1)*h], kc.Ktc[int(r)*h:int(r+1)*h])
			kc.Beta[i] = kc.Betc[r]
		}
	}
	kc.dKt, kc.dBeta = grow(kc.dKt, n*h), grow(kc.dBeta, n)
	clear(kc.dKt)
	clear(kc.dBeta)
}

// compact maps the n positions to compact rows: every non-padding position
// its own, all padding positions one shared row.
func (kc *AttnKeys) compact(pad []bool, n int) {
	kc.padRow = -1
	kc.identity = true
	for _, p := range pad[:min(len(pad), n)] {
		if p {
			kc.identity = false
			break
		}
	}
	if kc.identity {
		kc.nc = n
		return
	}
	if cap(kc.idx) < n {
		kc.idx = make([]int32, n)
	}
	kc.idx, kc.src = kc.idx[:n], kc.src[:0]
	for i := 0; i < n; i++ {
		if pad[i] {
			if kc.padRow < 0 {
				kc.padRow = len(kc.src)
				kc.src = append(kc.src, int32(i))
			}
			kc.idx[i] = int32(kc.padRow)
			continue
		}
		kc.idx[i] = int32(len(kc.src))
		kc.src = append(kc.src, int32(i))
	}
	kc.nc = len(kc.src)
}

// KeysBackward adds the gradients accumulated by Backward calls to the key
// side and to Q2/K2 in g, and adds the gradient with respect to the
// sequence to dSeq (except at padding positions, which get none).
func (a *Attention) KeysBackward(gw *vec.GemmWork, g Grads, kc *AttnKeys, dSeq []float32) {
	nc, h, dim, v := kc.nc, a.Hidden(), a.Dim, a.ValDim
	if kc.identity {
		kc.dKtc, kc.dBetc = kc.dKt, kc.dBeta
	} else {
		kc.dKtc, kc.dBetc = grow(kc.dKtc, nc*h), grow(kc.dBetc, nc)
		clear(kc.dKtc)
		clear(kc.dBetc)
		for i, r := range kc.idx {
			dst := kc.dKtc[int(r)*h : int(r+1)*h]
			for j, x := range kc.dKt[i*h : (i+1)*h] {
				dst[j] += x
			}
			kc.dBetc[r] += kc.dBeta[i]
		}
	}
	kc.dP, kc.dM, kc.dV = grow(kc.dP, nc*h), grow(kc.dM, h*h), grow(kc.dV, h)
	// Kt = P·Mᵀ, Beta = P·v.
	vec.Gemm(gw, false, false, nc, h, h, 1, kc.dKtc, h, kc.M, h, 0, kc.dP, h)
	vec.Gemm(gw, false, false, nc, h, 1, 1, kc.dBetc, 1, kc.V, h, 1, kc.dP, h)
	vec.Gemm(gw, true, false, h, h, nc, 1, kc.dKtc, h, kc.P, h, 0, kc.dM, h)
	vec.Gemm(gw, true, false, h, 1, nc, 1, kc.P, h, kc.dBetc, 1, 0, kc.dV, 1)
	// M = Wq2·Wk2ᵀ, v = Wk2·bq2.
	wq, wk, bq := a.Q2.W.W, a.K2.W.W, a.Q2.B.W
	vec.Gemm(gw, false, false, h, dim, h, 1, kc.dM, h, wk, dim, 1, g.Of(a.Q2.W), dim)
	vec.Gemm(gw, true, false, h, dim, h, 1, kc.dM, h, wq, dim, 1, g.Of(a.K2.W), dim)
	vec.Gemm(gw, false, false, h, dim, 1, 1, kc.dV, 1, bq, dim, 1, g.Of(a.K2.W), dim)
	vec.Gemm(gw, true, false, dim, 1, h, 1, wk, dim, kc.dV, 1, 1, g.Of(a.Q2.B), 1)
	a.KAct.Backward(g, kc.H, kc.dP, nc, kc.dP)
	if kc.identity {
		a.K1.Backward(gw, g, kc.Sc, v, kc.dP, h, nc, dSeq, v, true)
		return
	}
	kc.dSc = grow(kc.dSc, nc*v)
	a.K1.Backward(gw, g, kc.Sc, v, kc.dP, h, nc, kc.dSc, v, false)
	for r, i := range kc.src {
		if r == kc.padRow {
			continue
		}
		dst := dSeq[int(i)*v : int(i+1)*v]
		for j, x := range kc.dSc[r*v : (r+1)*v] {
			dst[j] += x
		}
	}
}

// AttnQueries is the candidate side of one attention pass over B·C
// candidates (C per user), with its backward scratch.
type AttnQueries struct {
	H, P   []float32 // query pre-activation and activation, B·C×Hidden
	A      []float32 // B·C×L attention weights
	dA, dP []float32
}

// Forward attends from B·C candidate embeddings ev (leading dimension ldev;
// rows b·C..b·C+C belong to user b) over the users' sequences and writes the
// B·C×ValDim result to out (leading dimension ldOut).
func (a *Attention) Forward(gw *vec.GemmWork, ev []float32, ldev, c int, kc *AttnKeys, qc *AttnQueries, out []float32, ldOut int) {
	b, l, h, v := kc.B, kc.L, a.Hidden(), a.ValDim
	n := b * c
	qc.H, qc.P, qc.A = grow(qc.H, n*h), grow(qc.P, n*h), grow(qc.A, n*l)
	a.Q1.Forward(gw, ev, ldev, n, qc.H, h)
	a.QAct.Forward(qc.H, n, qc.P)
	scale := float32(1 / math.Sqrt(float64(a.Dim)))
	for u := 0; u < b; u++ {
		au := qc.A[u*c*l : (u+1)*c*l]
		vec.Gemm(gw, false, true, c, l, h, 1, qc.P[u*c*h:], h, kc.Kt[u*l*h:(u+1)*l*h], h, 0, au, l)
		beta := kc.Beta[u*l : (u+1)*l]
		var valid []bool
		if a.Mask && kc.Valid != nil {
			valid = kc.Valid[u*l : (u+1)*l]
		}
		for i := 0; i < c; i++ {
			softmaxRow(au[i*l:i*l+l], beta, scale, valid)
		}
		vec.Gemm(gw, false, false, c, v, l, 1, qc.A[u*c*l:], l, kc.Seq[u*l*v:(u+1)*l*v], v, 0, out[u*c*ldOut:], ldOut)
	}
}

// softmaxRow replaces x by softmax(scale·(x+beta)), giving zero weight to
// positions with valid[i] false (all zeros if none is valid).
func softmaxRow(x, beta []float32, scale float32, valid []bool) {
	beta = beta[:len(x)]
	m := float32(math.Inf(-1))
	for i := range x {
		x[i] = scale * (x[i] + beta[i])
		if (valid == nil || valid[i]) && x[i] > m {
			m = x[i]
		}
	}
	if math.IsInf(float64(m), -1) {
		clear(x)
		return
	}
	for i := range x {
		x[i] -= m
	}
	vec.Exp(x, x)
	var s float32
	for i, v := range x {
		if valid != nil && !valid[i] {
			x[i] = 0
			continue
		}
		s += v
	}
	inv := 1 / s
	for i := range x {
		x[i] *= inv
	}
}

// Backward takes dout (B·C×ValDim, leading dimension ldDout), adds the
// query-side parameter gradients to g, adds the gradient with respect to
// the sequence values to dSeq, accumulates the key-side gradients in kc for
// KeysBackward, and writes (accDev false) or adds (accDev true) the
// gradient with respect to the candidate embeddings to dev.
func (a *Attention) Backward(gw *vec.GemmWork, g Grads, ev []float32, ldev, c int, kc *AttnKeys, qc *AttnQueries,
	dout []float32, ldDout int, dSeq []float32, dev []float32, lddev int, accDev bool) {
	b, l, h, v := kc.B, kc.L, a.Hidden(), a.ValDim
	n := b * c
	qc.dA, qc.dP = grow(qc.dA, n*l), grow(qc.dP, n*h)
	scale := float32(1 / math.Sqrt(float64(a.Dim)))
	for u := 0; u < b; u++ {
		du := dout[u*c*ldDout:]
		au := qc.A[u*c*l : (u+1)*c*l]
		dau := qc.dA[u*c*l : (u+1)*c*l]
		su := kc.Seq[u*l*v : (u+1)*l*v]
		vec.Gemm(gw, false, true, c, l, v, 1, du, ldDout, su, v, 0, dau, l)
		vec.Gemm(gw, true, false, l, v, c, 1, qc.A[u*c*l:], l, du, ldDout, 1, dSeq[u*l*v:(u+1)*l*v], v)
		dBeta := kc.dBeta[u*l : (u+1)*l]
		for i := 0; i < c; i++ {
			softmaxBackwardRow(au[i*l:i*l+l], dau[i*l:i*l+l], scale, dBeta)
		}
		ktu := kc.Kt[u*l*h : (u+1)*l*h]
		pu := qc.P[u*c*h:]
		vec.Gemm(gw, false, false, c, h, l, 1, qc.dA[u*c*l:], l, ktu, h, 0, qc.dP[u*c*h:(u+1)*c*h], h)
		vec.Gemm(gw, true, false, l, h, c, 1, qc.dA[u*c*l:], l, pu, h, 1, kc.dKt[u*l*h:(u+1)*l*h], h)
	}
	a.QAct.Backward(g, qc.H, qc.dP, n, qc.dP)
	a.Q1.Backward(gw, g, ev, ldev, qc.dP, h, n, dev, lddev, accDev)
}

// softmaxBackwardRow turns the gradient d with respect to y =
// softmax(scale·(x+beta)) into the gradient with respect to x (which is also
// the one with respect to beta, added to dBeta):
// scale·y ⊙ (d − Σ y·d).
func softmaxBackwardRow(y, d []float32, scale float32, dBeta []float32) {
	var s float32
	for i, v := range y {
		s += v * d[i]
	}
	dBeta = dBeta[:len(y)]
	for i, v := range y {
		g := scale * v * (d[i] - s)
		d[i] = g
		dBeta[i] += g
	}
}
