package onnx

import (
	"errors"
	"fmt"
)

// InferShapes sets the element type and shape of every value. The graph
// inputs must declare their rank and dimensions; a symbolic (dim_param)
// dimension is the batch size n and may appear only as the leading
// dimension. Shapes are found by running the interpreter on zero inputs at
// three batch sizes and fitting each dimension as Batch·n + Fixed, so the
// inference is exactly the semantics the interpreter implements, including
// shape arithmetic (Shape, Gather, Concat, Reshape chains) that torch
// exports for dynamic batch axes. A dimension that is not affine in n, or
// a value whose rank changes with n, is an error naming its node.
func (g *Graph) InferShapes() error {
	return g.inferShapes()
}

// maxInferElems caps the inputs shape inference runs on.
var maxInferElems int64 = 1 << 24

func (g *Graph) inferShapes() error {
	var errs []error
	for _, v := range g.Inputs {
		if v.Shape == nil {
			errs = append(errs, fmt.Errorf("onnx: graph input %q declares no shape", v.Name))
			continue
		}
		if v.DType == Undefined {
			errs = append(errs, fmt.Errorf("onnx: graph input %q declares no element type", v.Name))
		}
		for i, d := range v.Shape {
			if d.Batch != 0 && i != 0 {
				errs = append(errs, fmt.Errorf("onnx: graph input %q: dimension %d (%s) is symbolic; only the leading (batch) dimension may be", v.Name, i, d))
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	total := 0
	for _, v := range g.Inputs {
		dims := make([]int64, len(v.Shape))
		for i, d := range v.Shape.At(5) {
			dims[i] = int64(d)
		}
		k, err := checkedNumel(dims, maxInferElems)
		if err != nil {
			return fmt.Errorf("onnx: shape inference: graph input %q: %w", v.Name, err)
		}
		total += k
	}
	if int64(total) > maxInferElems {
		return fmt.Errorf("onnx: shape inference: the inputs of 5 rows have %d values, more than %d", total, maxInferElems)
	}
	sizes := []int{2, 3, 5}
	runs := make([]map[*Value]*Tensor, len(sizes))
	for k, n := range sizes {
		in := map[string]*Tensor{}
		for _, v := range g.Inputs {
			in[v.Name] = NewTensor(v.DType, v.Shape.At(n)...)
		}
		env, err := g.Eval(in)
		if err != nil {
			return fmt.Errorf("onnx: shape inference at batch size %d: %w", n, err)
		}
		runs[k] = env
	}
	for _, n := range g.Nodes {
		for _, v := range n.Outputs {
			if v == nil {
				continue
			}
			t2, t3, t5 := runs[0][v], runs[1][v], runs[2][v]
			if t2 == nil || t3 == nil || t5 == nil {
				continue // an optional output not produced
			}
			if t2.Rank() != t3.Rank() || t2.Rank() != t5.Rank() {
				errs = append(errs, &NodeError{n, fmt.Errorf("output %q has rank %d at batch 2 but %d at batch 3: its rank depends on the batch size", v.Name, t2.Rank(), t3.Rank())})
				continue
			}
			s := make(Shape, t2.Rank())
			for i := range s {
				a := t3.Shape[i] - t2.Shape[i]
				b := t2.Shape[i] - 2*a
				if a*5+b != t5.Shape[i] || a < 0 {
					errs = append(errs, &NodeError{n, fmt.Errorf("output %q dimension %d is %d, %d, %d at batch 2, 3, 5: not a multiple of the batch size plus a constant", v.Name, i, t2.Shape[i], t3.Shape[i], t5.Shape[i])})
				}
				s[i] = Dim{Batch: a, Fixed: b}
			}
			v.DType, v.Shape = t2.DType, s
		}
	}
	return errors.Join(errs...)
}
