package model

import (
	"fmt"
	"math/rand/v2"

	"nann/internal/vec"
	"nann/item"
	"nann/nn"
)

// Model holds the weights. Its layers are read-only during forward and
// backward passes, so any number of Workers and Scorers may use it at once
// while nobody updates the weights.
type Model struct {
	Cfg Config

	params, state nn.ParamSet

	ItemEmb, CateEmb *nn.Embedding
	ItemNet          *nn.MLP // concat(item, cate emb) → e_v
	Att              *nn.Attention
	ScoreNet         *nn.MLP // concat(att, e_v) → logit
}

// New builds a model with the reference's initialisers, seeded by seed.
// Parameters are created in a fixed order: embeddings, item network,
// attention (query then key side), score network.
func New(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 0x4e414e4e))
	m := &Model{Cfg: cfg}
	m.ItemEmb = nn.NewEmbedding(&m.params, r, "emb/item", cfg.NumItems, cfg.EmbDim)
	m.CateEmb = nn.NewEmbedding(&m.params, r, "emb/cate", cfg.NumCates, cfg.EmbDim)
	m.ItemNet = nn.NewMLP(&m.params, &m.state, r, "item_net", nn.MLPConfig{
		In: cfg.SeqWidth(), Hidden: cfg.ItemHidden, Out: cfg.ItemDim, OutBias: true, BiasInit: 0.1,
		Momentum: cfg.BNMomentum, Eps: cfg.BNEps,
	})
	m.Att = nn.NewAttention(&m.params, r, "attention", cfg.ItemDim, cfg.SeqWidth(), cfg.AttnHidden, cfg.AttnDim, cfg.MaskPadding)
	m.ScoreNet = nn.NewMLP(&m.params, &m.state, r, "score_net", nn.MLPConfig{
		In: cfg.SeqWidth() + cfg.ItemDim, Hidden: cfg.ScoreHidden, Out: 1, OutBias: false, BiasInit: 0.1,
		Momentum: cfg.BNMomentum, Eps: cfg.BNEps,
	})
	return m, nil
}

// Params returns the trainable parameters in their fixed order.
func (m *Model) Params() []*nn.Param { return m.params.List }

// State returns the non-trainable state: per BatchNorm layer (item network
// first, then score network) its moving mean and moving variance.
func (m *Model) State() []*nn.Param { return m.state.List }

// BatchNorms returns the BatchNorm layers in State order (State()[2i] and
// State()[2i+1] belong to BatchNorms()[i]).
func (m *Model) BatchNorms() []*nn.BatchNorm {
	return append(append([]*nn.BatchNorm(nil), m.ItemNet.BN...), m.ScoreNet.BN...)
}

// UpdateMovingAverages folds one step's batch statistics (as Worker.BNStats
// returns them, aligned with State) into the moving averages:
// moving = momentum·moving + (1−momentum)·batch.
func (m *Model) UpdateMovingAverages(stats [][]float32) error {
	if len(stats) != len(m.state.List) {
		return fmt.Errorf("model: %d BatchNorm statistics for %d state tensors", len(stats), len(m.state.List))
	}
	for i, p := range m.state.List {
		if len(stats[i]) != p.Len() {
			return fmt.Errorf("model: statistics for %s have %d values, want %d", p.Name, len(stats[i]), p.Len())
		}
	}
	mom := m.Cfg.BNMomentum
	for i, p := range m.state.List {
		for j, v := range stats[i] {
			p.W[j] = mom*p.W[j] + (1-mom)*v
		}
	}
	return nil
}

// checkIDs reports the first id outside [0, max] in ids.
func checkIDs(what string, ids []int32, max int) error {
	for i, id := range ids {
		if id < 0 || int(id) > max {
			return fmt.Errorf("%s[%d] = %d out of range [0, %d]", what, i, id, max)
		}
	}
	return nil
}

// itemChunk bounds the rows of one inference pass through the item network.
const itemChunk = 4096

// ItemEmbeddings runs the item network in inference mode (BatchNorm with
// moving averages) for items[i] with category cates[i] and writes the
// len(items)×ItemDim embeddings e_v to out. Safe for concurrent use.
func (m *Model) ItemEmbeddings(items []item.ID, cates []int32, out []float32) error {
	eo, sd := m.Cfg.ItemDim, m.Cfg.SeqWidth()
	if len(cates) != len(items) {
		return fmt.Errorf("model: %d items but %d categories", len(items), len(cates))
	}
	if len(out) < len(items)*eo {
		return fmt.Errorf("model: output holds %d values, need %d×%d", len(out), len(items), eo)
	}
	if err := checkIDs("items", item.Int32s(items), m.Cfg.NumItems); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if err := checkIDs("categories", cates, m.Cfg.NumCates); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	var gw vec.GemmWork
	var c nn.MLPCache
	x := make([]float32, min(itemChunk, len(items))*sd)
	for s := 0; s < len(items); s += itemChunk {
		n := min(itemChunk, len(items)-s)
		m.ItemEmb.Lookup(item.Int32s(items[s:s+n]), x, sd, 0)
		m.CateEmb.Lookup(cates[s:s+n], x, sd, m.Cfg.EmbDim)
		m.ItemNet.Forward(&gw, x, sd, n, false, &c, out[s*eo:(s+n)*eo], eo)
	}
	return nil
}

// SequenceEmbedding writes the user's SeqLen×SeqWidth behaviour-sequence
// embedding (concat(item emb, cate emb) per position, zero rows for padding)
// to out; a history shorter than SeqLen is right-padded.
func (m *Model) SequenceEmbedding(histItems []item.ID, histCates []int32, out []float32) error {
	l, sd := m.Cfg.SeqLen, m.Cfg.SeqWidth()
	switch {
	case len(histItems) != len(histCates):
		return fmt.Errorf("model: history has %d items but %d categories", len(histItems), len(histCates))
	case len(histItems) > l:
		return fmt.Errorf("model: history of %d positions exceeds max_len %d", len(histItems), l)
	case len(out) < l*sd:
		return fmt.Errorf("model: output holds %d values, need %d×%d", len(out), l, sd)
	}
	if err := checkIDs("history items", item.Int32s(histItems), m.Cfg.NumItems); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if err := checkIDs("history categories", histCates, m.Cfg.NumCates); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	n := len(histItems)
	m.ItemEmb.Lookup(item.Int32s(histItems), out, sd, 0)
	m.CateEmb.Lookup(histCates, out, sd, m.Cfg.EmbDim)
	clear(out[n*sd : l*sd])
	return nil
}

// AllItemEmbeddings returns the inference embeddings of every item by item
// row (NumItems×ItemDim); cates is each item's category by item row. This
// is the table a Scorer needs.
func (m *Model) AllItemEmbeddings(cates item.ByRow[int32]) ([]float32, error) {
	if len(cates) != m.Cfg.NumItems {
		return nil, fmt.Errorf("model: %d item categories for %d items", len(cates), m.Cfg.NumItems)
	}
	items := item.AllIDs(m.Cfg.NumItems)
	t := make([]float32, m.Cfg.NumItems*m.Cfg.ItemDim)
	if err := m.ItemEmbeddings(items, cates, t); err != nil {
		return nil, err
	}
	return t, nil
}
