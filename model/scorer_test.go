package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"nann/item"
	"nann/nn"
)

// Straightforward float64 inference forward, written independently of the
// batched code: per item, per position, loops only.

func denseF64(d *nn.Dense, x []float64) []float64 {
	y := make([]float64, d.Out)
	for j := range y {
		if d.B != nil {
			y[j] = float64(d.B.W[j])
		}
		for i, v := range x {
			y[j] += v * float64(d.W.W[i*d.Out+j])
		}
	}
	return y
}

func preluF64(p *nn.PReLU, x []float64) []float64 {
	y := make([]float64, len(x))
	for j, v := range x {
		if v < 0 {
			v *= float64(p.Alpha.W[j])
		}
		y[j] = v
	}
	return y
}

func mlpF64(p *nn.MLP, x []float64) []float64 {
	for i, d := range p.Dense {
		h := denseF64(d, x)
		bn := p.BN[i]
		for j := range h {
			h[j] = (h[j]-float64(bn.MovingMean.W[j]))/math.Sqrt(float64(bn.MovingVar.W[j])+float64(bn.Eps))*
				float64(bn.Gamma.W[j]) + float64(bn.Beta.W[j])
		}
		x = preluF64(p.Act[i], h)
	}
	return denseF64(p.Out, x)
}

func embF64(e *nn.Embedding, id int32) []float64 {
	out := make([]float64, e.Dim)
	if id != 0 {
		for j := range out {
			out[j] = float64(e.Table.W[int(id)*e.Dim+j])
		}
	}
	return out
}

func scoreF64(m *Model, seq [][]float64, valid []bool, ev []float64) float64 {
	a := m.Att
	q := denseF64(a.Q2, preluF64(a.QAct, denseF64(a.Q1, ev)))
	w := make([]float64, len(seq))
	mx := math.Inf(-1)
	for l, s := range seq {
		k := denseF64(a.K2, preluF64(a.KAct, denseF64(a.K1, s)))
		for j := range k {
			w[l] += q[j] * k[j]
		}
		w[l] /= math.Sqrt(float64(a.Dim))
		if valid == nil || valid[l] {
			mx = math.Max(mx, w[l])
		}
	}
	sum := 0.0
	for l := range w {
		if valid != nil && !valid[l] {
			w[l] = 0
			continue
		}
		w[l] = math.Exp(w[l] - mx)
		sum += w[l]
	}
	z := make([]float64, len(seq[0]), len(seq[0])+len(ev))
	for l, s := range seq {
		for j, v := range s {
			z[j] += w[l] / sum * v
		}
	}
	z = append(z, ev...)
	return mlpF64(m.ScoreNet, z)[0]
}

// perturbState gives BatchNorm non-trivial parameters and statistics so the
// inference path is exercised.
func perturbState(m *Model, r *rand.Rand) {
	for _, bn := range m.BatchNorms() {
		for j := 0; j < bn.C; j++ {
			bn.Gamma.W[j] = float32(1 + 0.3*r.NormFloat64())
			bn.Beta.W[j] = float32(0.2 * r.NormFloat64())
			bn.MovingMean.W[j] = float32(0.3 * r.NormFloat64())
			bn.MovingVar.W[j] = float32(0.5 + r.Float64())
		}
	}
}

func TestScorerMatchesSlowForward(t *testing.T) {
	for _, mask := range []bool{false, true} {
		cfg := Default2()
		cfg.MaskPadding = mask
		m, err := New(cfg, 11)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(5, 6))
		perturbState(m, r)
		cates := make([]int32, cfg.NumItems)
		for i := range cates {
			cates[i] = int32(1 + r.IntN(cfg.NumCates))
		}
		table, err := m.AllItemEmbeddings(cates)
		if err != nil {
			t.Fatal(err)
		}
		// Item network against the slow forward.
		for row := 0; row < cfg.NumItems; row += 37 {
			x := append(embF64(m.ItemEmb, int32(row+1)), embF64(m.CateEmb, cates[row])...)
			want := mlpF64(m.ItemNet, x)
			for j, v := range want {
				if got := float64(table[row*cfg.ItemDim+j]); math.Abs(got-v) > 1e-4*(1+math.Abs(v)) {
					t.Fatalf("item row %d dim %d: %v want %v", row, j, got, v)
				}
			}
		}
		// A user with 17 behaviours (33 padded positions).
		hi, hc := make([]int32, 17), make([]int32, 17)
		for i := range hi {
			hi[i] = int32(1 + r.IntN(cfg.NumItems))
			hc[i] = int32(1 + r.IntN(cfg.NumCates))
		}
		seq := make([][]float64, cfg.SeqLen)
		valid := make([]bool, cfg.SeqLen)
		for l := range seq {
			if l < len(hi) {
				seq[l] = append(embF64(m.ItemEmb, hi[l]), embF64(m.CateEmb, hc[l])...)
				valid[l] = true
			} else {
				seq[l] = make([]float64, cfg.SeqWidth())
			}
		}
		if !mask {
			valid = nil
		}
		s, err := m.NewScorer(table)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.BindIDs(item.IDs(hi), hc); err != nil {
			t.Fatal(err)
		}
		rows := make([]item.Row, 0, cfg.NumItems)
		for i := cfg.NumItems - 1; i >= 0; i -= 2 { // more than one chunk
			rows = append(rows, item.Row(i))
		}
		out := make([]float32, len(rows))
		s.Score(rows, out)
		for i, row := range rows {
			ev := make([]float64, cfg.ItemDim)
			for j := range ev {
				ev[j] = float64(table[int(row)*cfg.ItemDim+j])
			}
			want := scoreF64(m, seq, valid, ev)
			if math.Abs(float64(out[i])-want) > 1e-4*(1+math.Abs(want)) {
				t.Fatalf("mask=%v row %d: score %v want %v", mask, row, out[i], want)
			}
		}
		// BindSeq with SequenceEmbedding's output gives the same scores.
		flat := make([]float32, cfg.SeqLen*cfg.SeqWidth())
		if err := m.SequenceEmbedding(item.IDs(hi), hc, flat); err != nil {
			t.Fatal(err)
		}
		for l := range seq {
			for j, v := range seq[l] {
				if float64(flat[l*cfg.SeqWidth()+j]) != v {
					t.Fatalf("sequence embedding [%d][%d]", l, j)
				}
			}
		}
		s2, _ := m.NewScorer(table)
		if err := s2.BindSeq(flat); err != nil {
			t.Fatal(err)
		}
		out2 := make([]float32, len(rows))
		s2.Score(rows, out2)
		for i := range out {
			if out[i] != out2[i] {
				t.Fatalf("BindSeq score %d: %v vs BindIDs %v", i, out2[i], out[i])
			}
		}
	}
}

func TestScorerErrors(t *testing.T) {
	cfg := smallConfig()
	m, _ := New(cfg, 1)
	if _, err := m.NewScorer(make([]float32, 3)); err == nil {
		t.Fatal("short table accepted")
	}
	s, _ := m.NewScorer(make([]float32, cfg.NumItems*cfg.ItemDim))
	if err := s.BindIDs(make([]item.ID, cfg.SeqLen+1), make([]int32, cfg.SeqLen+1)); err == nil {
		t.Fatal("long history accepted")
	}
	if err := s.BindIDs([]item.ID{1, 2}, []int32{1, 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.BindIDs([]item.ID{1, item.ID(cfg.NumItems + 1)}, []int32{1, 1}); err == nil {
		t.Fatal("bad item id accepted")
	}
	if err := s.BindSeq(make([]float32, 7)); err == nil {
		t.Fatal("short comm_seq accepted")
	}
	if err := m.ItemEmbeddings([]item.ID{1}, []int32{int32(cfg.NumCates + 1)}, make([]float32, cfg.ItemDim)); err == nil {
		t.Fatal("bad category accepted")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("Score before Bind did not panic")
			}
		}()
		s.Score([]item.Row{0}, make([]float32, 1))
	}()
}
