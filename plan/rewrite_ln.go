package plan

import (
	"nann/onnx"
)

// layerNorm: the LayerNorm that torch exports below opset 17 as
// ReduceMean, Sub, Pow 2, ReduceMean, Add ε, Sqrt, Div, Mul γ, Add β over
// the last axis becomes one LayerNormalization node (axis −1, epsilon ε),
// which the pair stage runs as one pass (with a following GELU fused).

// reduceAxes returns a ReduceMean's axes and keepdims.
func reduceAxes(n *onnx.Node) ([]int64, bool) {
	if n.Opset >= 18 {
		if v := n.Input(1); v != nil {
			if !isConst(v) {
				return nil, false
			}
			return v.Const.Ints(), getInt(n, "keepdims", 1) != 0
		}
		return nil, false
	}
	a, ok := n.Attrs["axes"]
	if !ok {
		return nil, false
	}
	return a.Ints, getInt(n, "keepdims", 1) != 0
}

// lastAxisMean reports whether v = ReduceMean(x, last axis, keepdims) and
// returns x.
func lastAxisMean(v *onnx.Value) *onnx.Value {
	p := v.Producer
	if p == nil || p.Op != "ReduceMean" {
		return nil
	}
	axes, keep := reduceAxes(p)
	x := p.Inputs[0]
	if !keep || len(axes) != 1 || len(x.Shape) == 0 || (axes[0] != -1 && axes[0] != int64(len(x.Shape)-1)) {
		return nil
	}
	return x
}

// constOperand splits a two-input node into its non-constant and constant
// operands (commutative ops only).
func constOperand(n *onnx.Node) (x, c *onnx.Value) {
	if len(n.Inputs) != 2 {
		return nil, nil
	}
	a, b := n.Inputs[0], n.Inputs[1]
	if isConst(a) && !isConst(b) {
		a, b = b, a
	}
	if !isConst(b) || isConst(a) {
		return nil, nil
	}
	return a, b
}

func (r *rewriter) layerNorm(n *onnx.Node) []*onnx.Node {
	if n.Op != "Add" {
		return nil
	}
	mulOut, beta := constOperand(n)
	if mulOut == nil || mulOut.Producer == nil || mulOut.Producer.Op != "Mul" || !soleUser(mulOut, mulOut.Users[0]) {
		return nil
	}
	divOut, gamma := constOperand(mulOut.Producer)
	if divOut == nil || divOut.Producer == nil || divOut.Producer.Op != "Div" || len(divOut.Users) != 1 {
		return nil
	}
	div := divOut.Producer
	sub, sq := div.Inputs[0], div.Inputs[1]
	if sq.Producer == nil || sq.Producer.Op != "Sqrt" || len(sq.Users) != 1 {
		return nil
	}
	addEps := sq.Producer.Inputs[0]
	if addEps.Producer == nil || addEps.Producer.Op != "Add" || len(addEps.Users) != 1 {
		return nil
	}
	varV, epsV := constOperand(addEps.Producer)
	if varV == nil || epsV.Const.Len() != 1 || len(varV.Users) != 1 {
		return nil
	}
	pw := lastAxisMean(varV)
	if pw == nil || pw.Producer == nil || pw.Producer.Op != "Pow" || len(pw.Users) != 1 {
		return nil
	}
	if e := pw.Producer.Input(1); !isConst(e) || e.Const.Len() != 1 || e.Const.Data[0] != 2 || pw.Producer.Inputs[0] != sub {
		return nil
	}
	if sub.Producer == nil || sub.Producer.Op != "Sub" || len(sub.Users) != 2 {
		return nil
	}
	x, mean := sub.Producer.Inputs[0], sub.Producer.Inputs[1]
	if lastAxisMean(mean) != x || len(mean.Users) != 1 || !x.DType.IsFloat() {
		return nil
	}
	// γ and β: one value per element of the last axis.
	c := x.Shape[len(x.Shape)-1]
	if c.Batch != 0 {
		return nil
	}
	for _, p := range []*onnx.Value{gamma, beta} {
		t := p.Const
		if t.Len() != c.Fixed || (t.Rank() > 0 && t.Shape[t.Rank()-1] != c.Fixed) {
			return nil
		}
	}
	flat := func(v *onnx.Value) *onnx.Value {
		t := v.Const
		return r.constant(n.Name+"/ln", &onnx.Tensor{DType: onnx.Float32, Shape: []int{c.Fixed}, Data: t.Data})
	}
	attrs := map[string]*onnx.Attr{
		"axis":    {Name: "axis", Kind: onnx.AttrInt, I: -1},
		"epsilon": {Name: "epsilon", Kind: onnx.AttrFloat, F: epsV.Const.Data[0]},
	}
	return []*onnx.Node{r.node("LayerNormalization", n.Name+"/layernorm", n.Outputs[0], attrs, x, flat(gamma), flat(beta))}
}
