// Package model is the NANN scoring network of SPEC §2: an item network
// producing the 64-d item embedding e_v that the index is built on, a
// nonlinear target attention over the user's behaviour sequence, and a score
// MLP on concat(attention, e_v). It offers a training step (forward,
// backward, FGSM adversarial term; Worker) and the plain inference forward
// (ItemEmbeddings, SequenceEmbedding, Scorer).
//
// Computation. Everything is batched into matrix products (internal/vec's
// GEMM, AVX2/FMA or AVX-512 with a plain-Go twin): the item network and the
// score network run on all B·C candidates at once; the attention's keys are
// computed once per positive (B·L rows, padding positions once in all) and,
// because the attention's two 256-wide output layers are linear, folded
// into 128-wide projected keys so that no 256-wide query is ever formed
// (nn.Attention documents the algebra). The FGSM pass reuses e_v and the
// keys, and the item network, keys and embeddings are back-propagated once
// with the summed clean and adversarial gradients.
package model

import (
	"errors"
	"fmt"
)

// Config holds the model's sizes. Zero values are not defaults: start from
// Default and set NumItems and NumCates from the dataset.
type Config struct {
	// NumItems and NumCates are the largest dense item and category ids; ids
	// run 1..N and 0 means "missing/padding".
	NumItems int `json:"num_item"`
	NumCates int `json:"num_cate"`
	// EmbDim is the width of each embedding table (32); a position of the
	// behaviour sequence is concat(item, category), 2·EmbDim wide.
	EmbDim int `json:"emb_dim"`
	// SeqLen is the number of history positions (50).
	SeqLen int `json:"max_len"`
	// ItemHidden are the hidden widths of the item network ([64, 64]), each
	// Dense+BN+PReLU; ItemDim is the width of e_v (64).
	ItemHidden []int `json:"item_hidden"`
	ItemDim    int   `json:"item_out"`
	// AttnHidden and AttnDim are the widths of the attention's two Dense
	// layers for queries and keys (128, 256).
	AttnHidden int `json:"att_hidden"`
	AttnDim    int `json:"att_dim"`
	// ScoreHidden are the hidden widths of the score network ([128, 64, 32]),
	// each Dense+BN+PReLU, followed by Dense(1) without bias.
	ScoreHidden []int `json:"score_hidden"`
	// BNMomentum and BNEps are the BatchNorm constants (0.99, 1e-3).
	BNMomentum float32 `json:"bn_momentum"`
	BNEps      float32 `json:"bn_eps"`
	// MaskPadding gives padded history positions no attention weight. The
	// reference does not mask (false).
	MaskPadding bool `json:"mask_padding"`
}

// Default returns the reference's sizes with NumItems and NumCates unset.
func Default() Config {
	return Config{
		EmbDim: 32, SeqLen: 50,
		ItemHidden: []int{64, 64}, ItemDim: 64,
		AttnHidden: 128, AttnDim: 256,
		ScoreHidden: []int{128, 64, 32},
		BNMomentum:  0.99, BNEps: 1e-3,
	}
}

// maxTableRows bounds the embedding tables (rows × EmbDim floats) so that a
// corrupt size cannot demand an absurd allocation.
const maxTableRows = 1 << 28

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("model config: "+format, a...)) }
	if c.NumItems < 1 || c.NumItems > maxTableRows {
		bad("num_item %d not in [1, %d]", c.NumItems, maxTableRows)
	}
	if c.NumCates < 1 || c.NumCates > maxTableRows {
		bad("num_cate %d not in [1, %d]", c.NumCates, maxTableRows)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"emb_dim", c.EmbDim}, {"max_len", c.SeqLen}, {"item_out", c.ItemDim}, {"att_hidden", c.AttnHidden}, {"att_dim", c.AttnDim}} {
		if f.v < 1 || f.v > 1<<16 {
			bad("%s %d not in [1, 65536]", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		hs   []int
	}{{"item_hidden", c.ItemHidden}, {"score_hidden", c.ScoreHidden}} {
		for i, h := range f.hs {
			if h < 1 || h > 1<<16 {
				bad("%s[%d] %d not in [1, 65536]", f.name, i, h)
			}
		}
	}
	if !(c.BNMomentum >= 0 && c.BNMomentum < 1) {
		bad("bn_momentum %v not in [0, 1)", c.BNMomentum)
	}
	if !(c.BNEps > 0) {
		bad("bn_eps %v must be positive", c.BNEps)
	}
	return errors.Join(errs...)
}

// SeqWidth is the width of one behaviour-sequence position, 2·EmbDim.
func (c Config) SeqWidth() int { return 2 * c.EmbDim }
