package plan

import (
	"fmt"
	"math"
	"slices"

	"nann/internal/vec"
	"nann/onnx"
)

// The pair stage: a program of float32 kernels over buffers whose shapes
// are fixed at compile time for a block of B candidates. Buffers hold
// constants (shared), user values (filled once per query, at batch 1 where
// every consumer broadcasts them, else repeated to B rows), item values
// (gathered from the tables per block) and pair values.

type bufKind int

const (
	bConst   bufKind = iota
	bUser            // user value at batch 1 (broadcast form)
	bUserRep         // user value repeated to B rows
	bItem            // gathered item rows
	bPair            // computed
)

type buf struct {
	kind  bufKind
	shape []int
	size  int
	data  []float32 // bConst
	src   int       // bUser/bUserRep: index into Plan.userOut; bItem: table index
	alias int       // ≥ 0: shares the storage of that buffer
}

type kernel interface {
	run(st *state)
}

type program struct {
	bufs    []buf
	kernels []kernel
	bind    []kernel // run once per query, after the user buffers are set
	score   int
}

// state is one scorer's storage for the program's buffers.
type state struct {
	b    [][]float32
	gw   vec.GemmWork
	vals [4]float32 // operands of an element-wise kernel
}

func (pr *program) newState() *state {
	st := &state{b: make([][]float32, len(pr.bufs))}
	for i, b := range pr.bufs {
		switch {
		case b.kind == bConst:
			st.b[i] = b.data
		case b.alias >= 0:
		default:
			st.b[i] = make([]float32, b.size)
		}
	}
	for i, b := range pr.bufs {
		if b.alias >= 0 {
			st.b[i] = st.b[b.alias]
		}
	}
	return st
}

// compiler builds the program.
type compiler struct {
	p       *Plan
	pr      *program
	B       int
	sizes   map[*onnx.Value]*onnx.Tensor // consts and sizes at batch B
	val     map[*onnx.Value]int          // default (materialized) buffer
	bcast   map[*onnx.Value]int          // user values: broadcast-form buffer
	userIdx map[*onnx.Value]int
	itemIdx map[*onnx.Value]int
	fused   map[*onnx.Node]bool // nodes folded into an earlier kernel
	stage   Label               // the stage compiled: Pair, or User (userstage.go)
}

func (p *Plan) compilePair(score *onnx.Value) (*program, error) {
	c := &compiler{p: p, pr: &program{}, B: p.block, stage: Pair, sizes: map[*onnx.Value]*onnx.Tensor{},
		val: map[*onnx.Value]int{}, bcast: map[*onnx.Value]int{}, userIdx: map[*onnx.Value]int{}, itemIdx: map[*onnx.Value]int{}, fused: map[*onnx.Node]bool{}}
	for v, t := range p.consts {
		c.sizes[v] = t
	}
	if err := p.sizesAt(c.B, c.sizes); err != nil {
		return nil, err
	}
	for i, v := range p.userOut {
		c.userIdx[v] = i
	}
	for i, v := range p.itemOut {
		c.itemIdx[v] = i
		c.val[v] = c.add(buf{kind: bItem, shape: v.Shape.At(c.B), src: i})
	}
	for _, n := range p.pairNodes {
		if c.fused[n] {
			continue
		}
		if err := c.node(n); err != nil {
			return nil, &onnx.NodeError{Node: n, Err: fmt.Errorf("pair stage: %w", err)}
		}
	}
	s, ok := c.val[score]
	if !ok {
		return nil, fmt.Errorf("plan: internal error: score %q not computed", score.Name)
	}
	c.pr.score = s
	return c.pr, nil
}

func (c *compiler) add(b buf) int {
	b.size = numel(b.shape)
	if b.alias == 0 {
		b.alias = -1
	}
	c.pr.bufs = append(c.pr.bufs, b)
	return len(c.pr.bufs) - 1
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// constTensor returns the value's tensor if it is known at compile time.
func (c *compiler) constTensor(v *onnx.Value) *onnx.Tensor {
	if v == nil {
		return nil
	}
	return c.sizes[v]
}

// in returns the materialized buffer of v.
func (c *compiler) in(v *onnx.Value) (int, error) {
	if b, ok := c.val[v]; ok {
		return b, nil
	}
	if t := c.constTensor(v); t != nil {
		b := c.add(buf{kind: bConst, shape: append([]int{}, t.Shape...), data: t.Float32s()})
		c.val[v] = b
		return b, nil
	}
	if i, ok := c.userIdx[v]; ok {
		b := c.add(buf{kind: bUserRep, shape: v.Shape.At(c.B), src: i})
		c.val[v] = b
		return b, nil
	}
	return 0, fmt.Errorf("internal error: value %q has no buffer", v.Name)
}

// inBroadcast returns v's buffer in broadcast form where it is a user
// value (batch 1), else the materialized buffer.
func (c *compiler) inBroadcast(v *onnx.Value) (int, error) {
	if i, ok := c.userIdx[v]; ok {
		if b, ok := c.bcast[v]; ok {
			return b, nil
		}
		b := c.add(buf{kind: bUser, shape: v.Shape.At(1), src: i})
		c.bcast[v] = b
		return b, nil
	}
	return c.in(v)
}

func (c *compiler) shape(b int) []int { return c.pr.bufs[b].shape }

func (c *compiler) out(v *onnx.Value) int {
	b := c.add(buf{kind: bPair, shape: v.Shape.At(c.B)})
	c.val[v] = b
	return b
}

func (c *compiler) node(n *onnx.Node) error {
	switch n.Op {
	case "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity":
		src, err := c.in(n.Inputs[0])
		if err != nil {
			return err
		}
		o := n.Outputs[0]
		shape := o.Shape.At(c.B)
		if numel(shape) != c.pr.bufs[src].size {
			return fmt.Errorf("internal error: reshape of %d values to %v", c.pr.bufs[src].size, shape)
		}
		owner := src
		if a := c.pr.bufs[src].alias; a >= 0 {
			owner = a
		}
		b := c.add(buf{kind: c.pr.bufs[src].kind, shape: shape, src: c.pr.bufs[src].src, data: c.pr.bufs[src].data})
		c.pr.bufs[b].alias = owner // set after add, which reads 0 as "none"
		c.val[o] = b
		return nil
	case "Transpose", "Slice", "Expand", "Tile", "Gather", "Split", "Concat":
		return c.move(n)
	case "MatMul":
		return c.matmul(n)
	case "Gemm":
		return c.gemm(n)
	case "Softmax", "LogSoftmax":
		return c.softmax(n)
	case "ReduceSum", "ReduceMean", "ReduceMax":
		return c.reduce(n)
	case "BatchNormalization":
		return c.batchNorm(n)
	case "LayerNormalization":
		return c.layerNorm(n)
	}
	if n.Op == "Clip" {
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		for i, p := range []*float32{&lo, &hi} {
			if v := n.Input(i + 1); v != nil {
				t := c.constTensor(v)
				if t == nil || t.Len() != 1 {
					return fmt.Errorf("clip bound %q must be a constant scalar in the pair stage", v.Name)
				}
				*p = float32(t.Data[0])
			}
		}
		return c.elementwise(n, n.Inputs[:1], func(v []float32) float32 { return min(max(v[0], lo), hi) })
	}
	if f, ok := unaryFuncs(n); ok {
		src, err := c.in(n.Inputs[0])
		if err != nil {
			return err
		}
		dst := c.out(n.Outputs[0])
		if c.pr.bufs[src].size != c.pr.bufs[dst].size {
			return fmt.Errorf("internal error: unary op from %v to %v", c.shape(src), c.shape(dst))
		}
		if sf, ok := sliceFuncs[n.Op]; ok {
			tmp := c.add(buf{kind: bPair, shape: []int{c.pr.bufs[dst].size}})
			c.pr.kernels = append(c.pr.kernels, &sliceKernel{src: src, dst: dst, f: sf, tmp: tmp})
			return nil
		}
		c.pr.kernels = append(c.pr.kernels, &unaryKernel{src: src, dst: dst, f: f})
		return nil
	}
	if f, ok := binaryFuncs[n.Op]; ok {
		if len(n.Inputs) != 2 {
			return fmt.Errorf("%s with %d inputs is not supported in the pair stage", n.Op, len(n.Inputs))
		}
		return c.binary(n, f)
	}
	if n.Op == "Where" {
		return c.elementwise(n, n.Inputs, func(v []float32) float32 {
			if v[0] != 0 {
				return v[1]
			}
			return v[2]
		})
	}
	return fmt.Errorf("op %s is not supported in the pair stage", n.Op)
}

// ---- data movement ----

// move compiles a data-movement op by running the interpreter's own
// implementation on index tensors: each data input holds the global
// indices of its elements, so the output holds, per element, where it
// comes from. Runs of consecutive sources become copies.
func (c *compiler) move(n *onnx.Node) error {
	isData := func(i int) bool { return n.Op == "Concat" || i == 0 }
	in := make([]*onnx.Tensor, len(n.Inputs))
	var srcBufs []int
	var bases []int
	base := 0
	for i, v := range n.Inputs {
		if v == nil {
			continue
		}
		if !isData(i) {
			t := c.constTensor(v)
			if t == nil {
				return fmt.Errorf("input %d (%q) must be known at compile time in the pair stage (it is %s)", i, v.Name, c.p.lab[v])
			}
			in[i] = t
			continue
		}
		b, err := c.in(v)
		if err != nil {
			return err
		}
		sh := c.shape(b)
		t := &onnx.Tensor{DType: onnx.Float64, Shape: sh, Data: make([]float64, numel(sh))}
		for k := range t.Data {
			t.Data[k] = float64(base + k)
		}
		in[i] = t
		srcBufs = append(srcBufs, b)
		bases = append(bases, base)
		base += numel(sh)
	}
	out, err := n.Apply(in)
	if err != nil {
		return err
	}
	for oi, o := range n.Outputs {
		if o == nil || oi >= len(out) {
			continue
		}
		dst := c.out(o)
		if numel(out[oi].Shape) != c.pr.bufs[dst].size {
			return fmt.Errorf("internal error: output %q has %v, expected %v", o.Name, out[oi].Shape, c.shape(dst))
		}
		m := &moveKernel{dst: dst}
		for k, g := range out[oi].Data {
			gi := int(g)
			j := 0
			for j+1 < len(bases) && gi >= bases[j+1] {
				j++
			}
			src, off := srcBufs[j], gi-bases[j]
			if r := len(m.runs) - 1; r >= 0 && m.runs[r].src == src && m.runs[r].srcOff+m.runs[r].n == off && m.runs[r].dstOff+m.runs[r].n == k {
				m.runs[r].n++
				continue
			}
			m.runs = append(m.runs, run{src: src, srcOff: off, dstOff: k, n: 1})
		}
		c.pr.kernels = append(c.pr.kernels, m)
	}
	return nil
}

type run struct{ src, srcOff, dstOff, n int }

type moveKernel struct {
	dst  int
	runs []run
}

func (k *moveKernel) run(st *state) {
	d := st.b[k.dst]
	for _, r := range k.runs {
		if r.n == 1 {
			d[r.dstOff] = st.b[r.src][r.srcOff]
			continue
		}
		copy(d[r.dstOff:r.dstOff+r.n], st.b[r.src][r.srcOff:r.srcOff+r.n])
	}
}

// ---- element-wise ----

func unaryFuncs(n *onnx.Node) (func(float32) float32, bool) {
	f64 := func(f func(float64) float64) func(float32) float32 {
		return func(x float32) float32 { return float32(f(float64(x))) }
	}
	switch n.Op {
	case "Sqrt":
		return f64(math.Sqrt), true
	case "Exp":
		return f64(math.Exp), true
	case "Log":
		return f64(math.Log), true
	case "Erf":
		return f64(math.Erf), true
	case "Tanh":
		return f64(math.Tanh), true
	case "Sigmoid":
		return func(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }, true
	case "Relu":
		return func(x float32) float32 { return max(x, 0) }, true
	case "Neg":
		return func(x float32) float32 { return -x }, true
	case "Abs":
		return func(x float32) float32 { return float32(math.Abs(float64(x))) }, true
	case "Not":
		return func(x float32) float32 {
			if x == 0 {
				return 1
			}
			return 0
		}, true
	case "Identity":
		return func(x float32) float32 { return x }, true
	case "Cast":
		to := onnx.DType(attrInt(n, "to", 1))
		if to.IsFloat() {
			return func(x float32) float32 { return x }, true
		}
		if to == onnx.Bool {
			return func(x float32) float32 {
				if x != 0 {
					return 1
				}
				return 0
			}, true
		}
		return func(x float32) float32 { return float32(math.Trunc(float64(x))) }, true
	case "LeakyRelu":
		a := float32(attrFloat(n, "alpha", 0.01))
		return func(x float32) float32 {
			if x < 0 {
				return a * x
			}
			return x
		}, true
	}
	return nil, false
}

func attrInt(n *onnx.Node, name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok && a.Kind == onnx.AttrInt {
		return a.I
	}
	return def
}

func attrFloat(n *onnx.Node, name string, def float64) float64 {
	if a, ok := n.Attrs[name]; ok && a.Kind == onnx.AttrFloat {
		return a.F
	}
	return def
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

var binaryFuncs = map[string]func(a, b float32) float32{
	"Add":     func(a, b float32) float32 { return a + b },
	"Sub":     func(a, b float32) float32 { return a - b },
	"Mul":     func(a, b float32) float32 { return a * b },
	"Div":     func(a, b float32) float32 { return a / b },
	"Pow":     func(a, b float32) float32 { return float32(math.Pow(float64(a), float64(b))) },
	"Min":     func(a, b float32) float32 { return min(a, b) },
	"Max":     func(a, b float32) float32 { return max(a, b) },
	"Greater": func(a, b float32) float32 { return b2f(a > b) },
	"Less":    func(a, b float32) float32 { return b2f(a < b) },
	"Equal":   func(a, b float32) float32 { return b2f(a == b) },
	"PRelu": func(x, s float32) float32 {
		if x < 0 {
			return s * x
		}
		return x
	},
}

// operand is an input of an element-wise kernel with its broadcast index
// pattern: same (i), mod (i % m), or a general map.
type operand struct {
	buf  int
	mode int // 0 same, 1 mod m, 2 map
	m    int
	idx  []int32
	full []int32 // the index map for modes 0 and 1, where a kernel needs it
}

func (o *operand) at(st *state, i int) float32 {
	switch o.mode {
	case 0:
		return st.b[o.buf][i]
	case 1:
		return st.b[o.buf][i%o.m]
	}
	return st.b[o.buf][o.idx[i]]
}

// operands resolves the inputs of an element-wise node, taking user values
// in broadcast form where numpy broadcasting gives the same output shape.
func (c *compiler) operands(n *onnx.Node, inputs []*onnx.Value) ([]operand, []int, error) {
	want := n.Outputs[0].Shape.At(c.B)
	bufs := make([]int, len(inputs))
	shapes := make([][]int, len(inputs))
	for i, v := range inputs {
		b, err := c.inBroadcast(v)
		if err != nil {
			return nil, nil, err
		}
		bufs[i], shapes[i] = b, c.shape(b)
	}
	got, err := onnx.BroadcastShapes(shapes...)
	if err != nil || !slices.Equal(got, want) {
		for i, v := range inputs {
			if c.pr.bufs[bufs[i]].kind == bUser {
				if bufs[i], err = c.in(v); err != nil {
					return nil, nil, err
				}
				shapes[i] = c.shape(bufs[i])
			}
		}
		if got, err = onnx.BroadcastShapes(shapes...); err != nil || !slices.Equal(got, want) {
			return nil, nil, fmt.Errorf("internal error: operand shapes %v do not broadcast to %v", shapes, want)
		}
	}
	ops := make([]operand, len(inputs))
	for i := range inputs {
		ops[i] = makeOperand(bufs[i], shapes[i], want)
	}
	return ops, want, nil
}

func makeOperand(b int, in, out []int) operand {
	idx := bcastMap(out, in)
	m := numel(in)
	o := operand{buf: b, mode: 0}
	for i, j := range idx {
		if int(j) != i {
			o.mode = 1
			break
		}
	}
	if o.mode == 1 {
		o.m = m
		for i, j := range idx {
			if int(j) != i%m {
				o.mode, o.idx = 2, idx
				break
			}
		}
	}
	return o
}

// bcastMap is onnx.BroadcastIndex as int32 offsets.
func bcastMap(out, in []int) []int32 {
	src := onnx.BroadcastIndex(out, in)
	idx := make([]int32, len(src))
	for i, off := range src {
		idx[i] = int32(off)
	}
	return idx
}

type ewKernel struct {
	dst int
	ops []operand
	f   func(v []float32) float32
}

func (k *ewKernel) run(st *state) {
	d := st.b[k.dst]
	v := st.vals[:len(k.ops)]
	for i := range d {
		for j := range k.ops {
			v[j] = k.ops[j].at(st, i)
		}
		d[i] = k.f(v)
	}
}

func (c *compiler) elementwise(n *onnx.Node, inputs []*onnx.Value, f func([]float32) float32) error {
	ops, _, err := c.operands(n, inputs)
	if err != nil {
		return err
	}
	if len(ops) > len(state{}.vals) {
		return fmt.Errorf("%s with %d inputs is not supported in the pair stage", n.Op, len(ops))
	}
	c.pr.kernels = append(c.pr.kernels, &ewKernel{dst: c.out(n.Outputs[0]), ops: ops, f: f})
	return nil
}

// binKernel is a two-operand element-wise kernel with loops specialised
// for the common patterns (same shape, or the second operand repeating).
type binKernel struct {
	dst  int
	a, b operand
	f    func(a, b float32) float32
	op   string
}

func (k *binKernel) run(st *state) {
	d, x, y := st.b[k.dst], st.b[k.a.buf], st.b[k.b.buf]
	if k.a.mode == 0 && k.b.mode == 0 {
		x, y = x[:len(d)], y[:len(d)]
		switch k.op {
		case "Add":
			for i := range d {
				d[i] = x[i] + y[i]
			}
			return
		case "Mul":
			for i := range d {
				d[i] = x[i] * y[i]
			}
			return
		case "Sub":
			for i := range d {
				d[i] = x[i] - y[i]
			}
			return
		}
		for i := range d {
			d[i] = k.f(x[i], y[i])
		}
		return
	}
	if k.a.mode == 0 && k.b.mode == 1 && k.b.m == 1 {
		x, c := x[:len(d)], y[0]
		switch k.op {
		case "Add":
			for i := range d {
				d[i] = x[i] + c
			}
		case "Sub":
			for i := range d {
				d[i] = x[i] - c
			}
		case "Mul":
			for i := range d {
				d[i] = x[i] * c
			}
		case "Div":
			for i := range d {
				d[i] = x[i] / c
			}
		case "Pow":
			switch c {
			case 2:
				for i := range d {
					d[i] = x[i] * x[i]
				}
			case 1:
				copy(d, x)
			default:
				for i := range d {
					d[i] = k.f(x[i], c)
				}
			}
		default:
			for i := range d {
				d[i] = k.f(x[i], c)
			}
		}
		return
	}
	if k.a.mode == 0 && k.b.mode == 1 {
		m := k.b.m
		for lo := 0; lo < len(d); lo += m {
			dd, xx := d[lo:lo+m], x[lo:lo+m]
			yy := y[:m]
			switch k.op {
			case "Add":
				for i := range dd {
					dd[i] = xx[i] + yy[i]
				}
			case "Sub":
				for i := range dd {
					dd[i] = xx[i] - yy[i]
				}
			case "Mul":
				for i := range dd {
					dd[i] = xx[i] * yy[i]
				}
			case "Div":
				for i := range dd {
					dd[i] = xx[i] / yy[i]
				}
			default:
				for i := range dd {
					dd[i] = k.f(xx[i], yy[i])
				}
			}
		}
		return
	}
	// General broadcasting: index maps or periods, no per-element switch.
	ai, bi := k.a.idx, k.b.idx
	if ai == nil {
		ai = k.a.iota(len(d))
	}
	if bi == nil {
		bi = k.b.iota(len(d))
	}
	ai, bi = ai[:len(d)], bi[:len(d)]
	switch k.op {
	case "Add":
		for i := range d {
			d[i] = x[ai[i]] + y[bi[i]]
		}
	case "Mul":
		for i := range d {
			d[i] = x[ai[i]] * y[bi[i]]
		}
	case "Sub":
		for i := range d {
			d[i] = x[ai[i]] - y[bi[i]]
		}
	default:
		for i := range d {
			d[i] = k.f(x[ai[i]], y[bi[i]])
		}
	}
}

// iota returns the operand's index map as a slice (built once at compile
// time by fullMaps; nil-safe fallback here).
func (o *operand) iota(n int) []int32 { return o.full }

func (c *compiler) binary(n *onnx.Node, f func(a, b float32) float32) error {
	ops, _, err := c.operands(n, n.Inputs)
	if err != nil {
		return err
	}
	a, b := ops[0], ops[1]
	commutes := n.Op == "Add" || n.Op == "Mul" || n.Op == "Min" || n.Op == "Max" || n.Op == "Equal"
	if commutes && a.mode != 0 && b.mode == 0 {
		a, b = b, a
	}
	k := &binKernel{dst: c.out(n.Outputs[0]), a: a, b: b, f: f, op: n.Op}
	size := c.pr.bufs[k.dst].size
	if k.b.mode == 1 && size%k.b.m != 0 {
		k.b.mode, k.b.idx = 2, bcastMapMod(size, k.b.m)
	}
	// The general loop reads both operands through maps.
	if !(k.a.mode == 0 && (k.b.mode == 0 || k.b.mode == 1)) {
		for _, o := range []*operand{&k.a, &k.b} {
			switch o.mode {
			case 0:
				o.full = bcastMapMod(size, size)
			case 1:
				o.full = bcastMapMod(size, o.m)
			}
		}
	}
	c.pr.kernels = append(c.pr.kernels, k)
	return nil
}

func bcastMapMod(n, m int) []int32 {
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i % m)
	}
	return idx
}
