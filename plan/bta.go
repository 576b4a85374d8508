// Package plan compiles an ONNX scoring network (package onnx) into a
// scoring plan that splits the work by what it depends on: values that
// depend on the user alone are computed once per query, values that depend
// on the item alone once for the whole corpus (stored as tables), and only
// the values that depend on both — the pair stage — run per candidate, in
// float32, batched over blocks of candidates.
package plan

import (
	"errors"
	"fmt"

	"nann/onnx"
)

// Label is the binding time of a value: what it depends on.
type Label int

// Labels, ordered: a node's label is the join of its inputs' labels
// (User ⊔ Item = Pair).
const (
	Const Label = iota // depends on nothing: folded at compile time
	Size               // depends on the batch size only (Shape arithmetic)
	User               // on the user-side inputs (and the batch size)
	Item               // on the item-side input
	Pair               // on both
)

func (l Label) String() string {
	return [...]string{"const", "size", "user", "item", "pair"}[l]
}

func join(a, b Label) Label {
	if a == b {
		return a
	}
	if (a == User && b == Item) || (a == Item && b == User) {
		return Pair
	}
	return max(a, b)
}

// Contract names the model's roles.
type Contract struct {
	// UserInputs are the graph inputs that are the same for every pair of a
	// query (default: every input but the item input).
	UserInputs []string
	// ItemInput is the graph input that differs per item (default: the
	// only input not listed in UserInputs, else one named "item*").
	ItemInput string
	// ScoreOutput is the score (default: the only graph output); its shape
	// must be [n] or [n, 1].
	ScoreOutput string
}

// resolve fills in defaults and checks the names against the graph,
// reporting every problem at once.
func (c Contract) resolve(g *onnx.Graph) (Contract, error) {
	var errs []error
	inputs := map[string]*onnx.Value{}
	for _, v := range g.Inputs {
		inputs[v.Name] = v
	}
	if c.ScoreOutput == "" {
		if len(g.Outputs) != 1 {
			errs = append(errs, fmt.Errorf("plan: the graph has %d outputs; name the score output", len(g.Outputs)))
		} else {
			c.ScoreOutput = g.Outputs[0].Name
		}
	} else if !isOutput(g, c.ScoreOutput) {
		errs = append(errs, fmt.Errorf("plan: score output %q is not a graph output (outputs: %v)", c.ScoreOutput, names(g.Outputs)))
	}
	if c.ItemInput == "" {
		var rest []string
		listed := map[string]bool{}
		for _, u := range c.UserInputs {
			listed[u] = true
		}
		for _, v := range g.Inputs {
			if !listed[v.Name] {
				rest = append(rest, v.Name)
			}
		}
		if len(rest) == 1 {
			c.ItemInput = rest[0]
		} else {
			errs = append(errs, fmt.Errorf("plan: cannot tell the item input among %v; name it", rest))
		}
	} else if inputs[c.ItemInput] == nil {
		errs = append(errs, fmt.Errorf("plan: item input %q is not a graph input (inputs: %v)", c.ItemInput, names(g.Inputs)))
	}
	if c.UserInputs == nil && c.ItemInput != "" {
		for _, v := range g.Inputs {
			if v.Name != c.ItemInput {
				c.UserInputs = append(c.UserInputs, v.Name)
			}
		}
	}
	seen := map[string]bool{c.ItemInput: true}
	for _, u := range c.UserInputs {
		if inputs[u] == nil {
			errs = append(errs, fmt.Errorf("plan: user input %q is not a graph input (inputs: %v)", u, names(g.Inputs)))
		}
		if seen[u] {
			errs = append(errs, fmt.Errorf("plan: input %q is named twice in the contract", u))
		}
		seen[u] = true
	}
	for _, v := range g.Inputs {
		if !seen[v.Name] {
			errs = append(errs, fmt.Errorf("plan: graph input %q is neither a user input nor the item input", v.Name))
		}
	}
	return c, errors.Join(errs...)
}

func isOutput(g *onnx.Graph, name string) bool {
	for _, o := range g.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

func names(vs []*onnx.Value) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Name
	}
	return out
}

// labelValues does the binding-time analysis.
func labelValues(g *onnx.Graph, c Contract) map[*onnx.Value]Label {
	lab := map[*onnx.Value]Label{}
	for _, v := range g.Values {
		if v.Const != nil {
			lab[v] = Const
		}
	}
	for _, u := range c.UserInputs {
		lab[g.Values[u]] = User
	}
	lab[g.Values[c.ItemInput]] = Item
	for _, n := range g.Nodes {
		l := Const
		for _, in := range n.Inputs {
			if in != nil {
				l = join(l, lab[in])
			}
		}
		if n.Op == "Shape" && l != Const {
			// Shapes are known statically for any batch size.
			l = Size
		}
		for _, o := range n.Outputs {
			if o != nil {
				lab[o] = l
			}
		}
	}
	return lab
}
