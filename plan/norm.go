package plan

import (
	"math"

	"nann/internal/vec"
	"nann/onnx"
)

// The LayerNorm pass of the pair stage: one vec.LayerNorm pass per block
// that normalises each row, applies a following exact GELU (the
// Div-Erf-Add-Mul-Mul chain torch exports for nn.GELU) and, where a
// one-output linear layer follows, writes the row's dot product with its
// weights instead of the row.

type lnKernel struct {
	src, dst, rows int
	p              vec.LayerNorm
}

func (k *lnKernel) run(st *state) { k.p.Rows(st.b[k.src], k.rows, st.b[k.dst]) }

// scalarOperand returns the value of nd's other operand (not v) if it is a
// one-element constant.
func (c *compiler) scalarOperand(nd *onnx.Node, v *onnx.Value) (float64, bool) {
	if len(nd.Inputs) != 2 {
		return 0, false
	}
	other := nd.Inputs[0]
	if other == v {
		other = nd.Inputs[1]
	} else if nd.Inputs[1] != v {
		return 0, false
	}
	t := c.constTensor(other)
	if t == nil || t.Len() != 1 {
		return 0, false
	}
	return t.Data[0], true
}

// soleReader returns v's only reader in the pair stage, nil if v has
// several, is the score, or is read by something that is not a pair node.
func (c *compiler) soleReader(v *onnx.Value, op ...string) *onnx.Node {
	if len(v.Users) != 1 || c.isScore(v) {
		return nil
	}
	nd := v.Users[0]
	if c.p.lab[nd.Outputs[0]] != c.stage {
		return nil
	}
	for _, o := range op {
		if nd.Op == o {
			return nd
		}
	}
	return nil
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Abs(b) }

// followingGELU matches y·(1 + erf(y/√2))·0.5 on y (y/√2 also as
// y·(1/√2), the final halving also as a division by 2) and returns the
// GELU's output and the chain's nodes.
func (c *compiler) followingGELU(y *onnx.Value) (*onnx.Value, []*onnx.Node) {
	if len(y.Users) != 2 || c.isScore(y) {
		return nil, nil
	}
	var scale, mul *onnx.Node
	for _, u := range y.Users {
		if c.p.lab[u.Outputs[0]] != c.stage {
			return nil, nil
		}
		x, ok := c.scalarOperand(u, y)
		switch {
		case ok && u.Op == "Div" && u.Inputs[0] == y && near(x, math.Sqrt2):
			scale = u
		case ok && u.Op == "Mul" && near(x, 1/math.Sqrt2):
			scale = u
		case u.Op == "Mul" && len(u.Inputs) == 2 && u.Inputs[0] != u.Inputs[1]:
			mul = u
		}
	}
	if scale == nil || mul == nil {
		return nil, nil
	}
	erf := c.soleReader(scale.Outputs[0], "Erf")
	if erf == nil {
		return nil, nil
	}
	add := c.soleReader(erf.Outputs[0], "Add")
	if add == nil {
		return nil, nil
	}
	if x, ok := c.scalarOperand(add, erf.Outputs[0]); !ok || x != 1 {
		return nil, nil
	}
	if c.soleReader(add.Outputs[0], "Mul") != mul {
		return nil, nil
	}
	half := c.soleReader(mul.Outputs[0], "Mul", "Div")
	if half == nil {
		return nil, nil
	}
	x, ok := c.scalarOperand(half, mul.Outputs[0])
	if !ok || !(half.Op == "Mul" && x == 0.5 || half.Op == "Div" && half.Inputs[0] == mul.Outputs[0] && x == 2) {
		return nil, nil
	}
	return half.Outputs[0], []*onnx.Node{scale, erf, add, mul, half}
}

// followingDot matches a product of v (rows × m) with a constant m×1
// weight (MatMul, or Gemm with a scalar bias), with an optional following
// scalar bias add, and returns the weights, the bias and the nodes.
func (c *compiler) followingDot(v *onnx.Value, m, rows int) ([]float32, float32, []*onnx.Node) {
	nx := c.soleReader(v, "MatMul", "Gemm")
	if nx == nil || nx.Inputs[0] != v {
		return nil, 0, nil
	}
	t := c.constTensor(nx.Input(1))
	if t == nil || t.Rank() != 2 || numel(nx.Outputs[0].Shape.At(c.B)) != rows {
		return nil, 0, nil
	}
	alpha, bias := 1.0, 0.0
	trans := false
	if nx.Op == "Gemm" {
		if attrInt(nx, "transA", 0) != 0 {
			return nil, 0, nil
		}
		trans = attrInt(nx, "transB", 0) != 0
		alpha = attrFloat(nx, "alpha", 1)
		if cv := nx.Input(2); cv != nil {
			ct := c.constTensor(cv)
			if ct == nil || ct.Len() != 1 {
				return nil, 0, nil
			}
			bias = attrFloat(nx, "beta", 1) * ct.Data[0]
		}
	}
	k, n := t.Shape[0], t.Shape[1]
	if trans {
		k, n = n, k
	}
	if k != m || n != 1 {
		return nil, 0, nil
	}
	w := make([]float32, m)
	for j := range w {
		w[j] = float32(alpha * t.Data[j]) // m×1 and 1×m hold the same values in order
	}
	nodes := []*onnx.Node{nx}
	if add := c.soleReader(nx.Outputs[0], "Add"); add != nil {
		if x, ok := c.scalarOperand(add, nx.Outputs[0]); ok && numel(add.Outputs[0].Shape.At(c.B)) == rows {
			bias += x
			nodes = append(nodes, add)
		}
	}
	return w, float32(bias), nodes
}
