package onnx

import (
	"errors"
	"fmt"
)

// opFunc computes a node's outputs from its inputs (nil where omitted).
type opFunc func(n *Node, in []*Tensor) ([]*Tensor, error)

// ops is the op table of the interpreter, by op type.
var ops map[string]opFunc

// SupportedOps lists the op types the interpreter knows, sorted.
func SupportedOps() []string {
	out := make([]string, 0, len(ops))
	for k := range ops {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

// Supported reports whether the interpreter knows the node's op.
func (n *Node) Supported() bool {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return false
	}
	_, ok := ops[n.Op]
	return ok
}

// Apply runs one node on its input tensors (nil for omitted inputs). Errors
// are *NodeError.
func (n *Node) Apply(in []*Tensor) ([]*Tensor, error) {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return nil, &NodeError{n, fmt.Errorf("%w: domain %q", ErrUnsupportedOp, n.Domain)}
	}
	f, ok := ops[n.Op]
	if !ok {
		return nil, &NodeError{n, fmt.Errorf("%w %q (nann supports %v)", ErrUnsupportedOp, n.Op, SupportedOps())}
	}
	out, err := f(n, in)
	if err != nil {
		return nil, &NodeError{n, err}
	}
	for _, t := range out {
		if t != nil && len(t.Data) != numel(t.Shape) {
			return nil, &NodeError{n, fmt.Errorf("internal error: output shape %v holds %d values", t.Shape, len(t.Data))}
		}
	}
	return out, nil
}

// CheckOps reports the nodes whose op the interpreter does not know (the
// first 20, and how many there are).
func (g *Graph) CheckOps() error {
	var errs []error
	bad := 0
	for _, n := range g.Nodes {
		if !n.Supported() {
			bad++
			if bad <= 20 {
				what := fmt.Errorf("%w %q", ErrUnsupportedOp, n.Op)
				if n.Domain != "" && n.Domain != "ai.onnx" {
					what = fmt.Errorf("%w %q of domain %q", ErrUnsupportedOp, n.Op, n.Domain)
				}
				errs = append(errs, &NodeError{n, what})
			}
		}
	}
	if bad == 0 {
		return nil
	}
	if bad > 20 {
		errs = append(errs, fmt.Errorf("onnx: %d nodes in all have unsupported ops", bad))
	}
	errs = append(errs, fmt.Errorf("onnx: supported ops: %v", SupportedOps()))
	return errors.Join(errs...)
}

// Run interprets the graph on inputs (by graph input name) and returns the
// graph outputs by name.
func (g *Graph) Run(inputs map[string]*Tensor) (map[string]*Tensor, error) {
	env, err := g.Eval(inputs)
	if err != nil {
		return nil, err
	}
	out := map[string]*Tensor{}
	for _, v := range g.Outputs {
		out[v.Name] = env[v]
	}
	return out, nil
}

// Eval interprets the graph and returns the tensor of every value.
func (g *Graph) Eval(inputs map[string]*Tensor) (map[*Value]*Tensor, error) {
	env := map[*Value]*Tensor{}
	for _, v := range g.Values {
		if v.Const != nil {
			env[v] = v.Const
		}
	}
	var errs []error
	for _, v := range g.Inputs {
		t, ok := inputs[v.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("onnx: graph input %q is not given", v.Name))
			continue
		}
		if err := checkInput(v, t); err != nil {
			errs = append(errs, err)
			continue
		}
		env[v] = t
	}
	for name := range inputs {
		if v, ok := g.Values[name]; !ok || v.Const != nil || v.Producer != nil {
			errs = append(errs, fmt.Errorf("onnx: %q is not a graph input", name))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, n := range g.Nodes {
		in := make([]*Tensor, len(n.Inputs))
		for i, v := range n.Inputs {
			if v != nil {
				in[i] = env[v]
			}
		}
		out, err := n.Apply(in)
		if err != nil {
			return nil, err
		}
		for i, v := range n.Outputs {
			if v == nil {
				continue
			}
			if i >= len(out) || out[i] == nil {
				if len(v.Users) > 0 || g.isOutput(v) {
					return nil, &NodeError{n, fmt.Errorf("output %d (%q) is not produced", i, v.Name)}
				}
				continue
			}
			env[v] = out[i]
		}
	}
	return env, nil
}

func (g *Graph) isOutput(v *Value) bool {
	for _, o := range g.Outputs {
		if o == v {
			return true
		}
	}
	return false
}

// checkInput checks a given tensor against the input's declared type and
// fixed dimensions.
func checkInput(v *Value, t *Tensor) error {
	if t == nil {
		return fmt.Errorf("onnx: graph input %q is nil", v.Name)
	}
	if len(t.Data) != numel(t.Shape) {
		return fmt.Errorf("onnx: graph input %q: shape %v but %d values", v.Name, t.Shape, len(t.Data))
	}
	if v.DType != Undefined && t.DType != v.DType {
		return fmt.Errorf("onnx: graph input %q is %s, the model declares %s", v.Name, t.DType, v.DType)
	}
	if v.Shape != nil {
		if len(v.Shape) != len(t.Shape) {
			return fmt.Errorf("onnx: graph input %q has shape %v, the model declares %v", v.Name, t.Shape, v.Shape)
		}
		for i, d := range v.Shape {
			if d.Batch == 0 && d.Fixed != t.Shape[i] {
				return fmt.Errorf("onnx: graph input %q has shape %v, the model declares %v", v.Name, t.Shape, v.Shape)
			}
		}
	}
	return nil
}
