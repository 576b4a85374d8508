package model

import (
	"errors"
	"fmt"
	"math"
)

// Batch is one training step's input: B positives, each with an L-position
// history and C candidates (column 0 is the positive, then negatives).
type Batch struct {
	B, L, C              int
	HistItems, HistCates []int32   // B×L, right-padded with 0
	CandItems, CandCates []int32   // B×C, column 0 is the positive
	LogQ                 []float32 // B×C, log expected count of each candidate under the sampler
}

// maxBatchRows bounds B·C and B·L so that a bad batch cannot demand an
// absurd allocation (the reference's 800×201 is 160,800).
const maxBatchRows = 1 << 24

// Validate reports every problem with b for a model of configuration cfg.
func (b *Batch) Validate(cfg Config) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("batch: "+format, a...)) }
	if b.B < 1 || b.C < 1 || b.L < 1 {
		bad("sizes B=%d L=%d C=%d must be positive", b.B, b.L, b.C)
		return errors.Join(errs...)
	}
	if b.L > cfg.SeqLen {
		bad("history length L=%d exceeds max_len %d", b.L, cfg.SeqLen)
	}
	if b.B > maxBatchRows/b.C || b.B > maxBatchRows/b.L {
		bad("B×C=%d×%d or B×L=%d×%d exceeds %d rows", b.B, b.C, b.B, b.L, maxBatchRows)
		return errors.Join(errs...)
	}
	nh, nc := b.B*b.L, b.B*b.C
	for _, f := range []struct {
		name string
		got  int
		want int
	}{{"HistItems", len(b.HistItems), nh}, {"HistCates", len(b.HistCates), nh},
		{"CandItems", len(b.CandItems), nc}, {"CandCates", len(b.CandCates), nc}, {"LogQ", len(b.LogQ), nc}} {
		if f.got != f.want {
			bad("%s has %d values, want %d", f.name, f.got, f.want)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, f := range []struct {
		name string
		ids  []int32
		max  int
	}{{"HistItems", b.HistItems, cfg.NumItems}, {"HistCates", b.HistCates, cfg.NumCates},
		{"CandItems", b.CandItems, cfg.NumItems}, {"CandCates", b.CandCates, cfg.NumCates}} {
		if err := checkIDs(f.name, f.ids, f.max); err != nil {
			bad("%w", err)
		}
	}
	for i, v := range b.LogQ {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			bad("LogQ[%d] = %v is not finite", i, v)
			break
		}
	}
	return errors.Join(errs...)
}

// TrainFLOPs counts the floating-point operations (2 per multiply-add) of
// the matrix products of one training step in the reference's formulation
// (SPEC §2: 256-wide queries and keys per pair; this code's attention
// rewrite executes fewer, see nn.Attention) on a batch of these sizes: the
// forward and backward (parameter and input gradients, 3× the forward) of
// the item network, query and score paths per candidate and of the key path
// per positive, plus, with the adversarial term, forward and backward of the
// query, attention and score parts again.
func (c Config) TrainFLOPs(b, l, cands int, adv bool) float64 {
	item, in := 0, c.SeqWidth()
	for _, h := range c.ItemHidden {
		item += in * h
		in = h
	}
	item += in * c.ItemDim
	q := c.ItemDim*c.AttnHidden + c.AttnHidden*c.AttnDim
	att := l*c.AttnDim + l*c.SeqWidth()
	score, in := 0, c.SeqWidth()+c.ItemDim
	for _, h := range c.ScoreHidden {
		score += in * h
		in = h
	}
	score += in
	keys := l * (c.SeqWidth()*c.AttnHidden + c.AttnHidden*c.AttnDim)
	n := float64(b * cands)
	macs := 3 * (float64(item+q+att+score)*n + float64(keys)*float64(b))
	if adv {
		macs += 3 * float64(q+att+score) * n
	}
	return 2 * macs
}
