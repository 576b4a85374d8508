package onnx

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// This file: the float64 reference implementation of every supported op,
// written for obviousness rather than speed: broadcasting through explicit
// index maps, loops over flat row-major indices.

func sortStrings(s []string) { sort.Strings(s) }

func init() {
	ops = map[string]opFunc{
		"Add": binaryOp(func(a, b float64) float64 { return a + b }),
		"Sub": binaryOp(func(a, b float64) float64 { return a - b }),
		"Mul": binaryOp(func(a, b float64) float64 { return a * b }),
		"Div": opDiv,
		"Pow": opPow,
		"Min": variadicOp(math.Min),
		"Max": variadicOp(math.Max),

		"Greater": compareOp(func(a, b float64) bool { return a > b }),
		"Less":    compareOp(func(a, b float64) bool { return a < b }),
		"Equal":   compareOp(func(a, b float64) bool { return a == b }),
		"Where":   opWhere,
		"Not":     opNot,

		"Sqrt":    unaryOp(math.Sqrt),
		"Exp":     unaryOp(math.Exp),
		"Log":     unaryOp(math.Log),
		"Erf":     unaryOp(math.Erf),
		"Tanh":    unaryOp(math.Tanh),
		"Sigmoid": unaryOp(sigmoid),
		"Relu":    unaryOp(func(x float64) float64 { return math.Max(x, 0) }),
		"Neg":     unaryOp(func(x float64) float64 { return -x }),
		"Abs":     unaryOp(math.Abs),
		"Identity": func(n *Node, in []*Tensor) ([]*Tensor, error) {
			if err := need(in, 1); err != nil {
				return nil, err
			}
			return []*Tensor{in[0]}, nil
		},
		"LeakyRelu": opLeakyRelu,
		"PRelu":     opPRelu,
		"Clip":      opClip,
		"Cast":      opCast,

		"Gemm":   opGemm,
		"MatMul": opMatMul,

		"Softmax":    softmaxOp(false),
		"LogSoftmax": softmaxOp(true),
		"ReduceSum":  reduceOp("sum"),
		"ReduceMean": reduceOp("mean"),
		"ReduceMax":  reduceOp("max"),

		"Concat":          opConcat,
		"Split":           opSplit,
		"Slice":           opSlice,
		"Gather":          opGather,
		"Reshape":         opReshape,
		"Flatten":         opFlatten,
		"Transpose":       opTranspose,
		"Squeeze":         opSqueeze,
		"Unsqueeze":       opUnsqueeze,
		"Expand":          opExpand,
		"Tile":            opTile,
		"Shape":           opShape,
		"ConstantOfShape": opConstantOfShape,
		"Constant":        opConstant,

		"BatchNormalization": opBatchNorm,
		"LayerNormalization": opLayerNorm,
	}
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// need checks that the first k inputs are present.
func need(in []*Tensor, k int) error {
	if len(in) < k {
		return fmt.Errorf("has %d inputs, needs at least %d", len(in), k)
	}
	for i := 0; i < k; i++ {
		if in[i] == nil {
			return fmt.Errorf("input %d is missing", i)
		}
	}
	return nil
}

func opt(in []*Tensor, i int) *Tensor {
	if i < len(in) {
		return in[i]
	}
	return nil
}

func sameType(ts ...*Tensor) error {
	for _, t := range ts[1:] {
		if t.DType != ts[0].DType {
			return fmt.Errorf("inputs have different element types (%s and %s)", ts[0].DType, t.DType)
		}
	}
	return nil
}

// needSame checks that the first k inputs are present and share one element
// type.
func needSame(in []*Tensor, k int) error {
	if err := need(in, k); err != nil {
		return err
	}
	return sameType(in[:k]...)
}

// needAllSame checks that there is at least one input, that every input is
// present, and that they share one element type (the variadic ops).
func needAllSame(in []*Tensor) error {
	return needSame(in, max(len(in), 1))
}

// one is the result of a single-output op: y, or err.
func one(y *Tensor, err error) ([]*Tensor, error) {
	if err != nil {
		return nil, err
	}
	return []*Tensor{y}, nil
}

// axisAttr reads the int attribute "axis" (def if absent) and maps it into
// [0, rank).
func (n *Node) axisAttr(def int64, rank int) (int, error) {
	ax, err := n.attrInt("axis", def)
	if err != nil {
		return 0, err
	}
	return normAxis(ax, rank)
}

// BroadcastShapes is the numpy-style broadcast of shapes.
func BroadcastShapes(shapes ...[]int) ([]int, error) {
	r := 0
	for _, s := range shapes {
		r = max(r, len(s))
	}
	out := make([]int, r)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		for i, d := range s {
			j := r - len(s) + i
			switch {
			case d == out[j] || d == 1:
			case out[j] == 1:
				out[j] = d
			default:
				return nil, fmt.Errorf("shapes %v cannot be broadcast together (dimension %d: %d vs %d)", shapes, j, out[j], d)
			}
		}
	}
	return out, nil
}

// BroadcastIndex returns, for each flat index of shape out, the flat index
// of the element of a tensor of shape in (broadcastable to out, numpy's
// rules) that it reads.
func BroadcastIndex(out, in []int) []int {
	r := len(out)
	st := make([]int, r)
	s := 1
	for i := len(in) - 1; i >= 0; i-- {
		j := r - len(in) + i
		if in[i] != 1 {
			st[j] = s
		}
		s *= in[i]
	}
	return strideOffsets(out, st)
}

// strideOffsets returns, for each flat index of shape out in row-major
// order, the offset sum(ctr[d]*st[d]) of its multi-index ctr.
func strideOffsets(out, st []int) []int {
	r := len(out)
	idx := make([]int, numel(out))
	ctr := make([]int, r)
	off := 0
	for i := range idx {
		idx[i] = off
		for d := r - 1; d >= 0; d-- {
			ctr[d]++
			off += st[d]
			if ctr[d] < out[d] {
				break
			}
			off -= st[d] * out[d]
			ctr[d] = 0
		}
	}
	return idx
}

func unaryOp(f func(float64) float64) opFunc {
	return func(n *Node, in []*Tensor) ([]*Tensor, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		y := &Tensor{DType: x.DType, Shape: append([]int{}, x.Shape...), Data: make([]float64, len(x.Data))}
		for i, v := range x.Data {
			y.Data[i] = f(v)
		}
		return []*Tensor{y}, nil
	}
}

// broadcastApply computes out[i] = f(vals of each input at i) over the
// broadcast shape.
func broadcastApply(dt DType, ts []*Tensor, f func(v []float64) float64) (*Tensor, error) {
	shapes := make([][]int, len(ts))
	for i, t := range ts {
		shapes[i] = t.Shape
	}
	shape, err := BroadcastShapes(shapes...)
	if err != nil {
		return nil, err
	}
	if int64(numel(shape)) > maxTensorElems {
		return nil, fmt.Errorf("result shape %v is too large", shape)
	}
	maps := make([][]int, len(ts))
	for i, t := range ts {
		maps[i] = BroadcastIndex(shape, t.Shape)
	}
	y := &Tensor{DType: dt, Shape: shape, Data: make([]float64, numel(shape))}
	v := make([]float64, len(ts))
	for i := range y.Data {
		for k, t := range ts {
			v[k] = t.Data[maps[k][i]]
		}
		y.Data[i] = f(v)
	}
	return y, nil
}

func binaryOp(f func(a, b float64) float64) opFunc {
	return func(n *Node, in []*Tensor) ([]*Tensor, error) {
		if err := needSame(in, 2); err != nil {
			return nil, err
		}
		isInt := !in[0].DType.IsFloat()
		return one(broadcastApply(in[0].DType, in[:2], func(v []float64) float64 {
			r := f(v[0], v[1])
			if isInt {
				r = wrapInt(in[0].DType, r)
			}
			return r
		}))
	}
}

func opDiv(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := needSame(in, 2); err != nil {
		return nil, err
	}
	isInt := !in[0].DType.IsFloat()
	var divZero bool
	y, err := broadcastApply(in[0].DType, in[:2], func(v []float64) float64 {
		if isInt {
			if v[1] == 0 {
				divZero = true
				return 0
			}
			return math.Trunc(v[0] / v[1])
		}
		return v[0] / v[1]
	})
	if err != nil {
		return nil, err
	}
	if divZero {
		return nil, fmt.Errorf("integer division by zero")
	}
	return []*Tensor{y}, nil
}

func opPow(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 2); err != nil {
		return nil, err
	}
	isInt := !in[0].DType.IsFloat()
	return one(broadcastApply(in[0].DType, in[:2], func(v []float64) float64 {
		r := math.Pow(v[0], v[1])
		if isInt {
			r = math.Trunc(r)
		}
		return r
	}))
}

func variadicOp(f func(a, b float64) float64) opFunc {
	return func(n *Node, in []*Tensor) ([]*Tensor, error) {
		if err := needAllSame(in); err != nil {
			return nil, err
		}
		return one(broadcastApply(in[0].DType, in, func(v []float64) float64 {
			r := v[0]
			for _, x := range v[1:] {
				if math.IsNaN(x) || math.IsNaN(r) {
					r = math.NaN()
					continue
				}
				r = f(r, x)
			}
			return r
		}))
	}
}

func compareOp(f func(a, b float64) bool) opFunc {
	return func(n *Node, in []*Tensor) ([]*Tensor, error) {
		if err := needSame(in, 2); err != nil {
			return nil, err
		}
		return one(broadcastApply(Bool, in[:2], func(v []float64) float64 { return b2f(f(v[0], v[1])) }))
	}
}

func opWhere(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 3); err != nil {
		return nil, err
	}
	if in[0].DType != Bool {
		return nil, fmt.Errorf("condition is %s, not bool", in[0].DType)
	}
	if err := sameType(in[1], in[2]); err != nil {
		return nil, err
	}
	return one(broadcastApply(in[1].DType, in[:3], func(v []float64) float64 {
		if v[0] != 0 {
			return v[1]
		}
		return v[2]
	}))
}

func opNot(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 1); err != nil {
		return nil, err
	}
	if in[0].DType != Bool {
		return nil, fmt.Errorf("input is %s, not bool", in[0].DType)
	}
	y := in[0].Clone()
	for i, v := range y.Data {
		y.Data[i] = b2f(v == 0)
	}
	return []*Tensor{y}, nil
}

func opLeakyRelu(n *Node, in []*Tensor) ([]*Tensor, error) {
	alpha, err := n.attrFloat("alpha", 0.01)
	if err != nil {
		return nil, err
	}
	return unaryOp(func(x float64) float64 {
		if x < 0 {
			return alpha * x
		}
		return x
	})(n, in)
}

func opPRelu(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 2); err != nil {
		return nil, err
	}
	x, s := in[0], in[1]
	shape, err := BroadcastShapes(x.Shape, s.Shape)
	if err != nil || !slices.Equal(shape, x.Shape) {
		return nil, fmt.Errorf("slope shape %v does not broadcast to input shape %v", s.Shape, x.Shape)
	}
	return one(broadcastApply(x.DType, in[:2], func(v []float64) float64 {
		if v[0] < 0 {
			return v[1] * v[0]
		}
		return v[0]
	}))
}

func opClip(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 1); err != nil {
		return nil, err
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	for i, p := range []*float64{&lo, &hi} {
		if t := opt(in, i+1); t != nil {
			if len(t.Data) != 1 {
				return nil, fmt.Errorf("clip bound %d has %d values, not one", i+1, len(t.Data))
			}
			*p = t.Data[0]
		}
	}
	return unaryOp(func(x float64) float64 { return math.Min(math.Max(x, lo), hi) })(n, in[:1])
}

// wrapInt rounds a float result to the integer type's values.
func wrapInt(dt DType, v float64) float64 {
	switch dt {
	case Bool:
		return b2f(v != 0)
	case Int8:
		return float64(int8(toInt64(math.Trunc(v))))
	case Uint8:
		return float64(uint8(toInt64(math.Trunc(v))))
	case Int32:
		return float64(int32(toInt64(math.Trunc(v))))
	case Int64:
		return float64(toInt64(math.Trunc(v)))
	}
	return v
}

func opCast(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 1); err != nil {
		return nil, err
	}
	to, err := n.attrInt("to", 0)
	if err != nil {
		return nil, err
	}
	dt := DType(to)
	if !dt.Supported() {
		return nil, fmt.Errorf("cast to %s is not supported", dt)
	}
	y := in[0].Clone()
	y.DType = dt
	if !dt.IsFloat() {
		for i, v := range y.Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				if dt != Bool {
					return nil, fmt.Errorf("casting %v to %s", v, dt)
				}
			}
			y.Data[i] = wrapInt(dt, v)
		}
	}
	// Float targets keep the float64 value: the reference computes every
	// float type in double precision.
	return []*Tensor{y}, nil
}

func opGemm(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 2); err != nil {
		return nil, err
	}
	alpha, err1 := n.attrFloat("alpha", 1)
	beta, err2 := n.attrFloat("beta", 1)
	ta, err3 := n.attrInt("transA", 0)
	tb, err4 := n.attrInt("transB", 0)
	for _, e := range []error{err1, err2, err3, err4} {
		if e != nil {
			return nil, e
		}
	}
	a, b := in[0], in[1]
	if a.Rank() != 2 || b.Rank() != 2 {
		return nil, fmt.Errorf("A %v and B %v must be matrices", a.Shape, b.Shape)
	}
	m, k := a.Shape[0], a.Shape[1]
	if ta != 0 {
		m, k = k, m
	}
	kb, nn := b.Shape[0], b.Shape[1]
	if tb != 0 {
		kb, nn = nn, kb
	}
	if k != kb {
		return nil, fmt.Errorf("A %v (transA %d) and B %v (transB %d) do not chain", a.Shape, ta, b.Shape, tb)
	}
	at := func(i, p int) float64 {
		if ta != 0 {
			return a.Data[p*a.Shape[1]+i]
		}
		return a.Data[i*a.Shape[1]+p]
	}
	bt := func(p, j int) float64 {
		if tb != 0 {
			return b.Data[j*b.Shape[1]+p]
		}
		return b.Data[p*b.Shape[1]+j]
	}
	y := &Tensor{DType: a.DType, Shape: []int{m, nn}, Data: make([]float64, m*nn)}
	var cmap []int
	c := opt(in, 2)
	if c != nil {
		shape, err := BroadcastShapes([]int{m, nn}, c.Shape)
		if err != nil || !slices.Equal(shape, []int{m, nn}) {
			return nil, fmt.Errorf("C %v does not broadcast to [%d %d]", c.Shape, m, nn)
		}
		cmap = BroadcastIndex(y.Shape, c.Shape)
	}
	for i := 0; i < m; i++ {
		for j := 0; j < nn; j++ {
			s := 0.0
			for p := 0; p < k; p++ {
				s += at(i, p) * bt(p, j)
			}
			s *= alpha
			if c != nil {
				s += beta * c.Data[cmap[i*nn+j]]
			}
			y.Data[i*nn+j] = s
		}
	}
	return []*Tensor{y}, nil
}

func opMatMul(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := needSame(in, 2); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	if a.Rank() == 0 || b.Rank() == 0 {
		return nil, fmt.Errorf("MatMul of a scalar")
	}
	as, bs := append([]int{}, a.Shape...), append([]int{}, b.Shape...)
	if len(as) == 1 {
		as = []int{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int{bs[0], 1}
	}
	m, k := as[len(as)-2], as[len(as)-1]
	kb, nn := bs[len(bs)-2], bs[len(bs)-1]
	if k != kb {
		return nil, fmt.Errorf("shapes %v and %v do not chain (%d vs %d)", a.Shape, b.Shape, k, kb)
	}
	batch, err := BroadcastShapes(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, err
	}
	amap, bmap := BroadcastIndex(batch, as[:len(as)-2]), BroadcastIndex(batch, bs[:len(bs)-2])
	nb := numel(batch)
	if int64(nb)*int64(m)*int64(nn) > maxTensorElems {
		return nil, fmt.Errorf("result is too large")
	}
	y := make([]float64, nb*m*nn)
	for bi := 0; bi < nb; bi++ {
		ao, bo, yo := amap[bi]*m*k, bmap[bi]*k*nn, bi*m*nn
		for i := 0; i < m; i++ {
			for j := 0; j < nn; j++ {
				s := 0.0
				for p := 0; p < k; p++ {
					s += a.Data[ao+i*k+p] * b.Data[bo+p*nn+j]
				}
				y[yo+i*nn+j] = s
			}
		}
	}
	shape := append(batch, m, nn)
	if len(a.Shape) == 1 {
		shape = append(shape[:len(shape)-2], nn)
	}
	if len(b.Shape) == 1 {
		shape = shape[:len(shape)-1]
	}
	return []*Tensor{{DType: a.DType, Shape: shape, Data: y}}, nil
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

// split3 returns the products of the dims before, at and after axis.
func split3(shape []int, axis int) (outer, mid, inner int) {
	return numel(shape[:axis]), shape[axis], numel(shape[axis+1:])
}

func softmaxOp(logOut bool) opFunc {
	return func(n *Node, in []*Tensor) ([]*Tensor, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		axis, err := n.axisAttr(-1, x.Rank())
		if err != nil {
			return nil, err
		}
		y := x.Clone()
		outer, mid, inner := split3(x.Shape, axis)
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				base := o*mid*inner + i
				mx := math.Inf(-1)
				for j := 0; j < mid; j++ {
					mx = math.Max(mx, x.Data[base+j*inner])
				}
				sum := 0.0
				for j := 0; j < mid; j++ {
					sum += math.Exp(x.Data[base+j*inner] - mx)
				}
				for j := 0; j < mid; j++ {
					v := x.Data[base+j*inner] - mx
					if logOut {
						y.Data[base+j*inner] = v - math.Log(sum)
					} else {
						y.Data[base+j*inner] = math.Exp(v) / sum
					}
				}
			}
		}
		return []*Tensor{y}, nil
	}
}

// normAxes normalizes a list of axes for rank r, in the given order,
// refusing duplicates.
func normAxes(list []int64, r int) ([]int, error) {
	out := make([]int, 0, len(list))
	seen := map[int]bool{}
	for _, a := range list {
		ax, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		if seen[ax] {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		seen[ax] = true
		out = append(out, ax)
	}
	return out, nil
}

// axesOf normalizes a list of axes for rank r, refusing duplicates, and
// sorts them.
func axesOf(list []int64, r int) ([]int, error) {
	out, err := normAxes(list, r)
	if err != nil {
		return nil, err
	}
	sort.Ints(out)
	return out, nil
}

func reduceOp(kind string) opFunc {
	return func(n *Node, in []*Tensor) ([]*Tensor, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		keep, err := n.attrInt("keepdims", 1)
		if err != nil {
			return nil, err
		}
		noop, err := n.attrInt("noop_with_empty_axes", 0)
		if err != nil {
			return nil, err
		}
		// ReduceSum takes axes as an input from opset 13, the others from
		// opset 18; before that they are an attribute.
		var list []int64
		if kind == "sum" || n.Opset >= 18 {
			if _, ok := n.Attrs["axes"]; ok {
				return nil, fmt.Errorf("axes is an input at opset %d, not an attribute", n.Opset)
			}
			if t := opt(in, 1); t != nil {
				list = t.Ints()
			}
		} else {
			if opt(in, 1) != nil {
				return nil, fmt.Errorf("axes is an attribute at opset %d, not an input", n.Opset)
			}
			list, _, err = n.attrInts("axes")
			if err != nil {
				return nil, err
			}
		}
		if len(list) == 0 {
			if noop != 0 {
				return []*Tensor{x}, nil
			}
			list = make([]int64, x.Rank())
			for i := range list {
				list[i] = int64(i)
			}
		}
		axes, err := axesOf(list, x.Rank())
		if err != nil {
			return nil, err
		}
		kshape := append([]int{}, x.Shape...)
		for _, a := range axes {
			kshape[a] = 1
		}
		outIdx := BroadcastIndex(x.Shape, kshape) // input element → output element
		m := numel(kshape)
		acc := make([]float64, m)
		if kind == "max" {
			if x.Len() == 0 {
				return nil, fmt.Errorf("ReduceMax over an empty tensor")
			}
			for i := range acc {
				acc[i] = math.Inf(-1)
			}
		}
		for i, v := range x.Data {
			o := outIdx[i]
			if kind == "max" {
				if v > acc[o] || math.IsNaN(v) {
					acc[o] = v
				}
			} else {
				acc[o] += v
			}
		}
		if kind == "mean" {
			cnt := float64(x.Len()) / float64(max(m, 1))
			for i := range acc {
				acc[i] /= cnt
			}
		}
		if !x.DType.IsFloat() {
			for i := range acc {
				acc[i] = wrapInt(x.DType, math.Trunc(acc[i]))
			}
		}
		shape := kshape
		if keep == 0 {
			shape = nil
			j := 0
			for i, d := range kshape {
				if j < len(axes) && axes[j] == i {
					j++
					continue
				}
				shape = append(shape, d)
			}
			if shape == nil {
				shape = []int{}
			}
		}
		return []*Tensor{{DType: x.DType, Shape: shape, Data: acc}}, nil
	}
}

func opConcat(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := needAllSame(in); err != nil {
		return nil, err
	}
	if _, ok := n.Attrs["axis"]; !ok {
		return nil, fmt.Errorf("attribute axis is required")
	}
	r := in[0].Rank()
	axis, err := n.axisAttr(0, r)
	if err != nil {
		return nil, err
	}
	shape := append([]int{}, in[0].Shape...)
	shape[axis] = 0
	for _, t := range in {
		if t.Rank() != r {
			return nil, fmt.Errorf("inputs have ranks %d and %d", r, t.Rank())
		}
		for d := range shape {
			if d != axis && t.Shape[d] != shape[d] {
				return nil, fmt.Errorf("input shapes %v and %v differ outside axis %d", in[0].Shape, t.Shape, axis)
			}
		}
		shape[axis] += t.Shape[axis]
	}
	outer := numel(shape[:axis])
	y := make([]float64, 0, numel(shape))
	for o := 0; o < outer; o++ {
		for _, t := range in {
			c := t.Shape[axis] * numel(t.Shape[axis+1:])
			y = append(y, t.Data[o*c:(o+1)*c]...)
		}
	}
	return []*Tensor{{DType: in[0].DType, Shape: shape, Data: y}}, nil
}

func opSplit(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	axis, err := n.axisAttr(0, x.Rank())
	if err != nil {
		return nil, err
	}
	dim := x.Shape[axis]
	k := len(n.Outputs)
	var sizes []int
	if _, ok := n.Attrs["split"]; ok {
		return nil, fmt.Errorf("split is an input at opset %d, not an attribute", n.Opset)
	}
	if t := opt(in, 1); t != nil {
		for _, s := range t.Ints() {
			if s < 0 {
				return nil, fmt.Errorf("split size %d is negative", s)
			}
			sizes = append(sizes, int(s))
		}
		if len(sizes) != k {
			return nil, fmt.Errorf("split has %d sizes for %d outputs", len(sizes), k)
		}
	} else {
		if no, err := n.attrInt("num_outputs", int64(k)); err != nil {
			return nil, err
		} else if no != int64(k) {
			return nil, fmt.Errorf("num_outputs %d but %d outputs", no, k)
		}
		if k == 0 {
			return nil, fmt.Errorf("no outputs")
		}
		// Equal parts; from opset 18 the last may be smaller.
		c := (dim + k - 1) / k
		if n.Opset < 18 && dim%k != 0 {
			return nil, fmt.Errorf("dimension %d does not split into %d equal parts", dim, k)
		}
		for i := 0; i < k; i++ {
			sizes = append(sizes, min(c, dim-i*c))
		}
	}
	total := 0
	for _, s := range sizes {
		total += s
	}
	if total != dim {
		return nil, fmt.Errorf("split sizes %v sum to %d, dimension %d of %v is %d", sizes, total, axis, x.Shape, dim)
	}
	outer, _, inner := split3(x.Shape, axis)
	out := make([]*Tensor, k)
	start := 0
	for i, s := range sizes {
		shape := append([]int{}, x.Shape...)
		shape[axis] = s
		y := make([]float64, 0, outer*s*inner)
		for o := 0; o < outer; o++ {
			base := o*dim*inner + start*inner
			y = append(y, x.Data[base:base+s*inner]...)
		}
		out[i] = &Tensor{DType: x.DType, Shape: shape, Data: y}
		start += s
	}
	return out, nil
}

func opSlice(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 3); err != nil {
		return nil, err
	}
	x := in[0]
	r := x.Rank()
	starts, ends := in[1].Ints(), in[2].Ints()
	if len(starts) != len(ends) {
		return nil, fmt.Errorf("starts has %d values, ends %d", len(starts), len(ends))
	}
	axes := make([]int64, len(starts))
	for i := range axes {
		axes[i] = int64(i)
	}
	if t := opt(in, 3); t != nil {
		axes = t.Ints()
	}
	steps := make([]int64, len(starts))
	for i := range steps {
		steps[i] = 1
	}
	if t := opt(in, 4); t != nil {
		steps = t.Ints()
	}
	if len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, fmt.Errorf("starts, ends, axes and steps have %d, %d, %d and %d values", len(starts), len(ends), len(axes), len(steps))
	}
	lo := make([]int, r)
	step := make([]int, r)
	cnt := append([]int{}, x.Shape...)
	for i := range step {
		step[i] = 1
	}
	axs, err := normAxes(axes, r)
	if err != nil {
		return nil, err
	}
	for i, ax := range axs {
		a := axes[i]
		d := int64(x.Shape[ax])
		s, e, st := starts[i], ends[i], steps[i]
		if st == 0 {
			return nil, fmt.Errorf("step 0 on axis %d", a)
		}
		if s < 0 {
			s += d
		}
		if e < 0 && e > math.MinInt64+d {
			e += d
		}
		if st > 0 {
			s = min(max(s, 0), d)
			e = min(max(e, 0), d)
		} else {
			s = min(max(s, 0), d-1)
			e = min(max(e, -1), d-1)
		}
		c := int64(0)
		if st > 0 && e > s {
			c = (e - s + st - 1) / st
		} else if st < 0 && s > e {
			c = (s - e - st - 1) / -st
		}
		lo[ax], step[ax], cnt[ax] = int(s), int(st), int(c)
	}
	return []*Tensor{gatherAt(x, cnt, func(d, c int) int { return lo[d] + c*step[d] })}, nil
}

// gatherAt is the tensor of shape out (same rank as x) whose element at
// multi-index ctr is x's element at multi-index (src(d, ctr[d]) for each
// axis d), in row-major order.
func gatherAt(x *Tensor, out []int, src func(d, c int) int) *Tensor {
	r := x.Rank()
	st := strides(x.Shape)
	y := make([]float64, numel(out))
	ctr := make([]int, r)
	for i := range y {
		off := 0
		for d := 0; d < r; d++ {
			off += src(d, ctr[d]) * st[d]
		}
		y[i] = x.Data[off]
		advance(ctr, out)
	}
	return &Tensor{DType: x.DType, Shape: out, Data: y}
}

func opGather(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 2); err != nil {
		return nil, err
	}
	x, idx := in[0], in[1]
	if idx.DType != Int64 && idx.DType != Int32 {
		return nil, fmt.Errorf("indices are %s, not int32/int64", idx.DType)
	}
	axis, err := n.axisAttr(0, x.Rank())
	if err != nil {
		return nil, err
	}
	outer, dim, inner := split3(x.Shape, axis)
	shape := append(append(append([]int{}, x.Shape[:axis]...), idx.Shape...), x.Shape[axis+1:]...)
	if int64(numel(shape)) > maxTensorElems {
		return nil, fmt.Errorf("result shape %v is too large", shape)
	}
	y := make([]float64, 0, numel(shape))
	for o := 0; o < outer; o++ {
		for p, iv := range idx.Data {
			j := toInt64(iv)
			if j < 0 {
				j += int64(dim)
			}
			if j < 0 || j >= int64(dim) {
				return nil, fmt.Errorf("index %d (at flat position %d) is outside [%d, %d) of axis %d", toInt64(iv), p, -dim, dim, axis)
			}
			base := (o*dim + int(j)) * inner
			y = append(y, x.Data[base:base+inner]...)
		}
	}
	return []*Tensor{{DType: x.DType, Shape: shape, Data: y}}, nil
}

func opReshape(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	allowZero, err := n.attrInt("allowzero", 0)
	if err != nil {
		return nil, err
	}
	want := in[1].Ints()
	shape := make([]int, len(want))
	infer := -1
	known := 1
	for i, d := range want {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has two -1", want)
			}
			infer = i
			continue
		case d == 0 && allowZero == 0:
			if i >= x.Rank() {
				return nil, fmt.Errorf("shape %v copies dimension %d of %v, which has rank %d", want, i, x.Shape, x.Rank())
			}
			shape[i] = x.Shape[i]
		case d < 0 || d > maxTensorElems:
			return nil, fmt.Errorf("shape %v has dimension %d", want, d)
		default:
			shape[i] = int(d)
		}
		known *= shape[i]
	}
	if infer >= 0 {
		if known == 0 || x.Len()%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", x.Shape, want)
		}
		shape[infer] = x.Len() / known
	}
	if numel(shape) != x.Len() {
		return nil, fmt.Errorf("cannot reshape %v (%d values) to %v", x.Shape, x.Len(), want)
	}
	return []*Tensor{{DType: x.DType, Shape: shape, Data: x.Data}}, nil
}

func opFlatten(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	ax, err := n.attrInt("axis", 1)
	if err != nil {
		return nil, err
	}
	if ax < -int64(x.Rank()) || ax > int64(x.Rank()) {
		return nil, fmt.Errorf("axis %d is out of range for rank %d", ax, x.Rank())
	}
	if ax < 0 {
		ax += int64(x.Rank())
	}
	return []*Tensor{{DType: x.DType, Shape: []int{numel(x.Shape[:ax]), numel(x.Shape[ax:])}, Data: x.Data}}, nil
}

func opTranspose(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	r := x.Rank()
	perm, ok, err := n.attrInts("perm")
	if err != nil {
		return nil, err
	}
	if !ok {
		for i := r - 1; i >= 0; i-- {
			perm = append(perm, int64(i))
		}
	}
	if len(perm) != r {
		return nil, fmt.Errorf("perm %v for rank %d", perm, r)
	}
	p, err := axesOf(perm, r)
	if err != nil || len(p) != r {
		return nil, fmt.Errorf("perm %v is not a permutation of rank %d", perm, r)
	}
	st := strides(x.Shape)
	shape := make([]int, r)
	ist := make([]int, r)
	for i, a := range perm {
		shape[i] = x.Shape[a]
		ist[i] = st[a]
	}
	y := make([]float64, x.Len())
	for i, off := range strideOffsets(shape, ist) {
		y[i] = x.Data[off]
	}
	return []*Tensor{{DType: x.DType, Shape: shape, Data: y}}, nil
}

// axesInput reads Squeeze/Unsqueeze axes: an input from opset 13.
func axesInput(n *Node, in []*Tensor) ([]int64, bool, error) {
	if _, ok := n.Attrs["axes"]; ok {
		return nil, false, fmt.Errorf("axes is an input at opset %d, not an attribute", n.Opset)
	}
	if t := opt(in, 1); t != nil {
		return t.Ints(), true, nil
	}
	return nil, false, nil
}

func opSqueeze(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	list, given, err := axesInput(n, in)
	if err != nil {
		return nil, err
	}
	drop := map[int]bool{}
	if given {
		axes, err := axesOf(list, x.Rank())
		if err != nil {
			return nil, err
		}
		for _, a := range axes {
			if x.Shape[a] != 1 {
				return nil, fmt.Errorf("cannot squeeze axis %d of %v (size %d)", a, x.Shape, x.Shape[a])
			}
			drop[a] = true
		}
	} else {
		for i, d := range x.Shape {
			if d == 1 {
				drop[i] = true
			}
		}
	}
	shape := []int{}
	for i, d := range x.Shape {
		if !drop[i] {
			shape = append(shape, d)
		}
	}
	return []*Tensor{{DType: x.DType, Shape: shape, Data: x.Data}}, nil
}

func opUnsqueeze(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 2); err != nil {
		return nil, fmt.Errorf("%w (axes is an input from opset 13)", err)
	}
	x := in[0]
	list, _, err := axesInput(n, in)
	if err != nil {
		return nil, err
	}
	r := x.Rank() + len(list)
	axes, err := axesOf(list, r)
	if err != nil {
		return nil, err
	}
	shape := make([]int, 0, r)
	j, k := 0, 0
	for i := 0; i < r; i++ {
		if j < len(axes) && axes[j] == i {
			shape = append(shape, 1)
			j++
			continue
		}
		shape = append(shape, x.Shape[k])
		k++
	}
	return []*Tensor{{DType: x.DType, Shape: shape, Data: x.Data}}, nil
}

func opExpand(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 2); err != nil {
		return nil, err
	}
	want := in[1].Ints()
	ws := make([]int, len(want))
	for i, d := range want {
		if d < 0 || d > maxTensorElems {
			return nil, fmt.Errorf("shape %v has dimension %d", want, d)
		}
		ws[i] = int(d)
	}
	shape, err := BroadcastShapes(in[0].Shape, ws)
	if err != nil {
		return nil, err
	}
	if int64(numel(shape)) > maxTensorElems {
		return nil, fmt.Errorf("result shape %v is too large", shape)
	}
	x := in[0]
	m := BroadcastIndex(shape, x.Shape)
	y := make([]float64, len(m))
	for i, j := range m {
		y[i] = x.Data[j]
	}
	return []*Tensor{{DType: x.DType, Shape: shape, Data: y}}, nil
}

func opTile(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	rep := in[1].Ints()
	if len(rep) != x.Rank() {
		return nil, fmt.Errorf("repeats has %d values for rank %d", len(rep), x.Rank())
	}
	shape := make([]int, x.Rank())
	total := int64(1)
	for i, r := range rep {
		if r < 0 {
			return nil, fmt.Errorf("repeat %d is negative", r)
		}
		shape[i] = x.Shape[i] * int(r)
		total *= int64(max(shape[i], 1))
		if total > maxTensorElems {
			return nil, fmt.Errorf("result is too large")
		}
	}
	return []*Tensor{gatherAt(x, shape, func(d, c int) int { return c % x.Shape[d] })}, nil
}

func opShape(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 1); err != nil {
		return nil, err
	}
	r := int64(in[0].Rank())
	start, err := n.attrInt("start", 0)
	if err != nil {
		return nil, err
	}
	end, err := n.attrInt("end", r)
	if err != nil {
		return nil, err
	}
	if start < 0 {
		start += r
	}
	if end < 0 {
		end += r
	}
	start, end = min(max(start, 0), r), min(max(end, 0), r)
	y := []float64{}
	for i := start; i < end; i++ {
		y = append(y, float64(in[0].Shape[i]))
	}
	return []*Tensor{{DType: Int64, Shape: []int{len(y)}, Data: y}}, nil
}

func opConstantOfShape(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 1); err != nil {
		return nil, err
	}
	dt, v := Float32, 0.0
	if a, ok := n.Attrs["value"]; ok {
		if a.Kind != AttrTensor || a.T.Len() != 1 {
			return nil, fmt.Errorf("attribute value should be a one-element tensor")
		}
		dt, v = a.T.DType, a.T.Data[0]
	}
	want := in[0].Ints()
	shape := make([]int, len(want))
	total := int64(1)
	for i, d := range want {
		if d < 0 {
			return nil, fmt.Errorf("shape %v has dimension %d", want, d)
		}
		shape[i] = int(min(d, maxTensorElems))
		total *= max(d, 1)
		if total > maxTensorElems {
			return nil, fmt.Errorf("shape %v is too large", want)
		}
	}
	y := make([]float64, numel(shape))
	for i := range y {
		y[i] = v
	}
	return []*Tensor{{DType: dt, Shape: shape, Data: y}}, nil
}

func opConstant(n *Node, in []*Tensor) ([]*Tensor, error) {
	if len(n.Attrs) != 1 {
		return nil, fmt.Errorf("needs exactly one value attribute, has %d", len(n.Attrs))
	}
	for name, a := range n.Attrs {
		switch {
		case name == "value" && a.Kind == AttrTensor:
			return []*Tensor{a.T}, nil
		case name == "value_float" && a.Kind == AttrFloat:
			return []*Tensor{Scalar(Float32, a.F)}, nil
		case name == "value_floats" && a.Kind == AttrFloats:
			return []*Tensor{{DType: Float32, Shape: []int{len(a.Floats)}, Data: append([]float64{}, a.Floats...)}}, nil
		case name == "value_int" && a.Kind == AttrInt:
			return []*Tensor{Scalar(Int64, float64(a.I))}, nil
		case name == "value_ints" && a.Kind == AttrInts:
			t := &Tensor{DType: Int64, Shape: []int{len(a.Ints)}, Data: make([]float64, len(a.Ints))}
			for i, v := range a.Ints {
				t.Data[i] = float64(v)
			}
			return []*Tensor{t}, nil
		}
		return nil, fmt.Errorf("attribute %q is not supported", name)
	}
	return nil, nil
}

func opBatchNorm(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 5); err != nil {
		return nil, err
	}
	if tm, err := n.attrInt("training_mode", 0); err != nil || tm != 0 {
		return nil, fmt.Errorf("training_mode=1 is not supported (export the model in eval mode: model.eval())")
	}
	eps, err := n.attrFloat("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	x := in[0]
	if x.Rank() < 2 {
		return nil, fmt.Errorf("input %v has no channel axis", x.Shape)
	}
	c := x.Shape[1]
	for i, p := range in[1:5] {
		if p.Len() != c || p.Rank() != 1 {
			return nil, fmt.Errorf("parameter %d has shape %v, want [%d]", i+1, p.Shape, c)
		}
	}
	scale, bias, mean, vr := in[1].Data, in[2].Data, in[3].Data, in[4].Data
	inner := numel(x.Shape[2:])
	y := x.Clone()
	for i := range y.Data {
		ch := (i / inner) % c
		y.Data[i] = (x.Data[i]-mean[ch])/math.Sqrt(vr[ch]+eps)*scale[ch] + bias[ch]
	}
	return []*Tensor{y}, nil
}

func opLayerNorm(n *Node, in []*Tensor) ([]*Tensor, error) {
	if err := need(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	axis, err := n.axisAttr(-1, x.Rank())
	if err != nil {
		return nil, err
	}
	eps, err := n.attrFloat("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	norm := x.Shape[axis:]
	m := numel(norm)
	outer := numel(x.Shape[:axis])
	bc := func(t *Tensor) ([]int, error) {
		s, err := BroadcastShapes(norm, t.Shape)
		if err != nil || !slices.Equal(s, norm) {
			return nil, fmt.Errorf("scale/bias shape %v does not broadcast to the normalized shape %v", t.Shape, norm)
		}
		return BroadcastIndex(norm, t.Shape), nil
	}
	smap, err := bc(in[1])
	if err != nil {
		return nil, err
	}
	b := opt(in, 2)
	var bmap []int
	if b != nil {
		if bmap, err = bc(b); err != nil {
			return nil, err
		}
	}
	y := x.Clone()
	kshape := append(append([]int{}, x.Shape[:axis]...), make([]int, len(norm))...)
	for i := axis; i < len(kshape); i++ {
		kshape[i] = 1
	}
	mean := &Tensor{DType: x.DType, Shape: kshape, Data: make([]float64, outer)}
	inv := &Tensor{DType: x.DType, Shape: kshape, Data: make([]float64, outer)}
	for o := 0; o < outer; o++ {
		row := x.Data[o*m : (o+1)*m]
		mu := 0.0
		for _, v := range row {
			mu += v
		}
		mu /= float64(m)
		vr := 0.0
		for _, v := range row {
			vr += (v - mu) * (v - mu)
		}
		vr /= float64(m)
		is := 1 / math.Sqrt(vr+eps)
		mean.Data[o], inv.Data[o] = mu, is
		for j, v := range row {
			r := (v - mu) * is * in[1].Data[smap[j]]
			if b != nil {
				r += b.Data[bmap[j]]
			}
			y.Data[o*m+j] = r
		}
	}
	return []*Tensor{y, mean, inv}, nil
}
