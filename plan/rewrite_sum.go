package plan

import (
	"slices"

	"nann/onnx"
)

// Rewrites of sums with pair terms and of pair-user contractions (run
// after those of rewrite.go):
//   - regroupSum: a tree of Adds whose result is a pair value is regrouped
//     as ((P + U) + I) + …: the user and constant terms summed into one
//     user value (a bias computed once per query), the item terms into one
//     item value (one table), so that the pair stage's product takes both
//     in its tile epilogue. Where terms are (u ⊙ q)·W — the product of a
//     user value u [n, L, d] and an item value q [n, 1, d], times a
//     constant W [d, h] (a DIN unit's q·k part) — and q·A (the unit's q
//     part), the rows t of the result are q·(diag(u_t)·W + A): one
//     per-query matrix M [d, L·h] stacked over the positions, computed at
//     Bind, and the pair stage becomes a single product of the candidates'
//     q rows with M, the user terms its bias.
//   - poolToMatMul: ReduceSum(a ⊙ u, axis 1) for a pair value a [n, L, 1]
//     and a user value u [n, L, d] (attention-weighted pooling) becomes
//     the product a′·u with a′ = a viewed as [n, 1, L], so that the
//     reassociate rewrite can move a following weight onto u.

func (r *rewriter) isOutput(v *onnx.Value) bool {
	return slices.Contains(r.g.Outputs, v)
}

// sameShape compares shapes by their sizes (not dim_param names).
func sameShape(a, b onnx.Shape) bool {
	return slices.EqualFunc(a, b, func(x, y onnx.Dim) bool { return x.Batch == y.Batch && x.Fixed == y.Fixed })
}

func (r *rewriter) int64s(base string, xs ...int64) *onnx.Value {
	t := &onnx.Tensor{DType: onnx.Int64, Shape: []int{len(xs)}, Data: make([]float64, len(xs))}
	for i, x := range xs {
		t.Data[i] = float64(x)
	}
	return r.constant(base, t)
}

// bilinearTerm matches leaf = MatMul(Mul(u, q), W) with u a user value
// [n, L, d], q an item value [n, 1, d] and W a constant [d, h].
func (r *rewriter) bilinearTerm(leaf *onnx.Value) (q, u *onnx.Value, w *onnx.Tensor, ok bool) {
	p := leaf.Producer
	if p == nil || p.Op != "MatMul" || !isConst(p.Input(1)) || p.Input(1).Const.Rank() != 2 || !soleUser(leaf, leaf.Users[0]) {
		return nil, nil, nil, false
	}
	x := p.Inputs[0]
	m := x.Producer
	if m == nil || m.Op != "Mul" || len(m.Inputs) != 2 || !soleUser(x, p) {
		return nil, nil, nil, false
	}
	u, q = m.Inputs[0], m.Inputs[1]
	if r.lab[u] == Item {
		u, q = q, u
	}
	if r.lab[u] != User || r.lab[q] != Item || !u.DType.IsFloat() || !q.DType.IsFloat() {
		return nil, nil, nil, false
	}
	w = p.Input(1).Const
	d := w.Shape[0]
	xs := x.Shape
	if len(xs) != 3 || !sameShape(xs, onnx.Shape{{Batch: 1}, {Fixed: xs[1].Fixed}, {Fixed: d}}) ||
		!sameShape(u.Shape, xs) || !sameShape(q.Shape, onnx.Shape{{Batch: 1}, {Fixed: 1}, {Fixed: d}}) {
		return nil, nil, nil, false
	}
	return q, u, w, true
}

// linearTerm matches leaf = MatMul(q, A) with q an item value [n, 1, d]
// and A a constant [d, h].
func (r *rewriter) linearTerm(leaf *onnx.Value) (q *onnx.Value, a *onnx.Tensor, ok bool) {
	p := leaf.Producer
	if p == nil || p.Op != "MatMul" || !isConst(p.Input(1)) || p.Input(1).Const.Rank() != 2 {
		return nil, nil, false
	}
	q, a = p.Inputs[0], p.Input(1).Const
	if r.lab[q] != Item || !sameShape(q.Shape, onnx.Shape{{Batch: 1}, {Fixed: 1}, {Fixed: a.Shape[0]}}) {
		return nil, nil, false
	}
	return q, a, true
}

func (r *rewriter) regroupSum(n *onnx.Node) []*onnx.Node {
	if n.Op != "Add" || len(n.Inputs) != 2 || r.lab[n.Outputs[0]] != Pair {
		return nil
	}
	out := n.Outputs[0]
	if len(out.Users) == 1 && out.Users[0].Op == "Add" && !r.isOutput(out) {
		return nil // an inner node of a larger sum
	}
	var leaves []*onnx.Value
	var flatten func(v *onnx.Value, top bool)
	flatten = func(v *onnx.Value, top bool) {
		if p := v.Producer; p != nil && p.Op == "Add" && len(p.Inputs) == 2 && r.lab[v] == Pair && (top || len(v.Users) == 1 && !r.isOutput(v)) {
			flatten(p.Inputs[0], false)
			flatten(p.Inputs[1], false)
			return
		}
		leaves = append(leaves, v)
	}
	flatten(out, true)
	var user, item, pair []*onnx.Value
	type group struct {
		q    *onnx.Value
		us   []*onnx.Value
		ws   []*onnx.Tensor
		bl   []*onnx.Value // the bilinear leaves
		lin  []*onnx.Value
		as   []*onnx.Tensor
		l, h int
	}
	var groups []*group
	find := func(q *onnx.Value) *group {
		for _, g := range groups {
			if g.q == q {
				return g
			}
		}
		g := &group{q: q}
		groups = append(groups, g)
		return g
	}
	var linear []*onnx.Value
	for _, v := range leaves {
		switch r.lab[v] {
		case Const, User:
			user = append(user, v)
		case Item:
			linear = append(linear, v)
		default:
			if q, u, w, ok := r.bilinearTerm(v); ok {
				g := find(q)
				l, h := u.Shape[1].Fixed, w.Shape[1]
				if len(g.us) > 0 && (g.l != l || g.h != h) {
					pair = append(pair, v)
					continue
				}
				g.us, g.ws, g.bl, g.l, g.h = append(g.us, u), append(g.ws, w), append(g.bl, v), l, h
				continue
			}
			pair = append(pair, v)
		}
	}
	for _, v := range linear {
		if q, a, ok := r.linearTerm(v); ok {
			for _, g := range groups {
				if g.q == q && a.Shape[1] == g.h {
					g.lin, g.as = append(g.lin, v), append(g.as, a)
					v = nil
					break
				}
			}
		}
		if v != nil {
			item = append(item, v)
		}
	}
	// The bilinear group applies where the sum has the unit's shape and
	// the user terms broadcast into it.
	var g *group
	if len(groups) > 0 {
		g = groups[0]
		for _, other := range groups[1:] {
			pair = append(pair, other.bl...)
			item = append(item, other.lin...)
		}
		want := []int{2, g.l, g.h}
		ok := slices.Equal(out.Shape.At(2), want)
		for _, u := range user {
			if got, err := onnx.BroadcastShapes(u.Shape.At(2), want); err != nil || !slices.Equal(got, want) || len(u.Shape) > 3 || (len(u.Shape) == 3 && u.Shape[0].Batch == 0 && u.Shape[0].Fixed != 1) {
				ok = false
			}
		}
		if !ok {
			pair = append(pair, g.bl...)
			item = append(item, g.lin...)
			g = nil
		}
	}
	var nodes []*onnx.Node
	add := func(a, b *onnx.Value, o *onnx.Value) *onnx.Value {
		if a == nil {
			return b
		}
		nd := r.node("Add", n.Name+"/regroup", o, nil, a, b)
		nodes = append(nodes, nd)
		return nd.Outputs[0]
	}
	sum := func(vs []*onnx.Value) *onnx.Value {
		var acc *onnx.Value
		for _, v := range vs {
			acc = add(acc, v, nil)
		}
		return acc
	}
	var terms []*onnx.Value // the top-level chain, in order
	if g == nil {
		// Canonical order: the first pair term, the user sum, the item
		// sum, the other pair terms.
		if len(pair) == 0 {
			return nil
		}
		want := []*onnx.Value{pair[0]}
		if len(user) == 1 {
			want = append(want, user[0])
		}
		if len(item) == 1 {
			want = append(want, item[0])
		}
		want = append(want, pair[1:]...)
		if len(user) <= 1 && len(item) <= 1 && r.leftDeep(out, want) {
			return nil
		}
		terms = []*onnx.Value{pair[0]}
		if u := sum(user); u != nil {
			terms = append(terms, u)
		}
		if i := sum(item); i != nil {
			terms = append(terms, i)
		}
		terms = append(terms, pair[1:]...)
	} else {
		d, l, h := g.ws[0].Shape[0], g.l, g.h
		var m *onnx.Value
		for i, u := range g.us {
			u4 := r.node("Unsqueeze", n.Name+"/stack", nil, nil, u, r.int64s(n.Name+"/axes", 3))
			wv := r.constant(n.Name+"/W", g.ws[i])
			p := r.node("Mul", n.Name+"/stack", nil, nil, u4.Outputs[0], wv) // [n, L, d, h]
			nodes = append(nodes, u4, p)
			m = add(m, p.Outputs[0], nil)
		}
		tr := r.node("Transpose", n.Name+"/stack", nil, map[string]*onnx.Attr{"perm": {Name: "perm", Kind: onnx.AttrInts, Ints: []int64{0, 2, 1, 3}}}, m)
		rs := r.node("Reshape", n.Name+"/stack", nil, nil, tr.Outputs[0], r.int64s(n.Name+"/shape", 0, int64(d), int64(l*h)))
		nodes = append(nodes, tr, rs)
		m = rs.Outputs[0]
		if len(g.as) > 0 {
			at := &onnx.Tensor{DType: onnx.Float32, Shape: []int{d, l * h}, Data: make([]float64, d*l*h)}
			for _, a := range g.as {
				for k := 0; k < d; k++ {
					for t := 0; t < l; t++ {
						for j := 0; j < h; j++ {
							at.Data[k*l*h+t*h+j] += a.Data[k*h+j]
						}
					}
				}
			}
			m = add(m, r.constant(n.Name+"/A", at), nil)
		}
		mm := r.node("MatMul", n.Name+"/stacked", nil, nil, g.q, m) // [n, 1, L·h]
		nodes = append(nodes, mm)
		y := mm.Outputs[0]
		if u := sum(user); u != nil {
			ex := r.node("Expand", n.Name+"/user", nil, nil, u, r.int64s(n.Name+"/shape", 1, int64(l), int64(h)))
			ub := r.node("Reshape", n.Name+"/user", nil, nil, ex.Outputs[0], r.int64s(n.Name+"/shape", 0, 1, int64(l*h)))
			nodes = append(nodes, ex, ub)
			y = add(y, ub.Outputs[0], nil)
		}
		back := r.node("Reshape", n.Name+"/unstack", nil, nil, y, r.int64s(n.Name+"/shape", 0, int64(l), int64(h)))
		nodes = append(nodes, back)
		terms = []*onnx.Value{back.Outputs[0]}
		if i := sum(item); i != nil {
			terms = append(terms, i)
		}
		terms = append(terms, pair...)
	}
	if len(terms) == 1 {
		// Route the single term's producer to out.
		last := nodes[len(nodes)-1]
		if last.Outputs[0] != terms[0] {
			idn := r.node("Identity", n.Name+"/regroup", out, nil, terms[0])
			return append(nodes, idn)
		}
		delete(r.g.Values, last.Outputs[0].Name)
		out.Producer = last
		last.Outputs[0] = out
		return nodes
	}
	acc := terms[0]
	for i, t := range terms[1:] {
		var o *onnx.Value
		if i == len(terms)-2 {
			o = out
		}
		acc = add(acc, t, o)
	}
	return nodes
}

// leftDeep reports whether out is Add(Add(…Add(t₀, t₁)…), tₖ) over exactly
// the terms in order.
func (r *rewriter) leftDeep(out *onnx.Value, terms []*onnx.Value) bool {
	v := out
	for i := len(terms) - 1; i >= 1; i-- {
		p := v.Producer
		if p == nil || p.Op != "Add" || len(p.Inputs) != 2 || p.Inputs[1] != terms[i] {
			return false
		}
		v = p.Inputs[0]
	}
	return v == terms[0]
}

func (r *rewriter) poolToMatMul(n *onnx.Node) []*onnx.Node {
	if n.Op != "ReduceSum" || r.lab[n.Outputs[0]] != Pair {
		return nil
	}
	var axes []int64
	if n.Opset >= 13 {
		if !isConst(n.Input(1)) {
			return nil
		}
		axes = n.Input(1).Const.Ints()
	} else if a, ok := n.Attrs["axes"]; ok {
		axes = a.Ints
	}
	x := n.Inputs[0]
	if len(axes) != 1 || (axes[0] != 1 && axes[0] != -2) || len(x.Shape) != 3 || x.Producer == nil || x.Producer.Op != "Mul" || !soleUser(x, n) {
		return nil
	}
	a, u := x.Producer.Inputs[0], x.Producer.Inputs[1]
	if r.lab[a] == User {
		a, u = u, a
	}
	xs := x.Shape
	if r.lab[a] != Pair || r.lab[u] != User || !sameShape(xs, onnx.Shape{{Batch: 1}, {Fixed: xs[1].Fixed}, {Fixed: xs[2].Fixed}}) ||
		!sameShape(u.Shape, xs) || !sameShape(a.Shape, onnx.Shape{{Batch: 1}, xs[1], {Fixed: 1}}) {
		return nil
	}
	l := int64(xs[1].Fixed)
	ar := r.node("Reshape", n.Name+"/weights", nil, nil, a, r.int64s(n.Name+"/shape", 0, 1, l))
	if getInt(n, "keepdims", 1) != 0 {
		return []*onnx.Node{ar, r.node("MatMul", n.Name+"/pool", n.Outputs[0], nil, ar.Outputs[0], u)}
	}
	mm := r.node("MatMul", n.Name+"/pool", nil, nil, ar.Outputs[0], u)
	return []*onnx.Node{ar, mm, r.node("Squeeze", n.Name+"/pool", n.Outputs[0], nil, mm.Outputs[0], r.int64s(n.Name+"/axes", 1))}
}
