package model

import (
	"errors"
	"fmt"
	"math"

	"nann/item"
	"nann/nn"
	"nann/onnx"
	"nann/onnx/onnxpb"
)

// ONNXInputs selects the inputs of the ONNX export (nann's import contract,
// the same names and meanings as python/nann_torch/export.py writes).
type ONNXInputs string

const (
	// ONNXCommSeq: user input comm_seq float32 [n, SeqLen, SeqWidth] (the
	// behaviour-sequence embedding, zero rows for padding), item input
	// item_emb float32 [n, ItemDim] (e_v, the rows of item_embs.npy the
	// index is built on). export.py's default.
	ONNXCommSeq ONNXInputs = "comm_seq"
	// ONNXHistIDs: user inputs hist_items and hist_cates int64 [n, SeqLen]
	// (dense ids, 0 for padding) with the embedding Gather inside the
	// graph; item input item_emb as ONNXCommSeq. export.py's "ids".
	ONNXHistIDs ONNXInputs = "ids"
	// ONNXItemIDs: user inputs as ONNXHistIDs; item input item_id int64 [n]
	// (the dense item id), with the item's category table, the embedding
	// Gathers and the item network inside the graph. e_v is the value
	// named item_vec ([n, ItemDim]), the item-only value an import builds
	// its index on (nann import --index-embedding item_vec).
	ONNXItemIDs ONNXInputs = "item_ids"
)

// Names of the export's graph inputs, outputs and the e_v value.
const (
	ONNXCommSeqInput   = "comm_seq"
	ONNXHistItemsInput = "hist_items"
	ONNXHistCatesInput = "hist_cates"
	ONNXItemEmbInput   = "item_emb"
	ONNXItemIDInput    = "item_id"
	ONNXItemVec        = "item_vec"
	ONNXScoreOutput    = "score"
)

// ONNXOpset is the opset the export writes.
const ONNXOpset = 13

// ONNXOptions controls Model.ONNX.
type ONNXOptions struct {
	// Inputs selects the graph inputs (default ONNXCommSeq).
	Inputs ONNXInputs
	// ItemCates is the dense category of each item, indexed by item row
	// (NumItems values, as AllItemEmbeddings takes them); needed by
	// ONNXItemIDs only.
	ItemCates item.ByRow[int32]
	// ProducerVersion is written as the model's producer_version.
	ProducerVersion string
}

// Validate reports every problem at once.
func (o ONNXOptions) Validate(cfg Config) error {
	var errs []error
	switch o.Inputs {
	case "", ONNXCommSeq, ONNXHistIDs:
	case ONNXItemIDs:
		if len(o.ItemCates) != cfg.NumItems {
			errs = append(errs, fmt.Errorf("model: onnx export: %d item categories for %d items", len(o.ItemCates), cfg.NumItems))
		} else if err := checkIDs("item categories", o.ItemCates, cfg.NumCates); err != nil {
			errs = append(errs, fmt.Errorf("model: onnx export: %w", err))
		}
	default:
		errs = append(errs, fmt.Errorf("model: onnx export: inputs %q not one of %q, %q, %q", o.Inputs, ONNXCommSeq, ONNXHistIDs, ONNXItemIDs))
	}
	return errors.Join(errs...)
}

// ONNX writes the inference scoring network (BatchNorm with the moving
// averages, no log-Q) as an ONNX graph in nann's import contract: for a
// batch of n (user, item) pairs it outputs score float32 [n], the logit
// Scorer computes. Dense layers become Gemm (MatMul+Add over the [n, L, ·]
// sequence), BatchNorm BatchNormalization, PReLU PRelu, the attention
// MatMul/Softmax as torch.onnx writes SPEC §2's network.
func (m *Model) ONNX(o ONNXOptions) (*onnxpb.ModelProto, error) {
	cfg := m.Cfg
	if err := o.Validate(cfg); err != nil {
		return nil, err
	}
	if o.Inputs == "" {
		o.Inputs = ONNXCommSeq
	}
	e := &onnxWriter{b: onnx.NewBuilder("nann_score", ONNXOpset)}
	b := e.b
	l, sw := cfg.SeqLen, cfg.SeqWidth()

	// User side: the behaviour sequence [n, L, sw].
	var seq, valid string
	if o.Inputs == ONNXCommSeq {
		seq = b.Input(ONNXCommSeqInput, onnx.Float32, onnx.Batch, l, sw)
	} else {
		hi := b.Input(ONNXHistItemsInput, onnx.Int64, onnx.Batch, l)
		hc := b.Input(ONNXHistCatesInput, onnx.Int64, onnx.Batch, l)
		b.Scope("/emb")
		seq = b.Node("Concat", "", []string{e.lookup(m.ItemEmb, "emb.item", hi), e.lookup(m.CateEmb, "emb.cate", hc)}, onnx.IntAttr("axis", -1))
		if cfg.MaskPadding {
			// BindIDs: a position is valid where its item id is not 0.
			b.Scope("/mask")
			nz := b.Node("Not", "", []string{b.Node("Equal", "", []string{hi, b.Int64("", []int64{0})})})
			valid = b.Node("Cast", "", []string{nz}, onnx.IntAttr("to", int64(onnx.Float32)))
		}
	}
	if cfg.MaskPadding && valid == "" {
		// BindSeq: a position is valid where its comm_seq row is not all zero.
		b.Scope("/mask")
		nz := b.Node("Not", "", []string{b.Node("Equal", "", []string{seq, b.Float32("", []float32{0})})})
		valid = b.Node("ReduceMax", "", []string{b.Node("Cast", "", []string{nz}, onnx.IntAttr("to", int64(onnx.Float32)))},
			onnx.IntsAttr("axes", -1), onnx.IntAttr("keepdims", 0))
	}

	// Item side: e_v [n, ItemDim].
	var ev string
	if o.Inputs == ONNXItemIDs {
		id := b.Input(ONNXItemIDInput, onnx.Int64, onnx.Batch)
		cates := make(item.ByID[int64], cfg.NumItems+1) // the id-indexed table the graph gathers from
		for r, c := range o.ItemCates {
			cates[item.Row(r).ID()] = int64(c)
		}
		b.Scope("/item")
		cate := b.Node("Gather", "", []string{b.Int64("item.cate", cates, len(cates)), id}, onnx.IntAttr("axis", 0))
		x := b.Node("Concat", "", []string{e.lookup(m.ItemEmb, "emb.item", id), e.lookup(m.CateEmb, "emb.cate", cate)}, onnx.IntAttr("axis", -1))
		ev = e.mlp(m.ItemNet, "item_net", x, ONNXItemVec)
	} else {
		ev = b.Input(ONNXItemEmbInput, onnx.Float32, onnx.Batch, cfg.ItemDim)
	}

	// Attention: keys per position, the query from e_v, softmax over L.
	a := m.Att
	b.Scope("/attention")
	k := e.dense3(a.K1, "attention.key_dense0", seq)
	k = e.prelu(a.KAct, "attention.key_prelu", k)
	k = e.dense3(a.K2, "attention.key_dense1", k)
	q := e.dense2(a.Q1, "attention.query_dense0", ev, "")
	q = e.prelu(a.QAct, "attention.query_prelu", q)
	q = e.dense2(a.Q2, "attention.query_dense1", q, "")
	b.Scope("/attention")
	last, second := b.Int64("", []int64{-1}, 1), b.Int64("", []int64{1}, 1)
	s := b.Node("Squeeze", "", []string{b.Node("MatMul", "", []string{k, b.Node("Unsqueeze", "", []string{q, last})}), last})
	s = b.Node("Div", "", []string{s, b.Float32("", []float32{float32(math.Sqrt(float64(a.Dim)))})})
	if valid != "" {
		// Masked positions: −1e9 before the softmax, then weight 0 (a
		// user with no valid position attends to nothing).
		pen := b.Node("Mul", "", []string{b.Node("Sub", "", []string{valid, b.Float32("", []float32{1})}), b.Float32("", []float32{1e9})})
		s = b.Node("Add", "", []string{s, pen})
	}
	w := b.Node("Softmax", "", []string{s}, onnx.IntAttr("axis", -1))
	if valid != "" {
		w = b.Node("Mul", "", []string{w, valid})
	}
	att := b.Node("Squeeze", "", []string{b.Node("MatMul", "", []string{b.Node("Unsqueeze", "", []string{w, second}), seq}), second})

	// Score network on concat(attention, e_v).
	b.Scope("")
	z := b.Node("Concat", "", []string{att, ev}, onnx.IntAttr("axis", 1))
	logit := e.mlp(m.ScoreNet, "score_net", z, "")
	b.Node("Squeeze", ONNXScoreOutput, []string{logit, second})
	b.Output(ONNXScoreOutput, onnx.Float32, onnx.Batch)
	if e.err != nil {
		return nil, e.err
	}
	return b.Model(o.ProducerVersion)
}

// onnxWriter writes nann's layers as ONNX nodes, initializers named after
// the parameters with "/" replaced by "." (as python/nann_torch names them).
type onnxWriter struct {
	b      *onnx.Builder
	tables map[*nn.Embedding]string
	err    error
}

func (e *onnxWriter) param(name string, p *nn.Param) string {
	return e.b.Float32(name, p.W, p.Shape...)
}

// lookup gathers rows of an embedding table (row 0, the padding id, stored
// as zeros: nann looks it up as zeros whatever it holds).
func (e *onnxWriter) lookup(t *nn.Embedding, name, ids string) string {
	if e.tables == nil {
		e.tables = map[*nn.Embedding]string{}
	}
	tab, ok := e.tables[t]
	if !ok {
		w := append([]float32(nil), t.Table.W...)
		clear(w[:t.Dim])
		tab = e.b.Float32(name, w, t.Num+1, t.Dim)
		e.tables[t] = tab
	}
	return e.b.Node("Gather", "", []string{tab, ids}, onnx.IntAttr("axis", 0))
}

// dense2 is a Dense on [n, In] rows: Gemm (MatMul without a bias).
func (e *onnxWriter) dense2(d *nn.Dense, name, x, out string) string {
	w := e.param(name+".kernel", d.W)
	if d.B == nil {
		return e.b.Node("MatMul", out, []string{x, w})
	}
	return e.b.Node("Gemm", out, []string{x, w, e.param(name+".bias", d.B)})
}

// dense3 is a Dense on [n, L, In]: MatMul then Add.
func (e *onnxWriter) dense3(d *nn.Dense, name, x string) string {
	y := e.b.Node("MatMul", "", []string{x, e.param(name+".kernel", d.W)})
	if d.B == nil {
		return y
	}
	return e.b.Node("Add", "", []string{y, e.param(name+".bias", d.B)})
}

func (e *onnxWriter) prelu(p *nn.PReLU, name, x string) string {
	return e.b.Node("PRelu", "", []string{x, e.param(name+".alpha", p.Alpha)})
}

// mlp writes hidden blocks Gemm → BatchNormalization (moving averages) →
// PRelu and the final Dense, whose output is named out ("" generated).
func (e *onnxWriter) mlp(p *nn.MLP, name, x, out string) string {
	e.b.Scope("/" + name)
	for i, d := range p.Dense {
		x = e.dense2(d, fmt.Sprintf("%s.dense%d", name, i), x, "")
		bn, bname := p.BN[i], fmt.Sprintf("%s.bn%d", name, i)
		x = e.b.Node("BatchNormalization", "", []string{x, e.param(bname+".gamma", bn.Gamma), e.param(bname+".beta", bn.Beta),
			e.param(bname+".moving_mean", bn.MovingMean), e.param(bname+".moving_variance", bn.MovingVar)},
			onnx.FloatAttr("epsilon", float64(bn.Eps)))
		x = e.prelu(p.Act[i], fmt.Sprintf("%s.prelu%d", name, i), x)
	}
	return e.dense2(p.Out, fmt.Sprintf("%s.dense%d", name, len(p.Dense)), x, out)
}
