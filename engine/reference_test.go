package engine

import (
	"math"

	"nann/item"
)

// refModel is the plain inference forward pass of SPEC §2, written
// directly from the unfolded Weights in float64: no BatchNorm folding, no
// precomputation, no algebraic rewrite. It is the ground truth the engine
// is tested against.
type refModel struct {
	w        *Weights
	cates    []int32 // category of each item row
	seq      []float64
	keys     [][]float64 // per position, AttnDim
	seqWidth int
}

func newRef(w *Weights, cates []int32) *refModel { return &refModel{w: w, cates: cates} }

func refDense(d Dense, x []float64) []float64 {
	y := make([]float64, d.Out)
	for j := range y {
		if d.B != nil {
			y[j] = float64(d.B[j])
		}
	}
	for i, xv := range x {
		row := d.W[i*d.Out : (i+1)*d.Out]
		for j, wv := range row {
			y[j] += xv * float64(wv)
		}
	}
	return y
}

func refBN(b BatchNorm, eps float32, x []float64) []float64 {
	for j := range x {
		x[j] = float64(b.Gamma[j])*(x[j]-float64(b.Mean[j]))/math.Sqrt(float64(b.Var[j])+float64(eps)) + float64(b.Beta[j])
	}
	return x
}

func refPReLU(alpha []float32, x []float64) []float64 {
	for j, v := range x {
		if v <= 0 {
			x[j] = v * float64(alpha[j])
		}
	}
	return x
}

func refEmb(table []float32, id int32, d int) []float64 {
	out := make([]float64, d)
	if id != 0 {
		for j := range out {
			out[j] = float64(table[int(id)*d+j])
		}
	}
	return out
}

// itemEmbedding is e_v of item row r.
func (m *refModel) itemEmbedding(r int) []float64 {
	w := m.w
	x := append(refEmb(w.ItemEmb, int32(item.Row(r).ID()), w.EmbDim), refEmb(w.CateEmb, m.cates[r], w.EmbDim)...)
	for i := 0; i < 2; i++ {
		x = refPReLU(w.ItemAct[i], refBN(w.ItemBN[i], w.BNEps, refDense(w.Item[i], x)))
	}
	return refDense(w.Item[2], x)
}

// bind computes the keys of a comm_seq.
func (m *refModel) bind(commSeq []float32) {
	w := m.w
	sw := w.SeqWidth()
	m.seq = make([]float64, len(commSeq))
	for i, v := range commSeq {
		m.seq[i] = float64(v)
	}
	m.keys = make([][]float64, w.SeqLen)
	for l := range m.keys {
		h := refPReLU(w.KeyAct, refDense(w.Key[0], m.seq[l*sw:(l+1)*sw]))
		m.keys[l] = refDense(w.Key[1], h)
	}
}

// score is the logit of item row r for the bound user.
func (m *refModel) score(r int) float64 {
	w := m.w
	sw := w.SeqWidth()
	ev := m.itemEmbedding(r)
	q := refDense(w.Query[1], refPReLU(w.QueryAct, refDense(w.Query[0], ev)))
	logits := make([]float64, w.SeqLen)
	mx := math.Inf(-1)
	for l, k := range m.keys {
		var s float64
		for d := range q {
			s += q[d] * k[d]
		}
		logits[l] = s / math.Sqrt(float64(w.AttnDim))
		mx = math.Max(mx, logits[l])
	}
	var sum float64
	for l := range logits {
		logits[l] = math.Exp(logits[l] - mx)
		sum += logits[l]
	}
	x := make([]float64, sw, sw+len(ev))
	for l, a := range logits {
		for j := 0; j < sw; j++ {
			x[j] += a / sum * m.seq[l*sw+j]
		}
	}
	x = append(x, ev...)
	for i := 0; i < 3; i++ {
		x = refPReLU(w.ScoreAct[i], refBN(w.ScoreBN[i], w.BNEps, refDense(w.Score[i], x)))
	}
	return refDense(w.Score[3], x)[0]
}
