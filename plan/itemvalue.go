package plan

import (
	"fmt"

	"nann/onnx"
)

// ItemValue computes the value of g named name for every item of items
// (the item input of the whole corpus, leading dimension N) and returns it
// as [N, ...]. The binding-time analysis of the graph as exported (no
// rewrites, so every value the user can name exists) must prove the value
// item-only: computed from the item input and constants alone, with the
// batch as its leading dimension, row i depending on item i only (checked
// numerically on two items, as Compile checks its stage boundaries). This
// is what an import builds its index on when the index embedding is a
// value inside the graph (an item network over ids or features).
func ItemValue(g *onnx.Graph, c Contract, items *onnx.Tensor, name string) (*onnx.Tensor, error) {
	c, err := c.prepare(g)
	if err != nil {
		return nil, err
	}
	itemIn := g.Values[c.ItemInput]
	if err := checkItems(itemIn, items); err != nil {
		return nil, err
	}
	v := g.Values[name]
	if v == nil {
		return nil, fmt.Errorf("plan: value %q is not in the graph (name a graph input, initializer or node output; the item input is %q)", name, c.ItemInput)
	}
	lab := labelValues(g, c)
	from := producerName(v)
	if v.Const != nil && v.Producer == nil {
		from = "an initializer"
	}
	switch l := lab[v]; l {
	case Item:
	case Pair:
		return nil, fmt.Errorf("plan: value %q (from %s) depends on the user inputs %v as well as the item input %q: it is a pair value, not item-only", name, from, c.UserInputs, c.ItemInput)
	case User:
		return nil, fmt.Errorf("plan: value %q (from %s) depends on the user inputs %v, not on the item input %q: it is not item-only", name, from, c.UserInputs, c.ItemInput)
	default:
		return nil, fmt.Errorf("plan: value %q (from %s) depends on no input (%s): it is not item-only", name, from, l)
	}
	s := v.Shape
	if len(s) == 0 || s[0].Batch != 1 || s[0].Fixed != 0 {
		return nil, fmt.Errorf("plan: item value %q (from %s) has shape %s; its leading dimension must be the batch n (one row per item)", name, producerName(v), s)
	}
	for i, d := range s[1:] {
		if d.Batch != 0 {
			return nil, fmt.Errorf("plan: item value %q (from %s) has shape %s: dimension %d depends on the batch size", name, producerName(v), s, i+1)
		}
	}
	if v == itemIn {
		return items, nil
	}
	nodes := live(g.Nodes, v)
	run := func(lo, hi int) (*onnx.Tensor, error) {
		env := map[*onnx.Value]*onnx.Tensor{itemIn: rows(items, lo, hi)}
		for _, nd := range nodes {
			in := make([]*onnx.Tensor, len(nd.Inputs))
			for i, x := range nd.Inputs {
				if x == nil {
					continue
				}
				if in[i] = env[x]; in[i] == nil {
					in[i] = x.Const
				}
			}
			if err := apply(nd, in, env); err != nil {
				return nil, fmt.Errorf("plan: computing item value %q for items %d–%d: %w", name, lo, hi-1, err)
			}
		}
		return env[v], nil
	}
	n := items.Shape[0]
	if n >= 2 {
		pair, err := run(0, 2)
		if err != nil {
			return nil, err
		}
		a, err := run(0, 1)
		if err != nil {
			return nil, err
		}
		b, err := run(1, 2)
		if err != nil {
			return nil, err
		}
		if !same(append(append([]float64{}, a.Data...), b.Data...), pair.Data) {
			return nil, fmt.Errorf("plan: item value %q (from %s) computed for two items together differs from the two computed alone: it mixes rows", name, producerName(v))
		}
	}
	const chunk = 1024
	var out *onnx.Tensor
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		t, err := run(lo, hi)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = &onnx.Tensor{DType: t.DType, Shape: append([]int{n}, t.Shape[1:]...), Data: make([]float64, 0, n*(t.Len()/max(hi-lo, 1)))}
		}
		if t.Rank() == 0 || t.Shape[0] != hi-lo {
			return nil, fmt.Errorf("plan: item value %q has shape %v for %d items", name, t.Shape, hi-lo)
		}
		out.Data = append(out.Data, t.Data...)
	}
	if out == nil {
		return nil, fmt.Errorf("plan: no items to compute item value %q for", name)
	}
	return out, nil
}

// Resolve fills in the contract's defaults against g and checks its names
// against the graph, reporting every problem at once, as Compile does.
func (c Contract) Resolve(g *onnx.Graph) (Contract, error) { return c.resolve(g) }
