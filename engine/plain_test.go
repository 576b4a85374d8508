package engine

import (
	"math"

	"nann/internal/vec"
	"nann/item"
)

// plainScorer is the plain float32 inference forward of SPEC §2 as a
// straightforward GEMM implementation would run it, the baseline of the
// benchmarks: item embeddings e_v precomputed, keys computed once per user,
// and per candidate the query projections (64→128→256), q·k over the 50
// positions, a softmax with math.Exp, the weighted sum of the sequence, and
// the score network with BatchNorm applied as its own pass; about 84 K
// multiply-adds per pair. No folding, no rewrite.
type plainScorer struct {
	w                  *Weights
	ev                 []float32 // NumItems × ItemDim
	gw                 vec.GemmWork
	seq, keys, hk      []float32
	e, hq, q, a, z, hs []float32
	z1, z2, z3         []float32
}

const plainChunk = 256

// newPlain computes the e_v table with the item network and returns an
// unbound plain scorer.
func newPlain(w *Weights, cates []int32) *plainScorer {
	c := w.Config
	p := &plainScorer{w: w, ev: make([]float32, c.NumItems*c.ItemDim)}
	r := newRef(w, cates)
	for i := 0; i < c.NumItems; i++ {
		for j, v := range r.itemEmbedding(i) {
			p.ev[i*c.ItemDim+j] = float32(v)
		}
	}
	l, n := c.SeqLen, plainChunk
	p.seq, p.keys, p.hk = make([]float32, c.CommSeqLen()), make([]float32, l*c.AttnDim), make([]float32, l*c.AttnHidden)
	p.e, p.hq, p.q = make([]float32, n*c.ItemDim), make([]float32, n*c.AttnHidden), make([]float32, n*c.AttnDim)
	p.a, p.z = make([]float32, n*l), make([]float32, n*(c.SeqWidth()+c.ItemDim))
	p.z1, p.z2, p.z3 = make([]float32, n*c.ScoreHidden[0]), make([]float32, n*c.ScoreHidden[1]), make([]float32, n*c.ScoreHidden[2])
	return p
}

func (p *plainScorer) bind(commSeq []float32) {
	c := p.w.Config
	copy(p.seq, commSeq)
	dense(&p.gw, p.seq, c.SeqWidth(), c.SeqLen, p.w.Key[0].W, p.w.Key[0].B, c.AttnHidden, p.hk, c.AttnHidden)
	prelu(p.hk, c.SeqLen, c.AttnHidden, c.AttnHidden, p.w.KeyAct)
	dense(&p.gw, p.hk, c.AttnHidden, c.SeqLen, p.w.Key[1].W, p.w.Key[1].B, c.AttnDim, p.keys, c.AttnDim)
}

func (p *plainScorer) score(rows []item.Row, out []float32) {
	for lo := 0; lo < len(rows); lo += plainChunk {
		hi := min(lo+plainChunk, len(rows))
		p.chunk(rows[lo:hi], out[lo:hi])
	}
}

func (p *plainScorer) chunk(rows []item.Row, out []float32) {
	w := p.w
	c := w.Config
	n, id, l, sw := len(rows), c.ItemDim, c.SeqLen, c.SeqWidth()
	zw := sw + id
	for i, r := range rows {
		copy(p.e[i*id:(i+1)*id], p.ev[int(r)*id:int(r+1)*id])
	}
	dense(&p.gw, p.e, id, n, w.Query[0].W, w.Query[0].B, c.AttnHidden, p.hq, c.AttnHidden)
	prelu(p.hq, n, c.AttnHidden, c.AttnHidden, w.QueryAct)
	dense(&p.gw, p.hq, c.AttnHidden, n, w.Query[1].W, w.Query[1].B, c.AttnDim, p.q, c.AttnDim)
	scale := float32(1 / math.Sqrt(float64(c.AttnDim)))
	vec.Gemm(&p.gw, false, true, n, l, c.AttnDim, scale, p.q, c.AttnDim, p.keys, c.AttnDim, 0, p.a, l)
	for i := 0; i < n; i++ {
		row := p.a[i*l : (i+1)*l]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var s float32
		for j, v := range row {
			row[j] = float32(math.Exp(float64(v - m)))
			s += row[j]
		}
		for j := range row {
			row[j] /= s
		}
	}
	vec.Gemm(&p.gw, false, false, n, sw, l, 1, p.a, l, p.seq, sw, 0, p.z, zw)
	for i := 0; i < n; i++ {
		copy(p.z[i*zw+sw:(i+1)*zw], p.e[i*id:(i+1)*id])
	}
	in, ld := p.z, zw
	for k, y := range [][]float32{p.z1, p.z2, p.z3} {
		m := c.ScoreHidden[k]
		dense(&p.gw, in, ld, n, w.Score[k].W, w.Score[k].B, m, y, m)
		bnInfer(y, n, m, w.ScoreBN[k], c.BNEps)
		prelu(y, n, m, m, w.ScoreAct[k])
		in, ld = y, m
	}
	for i := range out {
		out[i] = vec.Dot(p.z3[i*c.ScoreHidden[2]:(i+1)*c.ScoreHidden[2]], w.Score[3].W)
	}
}

// bnInfer applies an inference BatchNorm in place.
func bnInfer(x []float32, n, m int, bn BatchNorm, eps float32) {
	for i := 0; i < n; i++ {
		row := x[i*m : (i+1)*m]
		for j, v := range row {
			row[j] = bn.Gamma[j]*(v-bn.Mean[j])/float32(math.Sqrt(float64(bn.Var[j]+eps))) + bn.Beta[j]
		}
	}
}
