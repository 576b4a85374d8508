package plan

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"nann/onnx"
)

// Graph rewrites that move work out of the pair stage. Each is an exact
// algebraic identity on the ONNX graph (checked end to end by the fixture
// tests against the interpreter on the original graph and against torch):
//   - foldBatchNorm: BatchNormalization(Gemm(x, W, b)) → Gemm(x, W', b');
//   - splitConcat: MatMul/Gemm(Concat(p₀…pₖ, last axis), W) → Σ pᵢ·Wᵢ, the
//     terms grouped by binding time (item terms go to the item tables,
//     user terms to the query state);
//   - distribute: MatMul(a ± b, W) → a·W ± b·W when a and b have different
//     binding times;
//   - sinkExpand: MatMul(Expand(x, s), W) → Expand(x·W, s′) (the product
//     runs on the unexpanded rows);
//   - dropExpand: an Expand feeding a broadcasting element-wise op whose
//     result shape it does not change is removed;
//   - dead values are removed after each pass.

// rewriter edits a cloned graph.
type rewriter struct {
	g   *onnx.Graph
	c   Contract
	lab map[*onnx.Value]Label
	seq int
}

func (r *rewriter) name(base string) string {
	for {
		r.seq++
		n := fmt.Sprintf("%s/nann%d", base, r.seq)
		if _, ok := r.g.Values[n]; !ok {
			return n
		}
	}
}

func (r *rewriter) constant(base string, t *onnx.Tensor) *onnx.Value {
	v := &onnx.Value{Name: r.name(base), DType: t.DType, Const: t}
	r.g.Values[v.Name] = v
	return v
}

// node makes a node; out is reused as its output if given.
func (r *rewriter) node(op, base string, out *onnx.Value, attrs map[string]*onnx.Attr, in ...*onnx.Value) *onnx.Node {
	n := &onnx.Node{Name: r.name(base), Op: op, Inputs: in, Attrs: attrs, Opset: r.g.Opset}
	if n.Attrs == nil {
		n.Attrs = map[string]*onnx.Attr{}
	}
	if out == nil {
		out = &onnx.Value{Name: r.name(base)}
		r.g.Values[out.Name] = out
	}
	out.Producer = n
	n.Outputs = []*onnx.Value{out}
	return n
}

// pass applies f to every node; f returns the nodes replacing n (nil: keep).
func (r *rewriter) pass(f func(n *onnx.Node) []*onnx.Node) (changed bool, err error) {
	r.lab = labelValues(r.g, r.c)
	var out []*onnx.Node
	for _, n := range r.g.Nodes {
		if rep := f(n); rep != nil {
			out = append(out, rep...)
			changed = true
			continue
		}
		out = append(out, n)
	}
	r.g.Nodes = out
	r.relink()
	if changed {
		if err := r.g.InferShapes(); err != nil {
			return false, fmt.Errorf("plan: after a rewrite: %w", err)
		}
	}
	return changed, nil
}

// relink recomputes Users and removes nodes nothing reads.
func (r *rewriter) relink() {
	need := map[*onnx.Value]bool{}
	for _, o := range r.g.Outputs {
		need[o] = true
	}
	keep := make([]bool, len(r.g.Nodes))
	for i := len(r.g.Nodes) - 1; i >= 0; i-- {
		n := r.g.Nodes[i]
		for _, o := range n.Outputs {
			if o != nil && need[o] {
				keep[i] = true
			}
		}
		if keep[i] {
			for _, in := range n.Inputs {
				if in != nil {
					need[in] = true
				}
			}
		}
	}
	var nodes []*onnx.Node
	for _, v := range r.g.Values {
		v.Users = nil
	}
	for i, n := range r.g.Nodes {
		if !keep[i] {
			for _, o := range n.Outputs {
				if o != nil {
					delete(r.g.Values, o.Name)
				}
			}
			continue
		}
		nodes = append(nodes, n)
		for _, in := range n.Inputs {
			if in != nil {
				in.Users = append(in.Users, n)
			}
		}
	}
	r.g.Nodes = nodes
}

// cloneGraph deep-copies the graph structure (tensors are shared, they are
// never modified).
func cloneGraph(g *onnx.Graph) *onnx.Graph {
	c := &onnx.Graph{Name: g.Name, Opset: g.Opset, Values: map[string]*onnx.Value{}}
	vm := map[*onnx.Value]*onnx.Value{}
	for name, v := range g.Values {
		nv := *v
		nv.Shape = append(onnx.Shape(nil), v.Shape...)
		nv.Users, nv.Producer = nil, nil
		c.Values[name] = &nv
		vm[v] = &nv
	}
	for _, n := range g.Nodes {
		nn := *n
		nn.Inputs = make([]*onnx.Value, len(n.Inputs))
		for i, v := range n.Inputs {
			if v != nil {
				nn.Inputs[i] = vm[v]
				vm[v].Users = append(vm[v].Users, &nn)
			}
		}
		nn.Outputs = make([]*onnx.Value, len(n.Outputs))
		for i, v := range n.Outputs {
			if v != nil {
				nn.Outputs[i] = vm[v]
				vm[v].Producer = &nn
			}
		}
		c.Nodes = append(c.Nodes, &nn)
	}
	for _, v := range g.Inputs {
		c.Inputs = append(c.Inputs, vm[v])
	}
	for _, v := range g.Outputs {
		c.Outputs = append(c.Outputs, vm[v])
	}
	return c
}

// rewrite runs the passes to a fixed point (bounded).
func rewrite(g *onnx.Graph, c Contract) (*onnx.Graph, error) {
	r := &rewriter{g: cloneGraph(g), c: c}
	r.relink()
	if err := r.g.InferShapes(); err != nil {
		return nil, err
	}
	if err := r.foldConstants(); err != nil {
		return nil, err
	}
	for _, f := range []func(*onnx.Node) []*onnx.Node{r.foldBatchNorm, r.layerNorm, r.splitConcat, r.distribute, r.sinkExpand, r.dropExpand, r.distribute, r.dropExpand, r.hoistScale, r.reassociate, r.bilinear, r.poolToMatMul, r.reassociate, r.regroupSum} {
		for i := 0; i < 8; i++ {
			changed, err := r.pass(f)
			if err != nil {
				return nil, err
			}
			if !changed {
				break
			}
		}
	}
	return r.g, nil
}

// foldConstants evaluates the nodes that depend on no input (Constant
// nodes and arithmetic on initializers) into constant values, so that the
// rewrites see them as constants.
func (r *rewriter) foldConstants() error {
	lab := labelValues(r.g, r.c)
	var keep []*onnx.Node
	for _, n := range r.g.Nodes {
		if lab[n.Outputs[0]] != Const {
			keep = append(keep, n)
			continue
		}
		in := make([]*onnx.Tensor, len(n.Inputs))
		for i, v := range n.Inputs {
			if v != nil {
				in[i] = v.Const
			}
		}
		out, err := n.Apply(in)
		if err != nil {
			return err
		}
		for i, o := range n.Outputs {
			if o != nil && i < len(out) {
				o.Const, o.Producer = out[i], nil
			}
		}
	}
	r.g.Nodes = keep
	r.relink()
	return nil
}

func soleUser(v *onnx.Value, n *onnx.Node) bool {
	return len(v.Users) == 1 && v.Users[0] == n
}

func isConst(v *onnx.Value) bool { return v != nil && v.Const != nil }

func fixedShape(v *onnx.Value) ([]int, bool) {
	if v.Shape == nil || v.Shape.HasBatch() {
		return nil, false
	}
	return v.Shape.At(0), true
}

func getInt(n *onnx.Node, name string, def int64) int64 { return attrInt(n, name, def) }

// gemmWeight returns op(W) of a Gemm or MatMul with a constant 2-D weight,
// as a K×N row-major matrix, scaled by alpha.
func gemmWeight(n *onnx.Node) (w []float64, k, nn int, ok bool) {
	wv := n.Input(1)
	if !isConst(wv) || wv.Const.Rank() != 2 {
		return nil, 0, 0, false
	}
	t := wv.Const
	k, nn = t.Shape[0], t.Shape[1]
	alpha := 1.0
	trans := false
	if n.Op == "Gemm" {
		if getInt(n, "transA", 0) != 0 {
			return nil, 0, 0, false
		}
		trans = getInt(n, "transB", 0) != 0
		alpha = attrFloat(n, "alpha", 1)
	}
	if trans {
		k, nn = nn, k
	}
	w = make([]float64, k*nn)
	for i := 0; i < k; i++ {
		for j := 0; j < nn; j++ {
			if trans {
				w[i*nn+j] = alpha * t.Data[j*k+i]
			} else {
				w[i*nn+j] = alpha * t.Data[i*nn+j]
			}
		}
	}
	return w, k, nn, true
}

// gemmBias returns beta·C of a Gemm as N values (nil if none); ok is false
// for a C that is not per column.
func gemmBias(n *onnx.Node, nn int) ([]float64, bool) {
	cv := n.Input(2)
	if n.Op != "Gemm" || cv == nil {
		return nil, true
	}
	if !isConst(cv) {
		return nil, false
	}
	t := cv.Const
	beta := attrFloat(n, "beta", 1)
	b := make([]float64, nn)
	switch {
	case t.Len() == 1:
		for j := range b {
			b[j] = beta * t.Data[0]
		}
	case t.Len() == nn && (t.Rank() == 1 || t.Rank() == 2 && t.Shape[0] == 1):
		for j := range b {
			b[j] = beta * t.Data[j]
		}
	default:
		return nil, false
	}
	return b, true
}

func matrix(w []float64, k, n int) *onnx.Tensor {
	return &onnx.Tensor{DType: onnx.Float32, Shape: []int{k, n}, Data: w}
}

// foldBatchNorm: BN(Gemm(x, W, b)) on [n, C] → Gemm(x, W·diag(a), b·a + c).
func (r *rewriter) foldBatchNorm(n *onnx.Node) []*onnx.Node {
	if n.Op != "BatchNormalization" || getInt(n, "training_mode", 0) != 0 {
		return nil
	}
	y := n.Input(0)
	if y == nil || y.Producer == nil || y.Producer.Op != "Gemm" || !soleUser(y, n) || len(y.Shape) != 2 {
		return nil
	}
	for i := 1; i <= 4; i++ {
		if !isConst(n.Input(i)) {
			return nil
		}
	}
	for _, o := range n.Outputs[1:] {
		if o != nil && len(o.Users) > 0 {
			return nil
		}
	}
	gm := y.Producer
	w, k, nn, ok := gemmWeight(gm)
	if !ok {
		return nil
	}
	b, ok := gemmBias(gm, nn)
	if !ok || n.Input(1).Const.Len() != nn {
		return nil
	}
	eps := attrFloat(n, "epsilon", 1e-5)
	s, bb, m, vr := n.Input(1).Const.Data, n.Input(2).Const.Data, n.Input(3).Const.Data, n.Input(4).Const.Data
	bias := make([]float64, nn)
	for j := 0; j < nn; j++ {
		a := s[j] / math.Sqrt(vr[j]+eps)
		for i := 0; i < k; i++ {
			w[i*nn+j] *= a
		}
		bj := 0.0
		if b != nil {
			bj = b[j]
		}
		bias[j] = bj*a + bb[j] - m[j]*a
	}
	wv := r.constant(gm.Name+"/W_bn", matrix(w, k, nn))
	bv := r.constant(gm.Name+"/b_bn", &onnx.Tensor{DType: onnx.Float32, Shape: []int{nn}, Data: bias})
	// The replacement sits at the BN's position (after the Gemm's inputs).
	return []*onnx.Node{r.node("Gemm", gm.Name+"+bn", n.Outputs[0], nil, gm.Input(0), wv, bv)}
}

// term is one addend of a split product.
type term struct {
	v   *onnx.Value
	lab Label
}

// sumTerms adds terms, same binding times first (so that item-only and
// user-only partial sums stay out of the pair stage), into out.
func (r *rewriter) sumTerms(base string, terms []term, out *onnx.Value) []*onnx.Node {
	sort.SliceStable(terms, func(i, j int) bool { return terms[i].lab < terms[j].lab })
	var nodes []*onnx.Node
	// Combine within each label, then across.
	var groups []term
	for _, t := range terms {
		if len(groups) > 0 && groups[len(groups)-1].lab == t.lab {
			add := r.node("Add", base, nil, nil, groups[len(groups)-1].v, t.v)
			nodes = append(nodes, add)
			groups[len(groups)-1].v = add.Outputs[0]
			continue
		}
		groups = append(groups, t)
	}
	acc := groups[0]
	for i, t := range groups[1:] {
		var o *onnx.Value
		if i == len(groups)-2 {
			o = out
		}
		add := r.node("Add", base, o, nil, acc.v, t.v)
		nodes = append(nodes, add)
		acc = term{add.Outputs[0], join(acc.lab, t.lab)}
	}
	if len(groups) == 1 {
		// A single group: route its last node's output to out.
		last := nodes[len(nodes)-1]
		delete(r.g.Values, last.Outputs[0].Name)
		out.Producer = last
		last.Outputs[0] = out
	}
	return nodes
}

// splitConcat: MatMul/Gemm(Concat(parts, last axis), W) → Σ partᵢ·Wᵢ (+ b).
func (r *rewriter) splitConcat(n *onnx.Node) []*onnx.Node {
	if n.Op != "MatMul" && n.Op != "Gemm" {
		return nil
	}
	x := n.Input(0)
	if x == nil || x.Producer == nil || x.Producer.Op != "Concat" || len(x.Shape) == 0 {
		return nil
	}
	cat := x.Producer
	ax := getInt(cat, "axis", 0)
	if ax != -1 && ax != int64(len(x.Shape)-1) {
		return nil
	}
	w, k, nn, ok := gemmWeight(n)
	if !ok {
		return nil
	}
	b, ok := gemmBias(n, nn)
	if !ok {
		return nil
	}
	labs := map[Label]bool{}
	for _, p := range cat.Inputs {
		labs[r.lab[p]] = true
	}
	if len(labs) < 2 {
		return nil // nothing to separate
	}
	// Collect (value, weight) addends: a part that is a sum or difference of
	// values of different binding times contributes each of them; addends
	// with the same value have their weights summed.
	type addend struct {
		v *onnx.Value
		w []float64
	}
	var adds []addend
	var collect func(p *onnx.Value, w []float64, depth int)
	collect = func(p *onnx.Value, w []float64, depth int) {
		if q := p.Producer; depth < 4 && q != nil && (q.Op == "Add" || q.Op == "Sub") {
			a, b := q.Input(0), q.Input(1)
			wd := p.Shape[len(p.Shape)-1]
			if r.lab[a] != r.lab[b] && len(a.Shape) >= 2 && len(b.Shape) >= 2 && a.Shape[len(a.Shape)-1] == wd && b.Shape[len(b.Shape)-1] == wd {
				collect(a, w, depth+1)
				wb := w
				if q.Op == "Sub" {
					wb = make([]float64, len(w))
					for i, x := range w {
						wb[i] = -x
					}
				}
				collect(b, wb, depth+1)
				return
			}
		}
		for i := range adds {
			if adds[i].v == p {
				for j, x := range w {
					adds[i].w[j] += x
				}
				return
			}
		}
		adds = append(adds, addend{p, append([]float64{}, w...)})
	}
	off := 0
	for _, p := range cat.Inputs {
		wd := p.Shape[len(p.Shape)-1]
		if wd.Batch != 0 || len(p.Shape) < 2 && n.Op == "MatMul" {
			return nil
		}
		collect(p, w[off*nn:(off+wd.Fixed)*nn], 0)
		off += wd.Fixed
	}
	if off != k {
		return nil
	}
	var nodes []*onnx.Node
	var terms []term
	for _, a := range adds {
		kk := len(a.w) / nn
		wv := r.constant(n.Name+"/W_part", matrix(a.w, kk, nn))
		mm := r.node("MatMul", n.Name+"/part", nil, nil, a.v, wv)
		nodes = append(nodes, mm)
		terms = append(terms, term{mm.Outputs[0], r.lab[a.v]})
	}
	if len(terms) == 1 {
		return nil
	}
	if b != nil {
		// The bias joins the first (least-varying) group.
		bv := r.constant(n.Name+"/bias", &onnx.Tensor{DType: onnx.Float32, Shape: []int{nn}, Data: b})
		sort.SliceStable(terms, func(i, j int) bool { return terms[i].lab < terms[j].lab })
		add := r.node("Add", n.Name+"/bias", nil, nil, terms[0].v, bv)
		nodes = append(nodes, add)
		terms[0].v = add.Outputs[0]
	}
	return append(nodes, r.sumTerms(n.Name+"/sum", terms, n.Outputs[0])...)
}

// distribute: MatMul(a ± b, W) → a·W ± b·W for a, b of different binding
// times and the same last dimension.
func (r *rewriter) distribute(n *onnx.Node) []*onnx.Node {
	if n.Op != "MatMul" || !isConst(n.Input(1)) || n.Input(1).Const.Rank() != 2 {
		return nil
	}
	x := n.Input(0)
	if x.Producer == nil || (x.Producer.Op != "Sub" && x.Producer.Op != "Add") || !soleUser(x, n) {
		return nil
	}
	a, b := x.Producer.Input(0), x.Producer.Input(1)
	if r.lab[a] == r.lab[b] || len(a.Shape) == 0 || len(b.Shape) == 0 {
		return nil
	}
	k := n.Input(1).Const.Shape[0]
	if a.Shape[len(a.Shape)-1] != (onnx.Dim{Fixed: k}) || b.Shape[len(b.Shape)-1] != (onnx.Dim{Fixed: k}) || len(a.Shape) < 2 || len(b.Shape) < 2 {
		return nil
	}
	ma := r.node("MatMul", n.Name+"/a", nil, nil, a, n.Input(1))
	mb := r.node("MatMul", n.Name+"/b", nil, nil, b, n.Input(1))
	return []*onnx.Node{ma, mb, r.node(x.Producer.Op, n.Name, n.Outputs[0], nil, ma.Outputs[0], mb.Outputs[0])}
}

// sinkExpand: MatMul(Expand(x, s), W) with W a constant matrix and x's last
// dimension unexpanded → Expand(x·W, min(s, [∞, …, ∞, 1])).
func (r *rewriter) sinkExpand(n *onnx.Node) []*onnx.Node {
	if n.Op != "MatMul" || !isConst(n.Input(1)) || n.Input(1).Const.Rank() != 2 {
		return nil
	}
	e := n.Input(0)
	if e.Producer == nil || e.Producer.Op != "Expand" {
		return nil
	}
	x, s := e.Producer.Input(0), e.Producer.Input(1)
	k := n.Input(1).Const.Shape[0]
	if len(x.Shape) < 2 || x.Shape[len(x.Shape)-1] != (onnx.Dim{Fixed: k}) || len(s.Shape) != 1 || s.Shape[0].Batch != 0 {
		return nil
	}
	rank := s.Shape[0].Fixed
	cap := &onnx.Tensor{DType: onnx.Int64, Shape: []int{rank}, Data: make([]float64, rank)}
	for i := range cap.Data {
		cap.Data[i] = 1 << 40
	}
	cap.Data[rank-1] = 1
	cv := r.constant(n.Name+"/expand_cap", cap)
	mm := r.node("MatMul", n.Name+"/unexpanded", nil, nil, x, n.Input(1))
	s1 := r.node("Min", n.Name+"/shape", nil, nil, s, cv)
	return []*onnx.Node{mm, s1, r.node("Expand", n.Name+"/expand", n.Outputs[0], nil, mm.Outputs[0], s1.Outputs[0])}
}

var broadcasting = map[string]bool{"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true,
	"Min": true, "Max": true, "Greater": true, "Less": true, "Equal": true, "Where": true}

// dropExpand: Op(…, Expand(x, s), …) → Op(…, x, …) for a broadcasting op
// whose output shape stays the same without the Expand.
func (r *rewriter) dropExpand(n *onnx.Node) []*onnx.Node {
	if !broadcasting[n.Op] || n.Outputs[0].Shape == nil {
		return nil
	}
	for i, in := range n.Inputs {
		if in == nil || in.Producer == nil || in.Producer.Op != "Expand" {
			continue
		}
		x := in.Producer.Input(0)
		if x.Shape == nil {
			continue
		}
		// Compare the broadcast result at two batch sizes.
		ok := true
		for _, bn := range []int{2, 3} {
			shapes := make([][]int, len(n.Inputs))
			for j, v := range n.Inputs {
				if j == i {
					v = x
				}
				shapes[j] = v.Shape.At(bn)
			}
			got, err := onnx.BroadcastShapes(shapes...)
			if err != nil || !slices.Equal(got, n.Outputs[0].Shape.At(bn)) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		ins := append([]*onnx.Value{}, n.Inputs...)
		ins[i] = x
		nn := r.node(n.Op, n.Name, n.Outputs[0], n.Attrs, ins...)
		return []*onnx.Node{nn}
	}
	return nil
}

var reshaping = map[string]bool{"Squeeze": true, "Unsqueeze": true, "Reshape": true, "Flatten": true, "Identity": true}

// hoistScale: Mul/Div(reshape(x), scalar) → reshape(Mul/Div(x, scalar)), so
// that the scale meets the product that computes x (and is fused into it).
func (r *rewriter) hoistScale(n *onnx.Node) []*onnx.Node {
	if (n.Op != "Mul" && n.Op != "Div") || len(n.Inputs) != 2 {
		return nil
	}
	x, s := n.Inputs[0], n.Inputs[1]
	if n.Op == "Mul" && isConst(x) {
		x, s = s, x
	}
	if !isConst(s) || s.Const.Len() != 1 || s.Const.Rank() > 1 || x.Producer == nil || !reshaping[x.Producer.Op] || !soleUser(x, n) {
		return nil
	}
	rs := x.Producer
	src := rs.Inputs[0]
	if src.DType != x.DType || len(src.Users) != 1 {
		return nil
	}
	sc := r.node(n.Op, n.Name+"/hoisted", nil, nil, src, s)
	ins := append([]*onnx.Value{sc.Outputs[0]}, rs.Inputs[1:]...)
	return []*onnx.Node{sc, r.node(rs.Op, rs.Name+"/after", n.Outputs[0], rs.Attrs, ins...)}
}

// unitReshape reports whether n is a Squeeze or Unsqueeze whose axes leave
// the last dimension alone (so it commutes with a product on the right).
func unitReshape(n *onnx.Node) bool {
	if n == nil || (n.Op != "Squeeze" && n.Op != "Unsqueeze") || !isConst(n.Input(1)) {
		return false
	}
	in, out := n.Inputs[0], n.Outputs[0]
	for _, a := range n.Input(1).Const.Ints() {
		r := len(in.Shape)
		if n.Op == "Unsqueeze" {
			r = len(out.Shape)
		}
		if a == -1 || a == int64(r-1) {
			return false
		}
	}
	return true
}

// reassociate: (a·V)·W → a·(V·W) for V a user (or item) matrix and W a
// constant, through a unit Squeeze/Unsqueeze: V·W becomes a per-query (or
// per-item) product and the pair stage does one product instead of two.
func (r *rewriter) reassociate(n *onnx.Node) []*onnx.Node {
	if n.Op != "MatMul" || !isConst(n.Input(1)) || n.Input(1).Const.Rank() != 2 {
		return nil
	}
	x := n.Inputs[0]
	var rs *onnx.Node
	if x.Producer != nil && unitReshape(x.Producer) && soleUser(x, n) {
		rs = x.Producer
		x = rs.Inputs[0]
	}
	inner := x.Producer
	if inner == nil || inner.Op != "MatMul" || !soleUser(x, func() *onnx.Node {
		if rs != nil {
			return rs
		}
		return n
	}()) {
		return nil
	}
	a, v := inner.Inputs[0], inner.Inputs[1]
	if r.lab[a] != Pair || (r.lab[v] != User && r.lab[v] != Item) || len(v.Shape) < 2 {
		return nil
	}
	// Only worth it when the product shrinks the pair work: V is L×K with
	// L ≤ K·N/(K+N)-ish; always true for attention over a short sequence.
	vw := r.node("MatMul", n.Name+"/reassoc_vw", nil, nil, v, n.Inputs[1])
	if rs == nil {
		return []*onnx.Node{vw, r.node("MatMul", n.Name+"/reassoc", n.Outputs[0], nil, a, vw.Outputs[0])}
	}
	mm := r.node("MatMul", n.Name+"/reassoc", nil, nil, a, vw.Outputs[0])
	ins := append([]*onnx.Value{mm.Outputs[0]}, rs.Inputs[1:]...)
	return []*onnx.Node{vw, mm, r.node(rs.Op, rs.Name+"/reassoc", n.Outputs[0], rs.Attrs, ins...)}
}

// bilinear: K·unsqueeze(q, -1) with K a user value [n, L, H] and
// q = Gemm(h, W, b) an item value [n, H] → (K·op(W)ᵀ)·unsqueeze(h, -1) +
// K·b: the query's projection moves to the user side, once per query, and
// the item table keeps h (the engine's attention rewrite).
func (r *rewriter) bilinear(n *onnx.Node) []*onnx.Node {
	if n.Op != "MatMul" {
		return nil
	}
	k, u := n.Inputs[0], n.Inputs[1]
	if r.lab[k] != User || len(k.Shape) != 3 || u.Producer == nil || u.Producer.Op != "Unsqueeze" || !soleUser(u, n) {
		return nil
	}
	if !isConst(u.Producer.Input(1)) {
		return nil
	}
	if ax := u.Producer.Input(1).Const.Ints(); len(ax) != 1 || (ax[0] != -1 && ax[0] != 2) {
		return nil
	}
	q := u.Producer.Inputs[0]
	g := q.Producer
	if g == nil || g.Op != "Gemm" || r.lab[q] != Item || len(q.Shape) != 2 || len(q.Users) != 1 {
		return nil
	}
	w, kk, nn, ok := gemmWeight(g) // op(W)·alpha: kk×nn (H1×H)
	if !ok {
		return nil
	}
	b, ok := gemmBias(g, nn)
	if !ok {
		return nil
	}
	if k.Shape[2] != (onnx.Dim{Fixed: nn}) {
		return nil
	}
	wt := make([]float64, nn*kk) // op(W)ᵀ: H×H1
	for i := 0; i < kk; i++ {
		for j := 0; j < nn; j++ {
			wt[j*kk+i] = w[i*nn+j]
		}
	}
	wtv := r.constant(n.Name+"/Wt", matrix(wt, nn, kk))
	kw := r.node("MatMul", n.Name+"/kw", nil, nil, k, wtv)
	axes := r.constant(n.Name+"/axes", &onnx.Tensor{DType: onnx.Int64, Shape: []int{1}, Data: []float64{-1}})
	hu := r.node("Unsqueeze", n.Name+"/h", nil, nil, g.Inputs[0], axes)
	if b == nil {
		return []*onnx.Node{kw, hu, r.node("MatMul", n.Name+"/bilinear", n.Outputs[0], nil, kw.Outputs[0], hu.Outputs[0])}
	}
	bv := r.constant(n.Name+"/b", &onnx.Tensor{DType: onnx.Float32, Shape: []int{nn, 1}, Data: b})
	kb := r.node("MatMul", n.Name+"/kb", nil, nil, k, bv)
	mm := r.node("MatMul", n.Name+"/bilinear", nil, nil, kw.Outputs[0], hu.Outputs[0])
	return []*onnx.Node{kw, hu, kb, mm, r.node("Add", n.Name+"/bilinear_b", n.Outputs[0], nil, mm.Outputs[0], kb.Outputs[0])}
}
