// Package engine compiles a trained NANN network (SPEC §2) into a fast
// inference plan for retrieval: BatchNorm folded into the Dense layers, the
// item-only work (the item network, the attention query's hidden state, the
// e_v half of the first score layer) precomputed once for the whole corpus,
// the user-only work (keys, value products) once per query, and the
// attention rewritten algebraically so that a (user, item) pair costs about
// 23 K multiply-adds instead of about 84 K. Candidates are scored in blocks
// by the fused AVX2/FMA kernels of internal/vec (with plain-Go twins), from
// item tables held in float32 or float16, split across cores for large
// batches, without allocating per query.
//
// The rewrite, for a user with behaviour sequence seq (L×64) and an item
// with embedding e_v:
//
//	h_q  = PReLU(Wq1ᵀe_v + bq1)                   per item (stored)
//	p_l  = PReLU(Wk1ᵀseq_l + bk1)                  per user
//	q·k_l = h_q·(Wq2 Wk2ᵀ p_l + Wq2 bk2) + (Wk2 bq2)·p_l + bq2·bk2
//	     = h_q·K'_l + c_l                          (K'_l, c_l per user)
//	z1   = Σ_l a_l (W1_attᵀ seq_l) + W1_evᵀ e_v + b1  (V_l per user, U per item)
//
// followed by PReLU, 128→64, PReLU, 64→32, PReLU and the last dot product,
// with each BatchNorm folded into the Dense before it.
package engine

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Config gives the sizes of the network. The zero value of a field means
// its default (DefaultConfig), except NumItems and NumCates.
type Config struct {
	NumItems    int     `json:"num_items"`   // items, with dense ids 1..NumItems (item row r is id r+1)
	NumCates    int     `json:"num_cates"`   // categories, dense ids 1..NumCates
	EmbDim      int     `json:"emb_dim"`     // d: item and category embedding width (32)
	SeqLen      int     `json:"seq_len"`     // positions of the behaviour sequence (50)
	ItemHidden  [2]int  `json:"item_hidden"` // widths of the item network's hidden layers (64, 64)
	ItemDim     int     `json:"item_dim"`    // width of the item network's output e_v (64)
	AttnHidden  int     `json:"attn_hidden"` // hidden width of the attention projections (128)
	AttnDim     int     `json:"attn_dim"`    // width of queries and keys (256)
	ScoreHidden [3]int  `json:"mlp"`         // widths of the score network's hidden layers (128, 64, 32)
	BNEps       float32 `json:"eps"`         // BatchNorm epsilon (1e-3)
	// MaskPadding gives padded history positions (all-zero comm_seq rows,
	// or id 0 in BindIDs) no attention weight. The reference does not mask.
	MaskPadding bool `json:"mask_padding"`
}

// DefaultConfig returns the reference sizes for a corpus of the given size.
func DefaultConfig(numItems, numCates int) Config {
	return Config{NumItems: numItems, NumCates: numCates, EmbDim: 32, SeqLen: 50, ItemHidden: [2]int{64, 64}, ItemDim: 64,
		AttnHidden: 128, AttnDim: 256, ScoreHidden: [3]int{128, 64, 32}, BNEps: 1e-3}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig(c.NumItems, c.NumCates)
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setInt(&c.EmbDim, d.EmbDim)
	setInt(&c.SeqLen, d.SeqLen)
	setInt(&c.ItemDim, d.ItemDim)
	for i := range c.ItemHidden {
		setInt(&c.ItemHidden[i], d.ItemHidden[i])
	}
	setInt(&c.AttnHidden, d.AttnHidden)
	setInt(&c.AttnDim, d.AttnDim)
	for i := range c.ScoreHidden {
		setInt(&c.ScoreHidden[i], d.ScoreHidden[i])
	}
	if c.BNEps == 0 {
		c.BNEps = d.BNEps
	}
	return c
}

// maxDim bounds every layer width, so that sizes computed from a config
// (or read from a file) cannot overflow or ask for absurd allocations.
const maxDim = 4096

// Validate reports every problem with the sizes at once. The score network's
// hidden widths must be multiples of 8 (the kernels' panel width).
func (c Config) Validate() error {
	var errs []error
	if c.NumItems < 1 || c.NumItems > math.MaxInt32-1 {
		errs = append(errs, fmt.Errorf("engine config: num_items %d outside [1, %d]", c.NumItems, math.MaxInt32-1))
	}
	if c.NumCates < 1 || c.NumCates > math.MaxInt32-1 {
		errs = append(errs, fmt.Errorf("engine config: num_cates %d outside [1, %d]", c.NumCates, math.MaxInt32-1))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"emb_dim", c.EmbDim}, {"seq_len", c.SeqLen}, {"item_dim", c.ItemDim},
		{"attn_hidden", c.AttnHidden}, {"attn_dim", c.AttnDim},
		{"item_hidden[0]", c.ItemHidden[0]}, {"item_hidden[1]", c.ItemHidden[1]}} {
		if f.v < 1 || f.v > maxDim {
			errs = append(errs, fmt.Errorf("engine config: %s %d outside [1, %d]", f.name, f.v, maxDim))
		}
	}
	for i, w := range c.ScoreHidden {
		if w < 8 || w > maxDim || w%8 != 0 {
			errs = append(errs, fmt.Errorf("engine config: mlp[%d] width %d must be a multiple of 8 in [8, %d]", i, w, maxDim))
		}
	}
	if !(c.BNEps > 0) || math.IsInf(float64(c.BNEps), 0) {
		errs = append(errs, fmt.Errorf("engine config: eps %v must be positive and finite", c.BNEps))
	}
	return errors.Join(errs...)
}

// SeqWidth is the width of one behaviour-sequence row, concat(item emb, cate emb).
func (c Config) SeqWidth() int { return 2 * c.EmbDim }

// CommSeqLen is the length of the flattened comm_seq input (SeqLen·SeqWidth).
func (c Config) CommSeqLen() int { return c.SeqLen * c.SeqWidth() }

// Dense is y = x·W + B with W In×Out row-major (TensorFlow's kernel layout)
// and B of Out values, or nil for a layer without bias.
type Dense struct {
	In, Out int
	W, B    []float32
}

// BatchNorm holds one inference-mode batch normalisation:
// y = Gamma·(x − Mean)/sqrt(Var + eps) + Beta.
type BatchNorm struct {
	Gamma, Beta, Mean, Var []float32
}

// Weights is every tensor the inference forward pass uses, in plain
// (unfolded) form. Tables are row-major; row 0 of each embedding table is
// the padding id, looked up as zeros whatever it holds.
type Weights struct {
	Config
	ItemEmb []float32 // (NumItems+1)×EmbDim
	CateEmb []float32 // (NumCates+1)×EmbDim

	// Item network: concat(item emb, cate emb) → Dense+BN+PReLU → Dense+BN+PReLU → Dense = e_v.
	Item    [3]Dense
	ItemBN  [2]BatchNorm
	ItemAct [2][]float32 // PReLU alphas

	// Attention: query = Query[1](PReLU(Query[0](e_v))), keys likewise over
	// the sequence rows with Key.
	Query    [2]Dense
	QueryAct []float32
	Key      [2]Dense
	KeyAct   []float32

	// Score network: concat(att, e_v) → 3×(Dense+BN+PReLU) → Dense(1, no bias).
	Score    [4]Dense
	ScoreBN  [3]BatchNorm
	ScoreAct [3][]float32
}

// Validate checks the config and that every tensor has its shape and only
// finite values, reporting every problem at once.
func (w *Weights) Validate() error {
	c := w.Config
	if err := c.Validate(); err != nil {
		return err
	}
	var errs []error
	check := func(name string, v []float32, n int) {
		if len(v) != n {
			errs = append(errs, fmt.Errorf("engine weights: %s has %d values, want %d", name, len(v), n))
			return
		}
		if i := firstNonFinite(v); i >= 0 {
			errs = append(errs, fmt.Errorf("engine weights: %s[%d] = %v is not finite", name, i, v[i]))
		}
	}
	dense := func(name string, d Dense, in, out int, bias bool) {
		if d.In != in || d.Out != out {
			errs = append(errs, fmt.Errorf("engine weights: %s is %d×%d, want %d×%d", name, d.In, d.Out, in, out))
		}
		check(name+"/kernel", d.W, in*out)
		if bias {
			check(name+"/bias", d.B, out)
		} else if d.B != nil {
			errs = append(errs, fmt.Errorf("engine weights: %s must have no bias", name))
		}
	}
	bn := func(name string, b BatchNorm, n int) {
		check(name+"/gamma", b.Gamma, n)
		check(name+"/beta", b.Beta, n)
		check(name+"/moving_mean", b.Mean, n)
		check(name+"/moving_variance", b.Var, n)
		for i, v := range b.Var {
			if v < 0 {
				errs = append(errs, fmt.Errorf("engine weights: %s/moving_variance[%d] = %v is negative", name, i, v))
				break
			}
		}
	}
	check("item_emb", w.ItemEmb, (c.NumItems+1)*c.EmbDim)
	check("cate_emb", w.CateEmb, (c.NumCates+1)*c.EmbDim)
	in := 2 * c.EmbDim
	for i := range w.ItemBN {
		dense(fmt.Sprintf("item_net/dense%d", i), w.Item[i], in, c.ItemHidden[i], true)
		bn(fmt.Sprintf("item_net/bn%d", i), w.ItemBN[i], c.ItemHidden[i])
		check(fmt.Sprintf("item_net/prelu%d/alpha", i), w.ItemAct[i], c.ItemHidden[i])
		in = c.ItemHidden[i]
	}
	dense("item_net/dense2", w.Item[2], in, c.ItemDim, true)
	dense("attention/query_dense0", w.Query[0], c.ItemDim, c.AttnHidden, true)
	dense("attention/query_dense1", w.Query[1], c.AttnHidden, c.AttnDim, true)
	check("attention/query_prelu/alpha", w.QueryAct, c.AttnHidden)
	dense("attention/key_dense0", w.Key[0], c.SeqWidth(), c.AttnHidden, true)
	dense("attention/key_dense1", w.Key[1], c.AttnHidden, c.AttnDim, true)
	check("attention/key_prelu/alpha", w.KeyAct, c.AttnHidden)
	in = c.SeqWidth() + c.ItemDim
	for i := 0; i < 3; i++ {
		dense(fmt.Sprintf("score_net/dense%d", i), w.Score[i], in, c.ScoreHidden[i], true)
		bn(fmt.Sprintf("score_net/bn%d", i), w.ScoreBN[i], c.ScoreHidden[i])
		check(fmt.Sprintf("score_net/prelu%d/alpha", i), w.ScoreAct[i], c.ScoreHidden[i])
		in = c.ScoreHidden[i]
	}
	dense("score_net/dense3", w.Score[3], in, 1, false)
	return errors.Join(errs...)
}

func firstNonFinite(v []float32) int {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return i
		}
	}
	return -1
}

// RandomWeights returns weights of the given sizes (zero fields take their
// defaults) drawn from a fixed seed, with the reference's initialisers and
// then non-trivial BatchNorm statistics, PReLU alphas and attention biases,
// so that every term of the forward pass matters. For tests and benchmarks.
func RandomWeights(cfg Config, seed uint64) (*Weights, error) {
	c := cfg.withDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	w := &Weights{Config: c}
	w.ItemEmb = normal(r, (c.NumItems+1)*c.EmbDim, 1/math.Sqrt(float64(c.EmbDim)))
	w.CateEmb = normal(r, (c.NumCates+1)*c.EmbDim, 1/math.Sqrt(float64(c.EmbDim)))
	in := 2 * c.EmbDim
	for i := range w.ItemBN {
		w.Item[i] = randDense(r, in, c.ItemHidden[i], true, false)
		w.ItemBN[i] = randBN(r, c.ItemHidden[i])
		w.ItemAct[i] = randAlpha(r, c.ItemHidden[i])
		in = c.ItemHidden[i]
	}
	w.Item[2] = randDense(r, in, c.ItemDim, true, false)
	w.Query = [2]Dense{randDense(r, c.ItemDim, c.AttnHidden, true, true), randDense(r, c.AttnHidden, c.AttnDim, true, true)}
	w.Key = [2]Dense{randDense(r, c.SeqWidth(), c.AttnHidden, true, true), randDense(r, c.AttnHidden, c.AttnDim, true, true)}
	// Freshly initialised attention is almost uniform; a trained one is
	// not. Sharpen it so that errors in the attention path show in scores.
	for _, d := range []Dense{w.Query[1], w.Key[1]} {
		for i := range d.W {
			d.W[i] *= attnGain
		}
	}
	w.QueryAct, w.KeyAct = randAlpha(r, c.AttnHidden), randAlpha(r, c.AttnHidden)
	in = c.SeqWidth() + c.ItemDim
	for i := 0; i < 3; i++ {
		w.Score[i] = randDense(r, in, c.ScoreHidden[i], true, false)
		w.ScoreBN[i] = randBN(r, c.ScoreHidden[i])
		w.ScoreAct[i] = randAlpha(r, c.ScoreHidden[i])
		in = c.ScoreHidden[i]
	}
	w.Score[3] = randDense(r, in, 1, false, false)
	return w, nil
}

// attnGain scales the random attention output kernels (see RandomWeights).
const attnGain = 4

func normal(r *rand.Rand, n int, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * std)
	}
	return v
}

// randDense draws a Glorot-uniform (attention) or fan-in normal kernel and
// a bias around the reference's init (0.1, or 0 for the attention).
func randDense(r *rand.Rand, in, out int, bias, glorot bool) Dense {
	d := Dense{In: in, Out: out}
	if glorot {
		lim := math.Sqrt(6 / float64(in+out))
		d.W = make([]float32, in*out)
		for i := range d.W {
			d.W[i] = float32((2*r.Float64() - 1) * lim)
		}
	} else {
		d.W = normal(r, in*out, math.Sqrt(1/float64(in)))
	}
	if bias {
		d.B = normal(r, out, 0.05)
		if !glorot {
			for i := range d.B {
				d.B[i] += 0.1
			}
		}
	}
	return d
}

func randBN(r *rand.Rand, n int) BatchNorm {
	b := BatchNorm{Gamma: normal(r, n, 0.1), Beta: normal(r, n, 0.1), Mean: normal(r, n, 0.2), Var: make([]float32, n)}
	for i := range b.Gamma {
		b.Gamma[i]++
		b.Var[i] = float32(0.5 + r.Float64())
	}
	return b
}

func randAlpha(r *rand.Rand, n int) []float32 {
	a := make([]float32, n)
	for i := range a {
		a[i] = float32(0.25 + 0.1*r.NormFloat64())
	}
	return a
}
