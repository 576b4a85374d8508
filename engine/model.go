package engine

import (
	"errors"
	"fmt"
	"slices"

	"nann/model"
	"nann/nn"
)

// FromModel collects the inference tensors of a trained model by parameter
// name (trainable parameters and BatchNorm moving averages) into Weights.
// The tensors are shared, not copied: do not train m while the Weights are
// in use. The model must have the reference's layer structure (two hidden
// item layers, three hidden score layers whose widths are multiples of 8).
func FromModel(m *model.Model) (*Weights, error) {
	mc := m.Cfg
	var errs []error
	if len(mc.ItemHidden) != 2 {
		errs = append(errs, fmt.Errorf("engine: model has %d item hidden layers, the engine needs 2", len(mc.ItemHidden)))
	}
	if len(mc.ScoreHidden) != 3 {
		errs = append(errs, fmt.Errorf("engine: model has %d score hidden layers, the engine needs 3", len(mc.ScoreHidden)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c := Config{NumItems: mc.NumItems, NumCates: mc.NumCates, EmbDim: mc.EmbDim, SeqLen: mc.SeqLen,
		ItemHidden: [2]int{mc.ItemHidden[0], mc.ItemHidden[1]}, ItemDim: mc.ItemDim,
		AttnHidden: mc.AttnHidden, AttnDim: mc.AttnDim, ScoreHidden: [3]int{mc.ScoreHidden[0], mc.ScoreHidden[1], mc.ScoreHidden[2]},
		BNEps: mc.BNEps, MaskPadding: mc.MaskPadding}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	byName := map[string]*nn.Param{}
	for _, p := range slices.Concat(m.Params(), m.State()) {
		byName[p.Name] = p
	}
	g := &getter{byName: byName}
	w := &Weights{Config: c}
	w.ItemEmb = g.get("emb/item", c.NumItems+1, c.EmbDim)
	w.CateEmb = g.get("emb/cate", c.NumCates+1, c.EmbDim)
	in := c.SeqWidth()
	for i := 0; i < 2; i++ {
		w.Item[i] = g.dense(fmt.Sprintf("item_net/dense%d", i), in, c.ItemHidden[i], true)
		w.ItemBN[i] = g.bn(fmt.Sprintf("item_net/bn%d", i), c.ItemHidden[i])
		w.ItemAct[i] = g.get(fmt.Sprintf("item_net/prelu%d/alpha", i), c.ItemHidden[i])
		in = c.ItemHidden[i]
	}
	w.Item[2] = g.dense("item_net/dense2", in, c.ItemDim, true)
	w.Query[0] = g.dense("attention/query_dense0", c.ItemDim, c.AttnHidden, true)
	w.QueryAct = g.get("attention/query_prelu/alpha", c.AttnHidden)
	w.Query[1] = g.dense("attention/query_dense1", c.AttnHidden, c.AttnDim, true)
	w.Key[0] = g.dense("attention/key_dense0", c.SeqWidth(), c.AttnHidden, true)
	w.KeyAct = g.get("attention/key_prelu/alpha", c.AttnHidden)
	w.Key[1] = g.dense("attention/key_dense1", c.AttnHidden, c.AttnDim, true)
	in = c.SeqWidth() + c.ItemDim
	for i := 0; i < 3; i++ {
		w.Score[i] = g.dense(fmt.Sprintf("score_net/dense%d", i), in, c.ScoreHidden[i], true)
		w.ScoreBN[i] = g.bn(fmt.Sprintf("score_net/bn%d", i), c.ScoreHidden[i])
		w.ScoreAct[i] = g.get(fmt.Sprintf("score_net/prelu%d/alpha", i), c.ScoreHidden[i])
		in = c.ScoreHidden[i]
	}
	w.Score[3] = g.dense("score_net/dense3", in, 1, false)
	if err := errors.Join(g.errs...); err != nil {
		return nil, err
	}
	if err := w.Validate(); err != nil {
		return nil, err
	}
	return w, nil
}

// getter looks parameters up by name and checks their shapes, collecting
// every problem.
type getter struct {
	byName map[string]*nn.Param
	errs   []error
}

func (g *getter) get(name string, shape ...int) []float32 {
	p, ok := g.byName[name]
	if !ok {
		g.errs = append(g.errs, fmt.Errorf("engine: model has no parameter %q", name))
		return nil
	}
	if !slices.Equal(p.Shape, shape) || len(p.W) != p.Len() {
		g.errs = append(g.errs, fmt.Errorf("engine: model parameter %q has shape %v, want %v", name, p.Shape, shape))
		return nil
	}
	return p.W
}

func (g *getter) dense(name string, in, out int, bias bool) Dense {
	d := Dense{In: in, Out: out, W: g.get(name+"/kernel", in, out)}
	if bias {
		d.B = g.get(name+"/bias", out)
	} else if _, ok := g.byName[name+"/bias"]; ok {
		g.errs = append(g.errs, fmt.Errorf("engine: model parameter %q should not exist", name+"/bias"))
	}
	return d
}

func (g *getter) bn(name string, n int) BatchNorm {
	return BatchNorm{Gamma: g.get(name+"/gamma", n), Beta: g.get(name+"/beta", n),
		Mean: g.get(name+"/moving_mean", n), Var: g.get(name+"/moving_variance", n)}
}
