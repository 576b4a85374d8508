package plan

import (
	"fmt"
	"math"
	"slices"

	"nann/internal/vec"
	"nann/onnx"
)

// ---- MatMul and Gemm ----

// gemmCall is one vec.Gemm over buffer offsets.
type gemmCall struct {
	aOff, bOff, cOff int
}

type matmulKernel struct {
	a, b, dst      int
	transA, transB bool
	m, n, k        int
	lda, ldb       int
	calls          []gemmCall
	alpha          float32
}

func (k *matmulKernel) run(st *state) {
	a, b, d := st.b[k.a], st.b[k.b], st.b[k.dst]
	for _, c := range k.calls {
		vec.Gemm(&st.gw, k.transA, k.transB, k.m, k.n, k.k, k.alpha, a[c.aOff:], k.lda, b[c.bOff:], k.ldb, 0, d[c.cOff:], k.n)
	}
}

func (c *compiler) matmul(n *onnx.Node) error {
	av, bv := n.Inputs[0], n.Inputs[1]
	a, err := c.inBroadcast(av)
	if err != nil {
		return err
	}
	b, err := c.inBroadcast(bv)
	if err != nil {
		return err
	}
	as, bs := c.shape(a), c.shape(b)
	want := n.Outputs[0].Shape.At(c.B)
	if len(as) < 2 || len(bs) < 2 {
		// 1-D operands: materialize and let the generic path handle them
		// as matrices of one row or column.
		return fmt.Errorf("MatMul with a 1-D operand (%v × %v) is not supported in the pair stage", as, bs)
	}
	m, kk, nn := as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
	batch, err := onnx.BroadcastShapes(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil || !slices.Equal(append(append([]int{}, batch...), m, nn), want) {
		// A user operand in broadcast form does not give the right shape:
		// use the repeated form.
		if a, err = c.in(av); err != nil {
			return err
		}
		if b, err = c.in(bv); err != nil {
			return err
		}
		as, bs = c.shape(a), c.shape(b)
		m, kk, nn = as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
		if batch, err = onnx.BroadcastShapes(as[:len(as)-2], bs[:len(bs)-2]); err != nil {
			return err
		}
	}
	nb := numel(batch)
	aShared, bShared := numel(as[:len(as)-2]) == 1, numel(bs[:len(bs)-2]) == 1
	// The tile kernels, where one side is a matrix shared by the batch.
	if bShared && numel(as[:len(as)-2]) == nb {
		if t := c.constTensor(bv); t != nil && t.Rank() == 2 {
			if c.dense(a, nb*m, kk, nn, t.Float32s(), -1, false, 1, nil, n.Outputs[0]) {
				return nil
			}
		} else if c.pr.bufs[b].kind == bUser {
			if c.dense(a, nb*m, kk, nn, nil, b, false, 1, nil, n.Outputs[0]) {
				return nil
			}
		}
	}
	if aShared && nn == 1 && numel(bs[:len(bs)-2]) == nb && !bShared {
		if t := c.constTensor(av); t != nil && t.Rank() == 2 {
			if c.dense(b, nb, kk, m, t.Float32s(), -1, true, 1, nil, n.Outputs[0]) {
				return nil
			}
		} else if c.pr.bufs[a].kind == bUser {
			if c.dense(b, nb, kk, m, nil, a, true, 1, nil, n.Outputs[0]) {
				return nil
			}
		}
	}
	dst := c.out(n.Outputs[0])
	amap, bmap := bcastMap(batch, as[:len(as)-2]), bcastMap(batch, bs[:len(bs)-2])
	k := &matmulKernel{a: a, b: b, dst: dst, m: m, n: nn, k: kk, lda: kk, ldb: nn, alpha: 1}
	switch {
	case bShared:
		// One B for every batch entry: A's batch entries stack into rows
		// (contiguous, as A's matrices are row-major and consecutive).
		if numel(as[:len(as)-2]) == nb {
			k.m = nb * m
			k.calls = []gemmCall{{}}
			break
		}
		fallthrough
	case aShared && nn == 1:
		if aShared && nn == 1 && numel(bs[:len(bs)-2]) == nb && !bShared {
			// out[b] = A · x_b for a shared A (m×k) and vectors x_b: the
			// batch of vectors times Aᵀ, one GEMM (nb×k · k×m).
			k2 := &matmulKernel{a: b, b: a, dst: dst, m: nb, n: m, k: kk, lda: kk, ldb: kk, transB: true, alpha: 1, calls: []gemmCall{{}}}
			c.pr.kernels = append(c.pr.kernels, k2)
			return nil
		}
		fallthrough
	default:
		for i := 0; i < nb; i++ {
			k.calls = append(k.calls, gemmCall{aOff: int(amap[i]) * m * kk, bOff: int(bmap[i]) * kk * nn, cOff: i * m * nn})
		}
	}
	c.pr.kernels = append(c.pr.kernels, k)
	return nil
}

type gemmBiasKernel struct {
	mm   *matmulKernel
	dst  int
	bias operand
	beta float32
}

func (k *gemmBiasKernel) run(st *state) {
	d := st.b[k.dst]
	m := k.mm
	a, b := st.b[m.a], st.b[m.b]
	vec.Gemm(&st.gw, m.transA, m.transB, m.m, m.n, m.k, m.alpha, a, m.lda, b, m.ldb, 0, d, m.n)
	if k.bias.mode == 1 {
		bias := st.b[k.bias.buf][:k.bias.m]
		for lo := 0; lo < len(d); lo += k.bias.m {
			row := d[lo : lo+k.bias.m]
			for j := range row {
				row[j] += k.beta * bias[j]
			}
		}
		return
	}
	for i := range d {
		d[i] += k.beta * k.bias.at(st, i)
	}
}

func (c *compiler) gemm(n *onnx.Node) error {
	a, err := c.in(n.Inputs[0])
	if err != nil {
		return err
	}
	b, err := c.in(n.Inputs[1])
	if err != nil {
		return err
	}
	as, bs := c.shape(a), c.shape(b)
	ta, tb := attrInt(n, "transA", 0) != 0, attrInt(n, "transB", 0) != 0
	m, kk := as[0], as[1]
	if ta {
		m, kk = kk, m
	}
	nn := bs[1]
	if tb {
		nn = bs[0]
	}
	cv := n.Input(2)
	beta := float32(attrFloat(n, "beta", 1))
	if t := c.constTensor(n.Inputs[1]); t != nil && !ta {
		var bias []float32
		ok := true
		if cv != nil && beta != 0 {
			ct := c.constTensor(cv)
			switch {
			case ct == nil:
				ok = false
			case ct.Len() == nn && ct.Shape[ct.Rank()-1] == nn:
				bias = ct.Float32s()
			case ct.Len() == 1:
				bias = make([]float32, nn)
				for j := range bias {
					bias[j] = float32(ct.Data[0])
				}
			default:
				ok = false
			}
			for j := range bias {
				bias[j] *= beta
			}
		}
		if ok && c.dense(a, m, kk, nn, t.Float32s(), -1, tb, float32(attrFloat(n, "alpha", 1)), bias, n.Outputs[0]) {
			return nil
		}
	}
	dst := c.out(n.Outputs[0])
	mm := &matmulKernel{a: a, b: b, dst: dst, m: m, n: nn, k: kk, lda: as[1], ldb: bs[1], transA: ta, transB: tb,
		alpha: float32(attrFloat(n, "alpha", 1)), calls: []gemmCall{{}}}
	if cv == nil || beta == 0 {
		c.pr.kernels = append(c.pr.kernels, mm)
		return nil
	}
	cb, err := c.in(cv)
	if err != nil {
		return err
	}
	op := makeOperand(cb, c.shape(cb), []int{m, nn})
	c.pr.kernels = append(c.pr.kernels, &gemmBiasKernel{mm: mm, dst: dst, bias: op, beta: beta})
	return nil
}

// ---- softmax ----

type softmaxKernel struct {
	src, dst          int
	outer, mid, inner int
	log               bool
	tmp               int // scratch buffer of mid values
}

func (k *softmaxKernel) run(st *state) {
	x, y := st.b[k.src], st.b[k.dst]
	if k.inner == 1 && !k.log {
		// Rows are contiguous: shift each by its max, one exponential
		// over the whole block, then normalise.
		m := k.mid
		for o := 0; o < k.outer; o++ {
			row, out := x[o*m:(o+1)*m], y[o*m:(o+1)*m]
			mx := row[0]
			for _, v := range row[1:] {
				mx = max(mx, v)
			}
			for j, v := range row {
				out[j] = v - mx
			}
		}
		vec.Exp(y[:k.outer*m], y[:k.outer*m])
		for o := 0; o < k.outer; o++ {
			out := y[o*m : (o+1)*m]
			var sum float32
			for _, v := range out {
				sum += v
			}
			inv := 1 / sum
			for j := range out {
				out[j] *= inv
			}
		}
		return
	}
	for o := 0; o < k.outer; o++ {
		for i := 0; i < k.inner; i++ {
			base := o*k.mid*k.inner + i
			mx := float32(math.Inf(-1))
			for j := 0; j < k.mid; j++ {
				mx = max(mx, x[base+j*k.inner])
			}
			t := st.b[k.tmp][:k.mid]
			for j := range t {
				t[j] = x[base+j*k.inner] - mx
			}
			if k.log {
				sum := 0.0
				for j := range t {
					sum += math.Exp(float64(t[j]))
				}
				ls := float32(math.Log(sum))
				for j := range t {
					y[base+j*k.inner] = t[j] - ls
				}
				continue
			}
			vec.Exp(t, t)
			var sum float32
			for _, v := range t {
				sum += v
			}
			inv := 1 / sum
			for j := range t {
				y[base+j*k.inner] = t[j] * inv
			}
		}
	}
}

// inAxis returns n's first input buffer, its shape and n's "axis"
// attribute (default -1) made non-negative for that shape.
func (c *compiler) inAxis(n *onnx.Node) (src int, s []int, ax int64, err error) {
	src, err = c.in(n.Inputs[0])
	if err != nil {
		return 0, nil, 0, err
	}
	s = c.shape(src)
	ax = attrInt(n, "axis", -1)
	if ax < 0 {
		ax += int64(len(s))
	}
	return src, s, ax, nil
}

func (c *compiler) softmax(n *onnx.Node) error {
	src, s, ax, err := c.inAxis(n)
	if err != nil {
		return err
	}
	if ax < 0 || int(ax) >= len(s) {
		return fmt.Errorf("axis %d out of range for %v", attrInt(n, "axis", -1), s)
	}
	a := int(ax)
	if n.Op == "Softmax" && a == len(s)-1 && c.fuseSoftmax(src, n.Inputs[0], numel(s[:a]), s[a]) {
		c.val[n.Outputs[0]] = src
		return nil
	}
	dst := c.out(n.Outputs[0])
	k := &softmaxKernel{src: src, dst: dst, outer: numel(s[:a]), mid: s[a], inner: numel(s[a+1:]), log: n.Op == "LogSoftmax"}
	k.tmp = c.add(buf{kind: bPair, shape: []int{k.mid}})
	c.pr.kernels = append(c.pr.kernels, k)
	return nil
}

// ---- reductions ----

type reduceKernel struct {
	src, dst int
	idx      []int32 // input element → output element
	kind     string
	scale    float32
}

func (k *reduceKernel) run(st *state) {
	x, y := st.b[k.src], st.b[k.dst]
	if k.kind == "max" {
		for i := range y {
			y[i] = float32(math.Inf(-1))
		}
		for i, v := range x {
			if o := k.idx[i]; v > y[o] {
				y[o] = v
			}
		}
		return
	}
	clear(y)
	for i, v := range x {
		y[k.idx[i]] += v
	}
	if k.scale != 1 {
		for i := range y {
			y[i] *= k.scale
		}
	}
}

func (c *compiler) reduce(n *onnx.Node) error {
	src, err := c.in(n.Inputs[0])
	if err != nil {
		return err
	}
	s := c.shape(src)
	var axes []int64
	if n.Op == "ReduceSum" || n.Opset >= 18 {
		if v := n.Input(1); v != nil {
			t := c.constTensor(v)
			if t == nil {
				return fmt.Errorf("axes must be known at compile time")
			}
			axes = t.Ints()
		}
	} else if a, ok := n.Attrs["axes"]; ok {
		axes = a.Ints
	}
	if len(axes) == 0 {
		if attrInt(n, "noop_with_empty_axes", 0) != 0 {
			return fmt.Errorf("noop_with_empty_axes is not supported in the pair stage")
		}
		for i := range s {
			axes = append(axes, int64(i))
		}
	}
	kshape := append([]int{}, s...)
	for _, a := range axes {
		if a < 0 {
			a += int64(len(s))
		}
		if a < 0 || int(a) >= len(s) {
			return fmt.Errorf("axis out of range")
		}
		kshape[a] = 1
	}
	dst := c.out(n.Outputs[0])
	if numel(kshape) != c.pr.bufs[dst].size {
		return fmt.Errorf("internal error: reduce to %v, output %v", kshape, c.shape(dst))
	}
	k := &reduceKernel{src: src, dst: dst, idx: bcastMap(s, kshape), kind: map[string]string{"ReduceSum": "sum", "ReduceMean": "mean", "ReduceMax": "max"}[n.Op], scale: 1}
	if k.kind == "mean" {
		k.scale = float32(float64(numel(kshape)) / float64(numel(s)))
	}
	c.pr.kernels = append(c.pr.kernels, k)
	return nil
}

// ---- normalisation ----

// affineKernel is y = x·a[ch] + b[ch] with ch = (i / inner) % C.
type affineKernel struct {
	src, dst int
	inner    int
	a, b     []float32
}

func (k *affineKernel) run(st *state) {
	x, y := st.b[k.src], st.b[k.dst]
	C := len(k.a)
	if k.inner == 1 {
		for lo := 0; lo < len(y); lo += C {
			xx, yy := x[lo:lo+C], y[lo:lo+C]
			for j := range yy {
				yy[j] = xx[j]*k.a[j] + k.b[j]
			}
		}
		return
	}
	for i := range y {
		ch := (i / k.inner) % C
		y[i] = x[i]*k.a[ch] + k.b[ch]
	}
}

func (c *compiler) batchNorm(n *onnx.Node) error {
	src, err := c.in(n.Inputs[0])
	if err != nil {
		return err
	}
	var p [4]*onnx.Tensor
	for i := range p {
		if p[i] = c.constTensor(n.Input(i + 1)); p[i] == nil {
			return fmt.Errorf("BatchNormalization parameter %d must be constant", i+1)
		}
	}
	eps := attrFloat(n, "epsilon", 1e-5)
	s := c.shape(src)
	C := s[1]
	k := &affineKernel{src: src, dst: c.out(n.Outputs[0]), inner: numel(s[2:]), a: make([]float32, C), b: make([]float32, C)}
	for ch := 0; ch < C; ch++ {
		sc := p[0].Data[ch] / math.Sqrt(p[3].Data[ch]+eps)
		k.a[ch] = float32(sc)
		k.b[ch] = float32(p[1].Data[ch] - p[2].Data[ch]*sc)
	}
	c.pr.kernels = append(c.pr.kernels, k)
	return nil
}

func (c *compiler) layerNorm(n *onnx.Node) error {
	for _, o := range n.Outputs[1:] {
		if o != nil && len(o.Users) > 0 {
			return fmt.Errorf("the Mean and InvStdDev outputs are not supported in the pair stage")
		}
	}
	src, s, ax, err := c.inAxis(n)
	if err != nil {
		return err
	}
	norm := s[ax:]
	m := numel(norm)
	k := &lnKernel{src: src, rows: numel(s) / max(m, 1), p: vec.LayerNorm{Cols: m, Eps: float32(attrFloat(n, "epsilon", 1e-5))}}
	expand := func(v *onnx.Value) ([]float32, error) {
		t := c.constTensor(v)
		if t == nil {
			return nil, fmt.Errorf("LayerNormalization scale and bias must be constant")
		}
		idx := bcastMap(norm, t.Shape)
		out := make([]float32, m)
		for i, j := range idx {
			out[i] = float32(t.Data[j])
		}
		return out, nil
	}
	if k.p.Scale, err = expand(n.Inputs[1]); err != nil {
		return err
	}
	k.p.Bias = make([]float32, m)
	if v := n.Input(2); v != nil {
		if k.p.Bias, err = expand(v); err != nil {
			return err
		}
	}
	out := n.Outputs[0]
	if g, nodes := c.followingGELU(out); g != nil {
		k.p.GELU = true
		out = g
		for _, nd := range nodes {
			c.fused[nd] = true
		}
	}
	if dot, b, nodes := c.followingDot(out, m, k.rows); dot != nil {
		k.p.Dot, k.p.DotBias = dot, b
		out = nodes[len(nodes)-1].Outputs[0]
		for _, nd := range nodes {
			c.fused[nd] = true
		}
	}
	k.dst = c.out(out)
	if c.fuseDenseNorm(n, src, k) {
		return nil
	}
	c.pr.kernels = append(c.pr.kernels, k)
	return nil
}
