package model

import (
	"fmt"

	"nann/internal/vec"
	"nann/item"
	"nann/nn"
)

// Scorer computes inference-mode logits (no log-Q correction) of one user
// against items, with the plain forward of SPEC §2: attention over the
// user's SeqLen positions (keys computed once in Bind) and the score network
// with BatchNorm's moving averages. It reads precomputed item embeddings
// e_v (AllItemEmbeddings, or a loaded item_embs.npy) instead of running the
// item network per call.
// One Scorer per goroutine; many may share a model and a table.
type Scorer struct {
	m     *Model
	table []float32 // NumItems×ItemDim, row = dense id − 1
	gw    vec.GemmWork
	seq   []float32 // SeqLen×SeqWidth
	valid []bool
	pad   []bool
	bound bool
	kc    nn.AttnKeys
	qc    nn.AttnQueries
	sc    nn.MLPCache
	ev, z []float32
}

// scoreChunk is the number of items scored per pass.
const scoreChunk = 256

// NewScorer returns a scorer reading item embeddings from table (NumItems
// rows of ItemDim, as AllItemEmbeddings or a loaded item_embs.npy gives).
// The table is not copied and must not change while the scorer is in use.
func (m *Model) NewScorer(table []float32) (*Scorer, error) {
	if want := m.Cfg.NumItems * m.Cfg.ItemDim; len(table) != want {
		return nil, fmt.Errorf("model: item table has %d values, want %d×%d", len(table), m.Cfg.NumItems, m.Cfg.ItemDim)
	}
	l, sd := m.Cfg.SeqLen, m.Cfg.SeqWidth()
	return &Scorer{m: m, table: table, seq: make([]float32, l*sd), valid: make([]bool, l), pad: make([]bool, l)}, nil
}

// BindIDs sets the user: a history of at most SeqLen item and category ids
// (right-padded with 0 or shorter; it is padded to SeqLen).
func (s *Scorer) BindIDs(histItems []item.ID, histCates []int32) error {
	s.bound = false
	if err := s.m.SequenceEmbedding(histItems, histCates, s.seq); err != nil {
		return err
	}
	for i := range s.pad {
		s.pad[i] = i >= len(histItems) || histItems[i] == 0 && histCates[i] == 0
	}
	return s.bindSeq(func(i int) bool { return i < len(histItems) && histItems[i] != 0 })
}

// BindSeq sets the user from the SeqLen×SeqWidth behaviour-sequence
// embedding (the served model's comm_seq, flattened). With MaskPadding, an
// all-zero row counts as padding.
func (s *Scorer) BindSeq(commSeq []float32) error {
	s.bound = false
	if len(commSeq) != len(s.seq) {
		return fmt.Errorf("model: comm_seq has %d values, want %d×%d", len(commSeq), s.m.Cfg.SeqLen, s.m.Cfg.SeqWidth())
	}
	copy(s.seq, commSeq)
	sd := s.m.Cfg.SeqWidth()
	for i := range s.pad {
		s.pad[i] = true
		for _, v := range s.seq[i*sd : (i+1)*sd] {
			if v != 0 {
				s.pad[i] = false
				break
			}
		}
	}
	return s.bindSeq(func(i int) bool { return !s.pad[i] })
}

func (s *Scorer) bindSeq(isValid func(i int) bool) error {
	var valid []bool
	if s.m.Cfg.MaskPadding {
		for i := range s.valid {
			s.valid[i] = isValid(i)
		}
		valid = s.valid
	}
	s.m.Att.Keys(&s.gw, s.seq, valid, s.pad, 1, s.m.Cfg.SeqLen, &s.kc)
	s.bound = true
	return nil
}

// Score writes the logit of each item row to out. Rows
// come from the index, not from users: calling Score before a successful
// Bind, with a short out or with a row outside [0, NumItems) is a programming
// error and panics with a message saying which.
func (s *Scorer) Score(rows []item.Row, out []float32) {
	cfg := s.m.Cfg
	switch {
	case !s.bound:
		panic("model: Scorer.Score before a successful Bind")
	case len(out) < len(rows):
		panic(fmt.Sprintf("model: Scorer.Score: %d outputs for %d rows", len(out), len(rows)))
	}
	for i, r := range rows {
		if r < 0 || int(r) >= cfg.NumItems {
			panic(fmt.Sprintf("model: Scorer.Score: rows[%d] = %d out of range [0, %d)", i, r, cfg.NumItems))
		}
	}
	sd, eo := cfg.SeqWidth(), cfg.ItemDim
	zd := sd + eo
	s.ev = grow(s.ev, min(scoreChunk, len(rows))*eo)
	s.z = grow(s.z, min(scoreChunk, len(rows))*zd)
	for start := 0; start < len(rows); start += scoreChunk {
		n := min(scoreChunk, len(rows)-start)
		for i, r := range rows[start : start+n] {
			copy(s.ev[i*eo:(i+1)*eo], s.table[int(r)*eo:(int(r)+1)*eo])
		}
		s.m.Att.Forward(&s.gw, s.ev, eo, n, &s.kc, &s.qc, s.z, zd)
		for i := 0; i < n; i++ {
			copy(s.z[i*zd+sd:(i+1)*zd], s.ev[i*eo:(i+1)*eo])
		}
		s.m.ScoreNet.Forward(&s.gw, s.z, zd, n, false, &s.sc, out[start:start+n], 1)
	}
}
