package plan

import (
	"fmt"

	"nann/onnx"
)

// The user stage compiled: the nodes that compute the user values the
// pair stage reads, as a program of the same float32 kernels at batch 1,
// run by Bind without allocating. A user stage the kernels do not cover
// (say, an embedding Gather with ids from the user input) stays with the
// float64 interpreter; Plan.Stats reports which.

type userStage struct {
	pr     *program
	inputs []int // buffer per Contract.UserInputs entry
	outs   []int // buffer per Plan.userOut entry
}

// liveAll keeps the nodes that any of outs depends on.
func liveAll(nodes []*onnx.Node, outs []*onnx.Value) []*onnx.Node {
	need := map[*onnx.Value]bool{}
	for _, o := range outs {
		need[o] = true
	}
	keep := make([]bool, len(nodes))
	for i := len(nodes) - 1; i >= 0; i-- {
		for _, o := range nodes[i].Outputs {
			if o != nil && need[o] {
				keep[i] = true
			}
		}
		if keep[i] {
			for _, in := range nodes[i].Inputs {
				if in != nil {
					need[in] = true
				}
			}
		}
	}
	var res []*onnx.Node
	for i, n := range nodes {
		if keep[i] {
			res = append(res, n)
		}
	}
	return res
}

// compileUser compiles the user stage, or reports why it cannot.
func (p *Plan) compileUser() (*userStage, error) {
	c := &compiler{p: p, pr: &program{}, B: 1, stage: User, sizes: map[*onnx.Value]*onnx.Tensor{},
		val: map[*onnx.Value]int{}, bcast: map[*onnx.Value]int{}, userIdx: map[*onnx.Value]int{}, itemIdx: map[*onnx.Value]int{}, fused: map[*onnx.Node]bool{}}
	for v, t := range p.consts {
		c.sizes[v] = t
	}
	if err := p.sizesAt(1, c.sizes); err != nil {
		return nil, err
	}
	us := &userStage{pr: c.pr}
	for _, name := range p.c.UserInputs {
		v := p.g.Values[name]
		b := c.add(buf{kind: bPair, shape: v.Shape.At(1)})
		c.val[v] = b
		us.inputs = append(us.inputs, b)
	}
	for _, n := range liveAll(p.userNodes, p.userOut) {
		if c.fused[n] {
			continue
		}
		for _, in := range n.Inputs {
			if in != nil && !in.DType.IsFloat() && in.DType != onnx.Bool && c.constTensor(in) == nil {
				// Integer values (ids) are exact in float32 only below 2²⁴.
				return nil, &onnx.NodeError{Node: n, Err: fmt.Errorf("user stage: integer input %q is left to the interpreter", in.Name)}
			}
		}
		if err := c.node(n); err != nil {
			return nil, &onnx.NodeError{Node: n, Err: fmt.Errorf("user stage: %w", err)}
		}
	}
	if len(c.pr.bind) > 0 {
		return nil, fmt.Errorf("plan: internal error: the user stage has bind kernels")
	}
	for _, v := range p.userOut {
		b, ok := c.val[v]
		if !ok {
			if t := c.constTensor(v); t != nil {
				b = c.add(buf{kind: bConst, shape: append([]int{}, t.Shape...), data: t.Float32s()})
			} else {
				return nil, fmt.Errorf("plan: internal error: user value %q not computed", v.Name)
			}
		}
		if c.pr.bufs[b].size != numel(v.Shape.At(1)) {
			return nil, fmt.Errorf("plan: internal error: user value %q has %d values, want %v", v.Name, c.pr.bufs[b].size, v.Shape.At(1))
		}
		us.outs = append(us.outs, b)
	}
	return us, nil
}
