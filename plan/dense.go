package plan

import (
	"math"

	"nann/internal/vec"
	"nann/onnx"
	"slices"
)

// The dense kernel: C (rows×n) = epilogue(A (rows×k) · B) on the vec tile
// kernels, B packed into 16-column panels (a last one of 8) — at compile
// time for a weight, at Bind for a user matrix — with a following bias add
// and PReLU/ReLU/LeakyReLU fused into the tile epilogue.

func roundUp(x, m int) int { return (x + m - 1) / m * m }

type denseKernel struct {
	a, dst      int
	acc         int // ≥ 0: a buffer copied into C first (TileAccumulate)
	rows, k, n  int
	bp          int // packed B
	tmp         int // rows×npad scratch when n is not a multiple of 8, else -1
	flags       vec.TileFlags
	bias, alpha []float32 // padded to a multiple of 16
	biasBuf     int       // ≥ 0: the bias is this buffer (filled at Bind)
	softmax     bool      // a row softmax follows (bias pads are −Inf)
}

func (d *denseKernel) run(st *state) {
	npad := roundUp(d.n, 8)
	c, ldc := st.b[d.dst], d.n
	if d.tmp >= 0 {
		c, ldc = st.b[d.tmp], npad
	}
	a, bp := st.b[d.a], st.b[d.bp]
	bias := d.bias
	if d.biasBuf >= 0 {
		bias = st.b[d.biasBuf]
	}
	if d.acc >= 0 {
		copy(c[:d.rows*d.n], st.b[d.acc])
	}
	k := d.k
	step := vec.TileRows
	if vec.Engine512() {
		step = vec.TileRows512
	}
	for t := 0; t < d.rows; t += step {
		rows := min(step, d.rows-t)
		at, ct := a[t*k:], c[t*ldc:]
		for j0 := 0; j0 < npad; j0 += 16 {
			bj, aj := vec.From(bias, j0), vec.From(d.alpha, j0)
			panel := bp[j0*k:]
			switch {
			case npad-j0 < 16:
				for r := 0; r < rows; r += vec.TileRows {
					vec.Tile6x8(k, at[r*k:], k, panel, ct[r*ldc+j0:], ldc, d.flags, bj, aj)
				}
			case rows == vec.TileRows512:
				vec.Tile12x16(k, at, k, panel, ct[j0:], ldc, d.flags, bj, aj)
			default:
				for r := 0; r < rows; r += vec.TileRows {
					vec.Tile6x16(k, at[r*k:], k, panel, ct[r*ldc+j0:], ldc, d.flags, bj, aj)
				}
			}
		}
	}
	if d.softmax {
		vec.SoftmaxRows(c, d.rows, npad, ldc)
	}
	if d.tmp >= 0 {
		out := st.b[d.dst]
		for r := 0; r < d.rows; r++ {
			copy(out[r*d.n:(r+1)*d.n], c[r*npad:r*npad+d.n])
		}
	}
}

// packKernel packs a user matrix at Bind.
type packKernel struct {
	src, dst int
	k, n, ld int
	trans    bool
	scale    float32
}

func (p *packKernel) run(st *state) {
	d := st.b[p.dst]
	vec.PackPanels(d, st.b[p.src], p.k, p.n, p.ld, p.trans)
	if p.scale != 1 {
		for i := range d {
			d[i] *= p.scale
		}
	}
}

// dense emits C = A·B with B (k×n, or n×k stored if trans) either a
// constant (w non-nil) or the user buffer ub, fusing what follows out:
// reshapes that keep the row-major layout, a multiplication or division by
// a scalar constant (folded into B and the bias), a bias add (a constant,
// or a user value the same for every row, combined at Bind), an add of a
// buffer already computed (TileAccumulate) and a PReLU/ReLU/LeakyReLU. It
// reports false if the shapes do not suit the tile kernels.
func (c *compiler) dense(a, rows, k, n int, w []float32, ub int, trans bool, scale float32, bias []float32, out *onnx.Value) bool {
	if rows%vec.TileRows != 0 || k == 0 {
		return false
	}
	npad := roundUp(n, 8)
	var fused []*onnx.Node
	follow := func(nx *onnx.Node) {
		fused = append(fused, nx)
		out = nx.Outputs[0]
	}
	skipReshapes := func() {
		for nx := c.followingReshape(out, rows*n); nx != nil; nx = c.followingReshape(out, rows*n) {
			follow(nx)
		}
	}
	// A multiplication or division by a scalar constant scales B.
	skipReshapes()
	if bias == nil {
		if nx, sc := c.followingScale(out); nx != nil {
			scale *= sc
			follow(nx)
		}
	}
	// A bias: given, a following constant, or a following user value.
	ubias := -1
	if bias == nil {
		skipReshapes()
		if nx, b := c.followingBias(out, n); nx != nil {
			bias = b
			follow(nx)
		} else if nx, b := c.followingUserBias(out, rows, n); nx != nil {
			ubias = b
			follow(nx)
		}
	}
	// A scale after the bias scales both.
	post := float32(1)
	if bias != nil || ubias >= 0 {
		skipReshapes()
		if nx, sc := c.followingScale(out); nx != nil {
			post = sc
			follow(nx)
		}
	}
	scale *= post
	var bp int
	if w != nil {
		packed := make([]float32, k*npad)
		ld := n
		if trans {
			ld = k
		}
		vec.PackPanels(packed, w, k, n, ld, trans)
		if scale != 1 {
			for i := range packed {
				packed[i] *= scale
			}
		}
		bp = c.add(buf{kind: bConst, shape: []int{k * npad}, data: packed})
	} else {
		bp = c.add(buf{kind: bPair, shape: []int{k * npad}})
		ld := n
		if trans {
			ld = k
		}
		c.pr.bind = append(c.pr.bind, &packKernel{src: ub, dst: bp, k: k, n: n, ld: ld, trans: trans, scale: scale})
	}
	d := &denseKernel{a: a, rows: rows, k: k, n: n, bp: bp, tmp: -1, acc: -1, biasBuf: -1}
	pad := func(v []float32) []float32 {
		p := make([]float32, roundUp(n, 16))
		copy(p, v)
		return p
	}
	if bias != nil {
		for j := range bias {
			bias[j] *= post
		}
	}
	switch {
	case ubias >= 0:
		d.flags |= vec.TileBias
		d.biasBuf = c.add(buf{kind: bPair, shape: []int{roundUp(n, 16)}})
		c.pr.bind = append(c.pr.bind, &userBiasKernel{src: ubias, dst: d.biasBuf, n: n, scale: post})
	case bias != nil:
		d.flags |= vec.TileBias
		d.bias = pad(bias)
	}
	skipReshapes()
	if n == npad {
		if nx, other := c.followingSum(out); nx != nil {
			if b, err := c.in(other); err == nil && c.pr.bufs[b].size == rows*n {
				d.flags |= vec.TileAccumulate
				d.acc = b
				follow(nx)
			}
		}
	}
	skipReshapes()
	if nx, al := c.followingActivation(out, n); nx != nil {
		d.flags |= vec.TilePReLU
		d.alpha = pad(al)
		follow(nx)
	}
	d.dst = c.out(out)
	if c.pr.bufs[d.dst].size != rows*n {
		return false // cannot happen: every fused step keeps the size
	}
	for _, nx := range fused {
		c.fused[nx] = true
	}
	if n != npad {
		d.tmp = c.add(buf{kind: bPair, shape: []int{rows * npad}})
	}
	c.pr.kernels = append(c.pr.kernels, d)
	return true
}

// userBiasKernel fills a dense kernel's bias at Bind: scale × a user value
// (n values, zero-padded).
type userBiasKernel struct {
	src, dst, n int
	scale       float32
	inf         int // columns [n, inf) are −Inf (fuseSoftmax)
}

func (k *userBiasKernel) run(st *state) {
	d, s := st.b[k.dst], st.b[k.src][:k.n]
	for j, v := range s {
		d[j] = k.scale * v
	}
	for j := k.n; j < k.inf; j++ {
		d[j] = float32(math.Inf(-1))
	}
}

// fuseSoftmax makes the dense kernel that last wrote src (rows × n) also
// take the row softmax of its result, in its padded scratch where n is not
// a multiple of 8: the pad columns get a −Inf bias, so they contribute
// nothing (exp(−Inf) is ~1e-38 after the kernel's clamp, to a sum ≥ 1).
// It reports whether it did.
func (c *compiler) fuseSoftmax(src int, in *onnx.Value, rows, n int) bool {
	if len(c.pr.kernels) == 0 || len(in.Users) != 1 || c.isScore(in) {
		return false
	}
	d, ok := c.pr.kernels[len(c.pr.kernels)-1].(*denseKernel)
	if !ok || d.dst != src || d.rows != rows || d.n != n || d.flags&(vec.TilePReLU|vec.TileReLU) != 0 || d.softmax {
		return false
	}
	npad := roundUp(n, 8)
	d.softmax = true
	switch {
	case d.biasBuf >= 0:
		for _, k := range c.pr.bind {
			if u, ok := k.(*userBiasKernel); ok && u.dst == d.biasBuf {
				u.inf = npad
			}
		}
	default:
		if d.bias == nil {
			d.bias = make([]float32, roundUp(n, 16))
			d.flags |= vec.TileBias
		}
		for j := n; j < npad; j++ {
			d.bias[j] = float32(math.Inf(-1))
		}
	}
	return true
}

// followingReshape returns the reshape that is out's only reader (a view:
// the same values in the same order), if any.
func (c *compiler) followingReshape(out *onnx.Value, size int) *onnx.Node {
	if len(out.Users) != 1 || c.isScore(out) {
		return nil
	}
	nx := out.Users[0]
	if !reshaping[nx.Op] || c.p.lab[nx.Outputs[0]] != c.stage || numel(nx.Outputs[0].Shape.At(c.B)) != size {
		return nil
	}
	return nx
}

// followingUserBias returns the Add that is out's only reader when its
// other operand is a user value that repeats every n values over out
// (rows × n, row-major): a bias computed once per query. It returns the
// user value's broadcast-form buffer.
func (c *compiler) followingUserBias(out *onnx.Value, rows, n int) (*onnx.Node, int) {
	if len(out.Users) != 1 || c.isScore(out) {
		return nil, -1
	}
	nx := out.Users[0]
	if nx.Op != "Add" || len(nx.Inputs) != 2 || nx.Inputs[0] == nx.Inputs[1] {
		return nil, -1
	}
	other := nx.Inputs[0]
	if other == out {
		other = nx.Inputs[1]
	}
	want := out.Shape.At(c.B)
	if !c.isUser(other) || !slices.Equal(nx.Outputs[0].Shape.At(c.B), want) {
		return nil, -1
	}
	b, err := c.inBroadcast(other)
	if err != nil || c.pr.bufs[b].kind != bUser || c.pr.bufs[b].size != n {
		return nil, -1
	}
	sh := c.shape(b)
	if len(sh) > len(want) {
		return nil, -1
	}
	if _, err := onnx.BroadcastShapes(sh, want); err != nil {
		return nil, -1
	}
	idx := bcastMap(want, sh)
	for i, j := range idx {
		if int(j) != i%n {
			return nil, -1
		}
	}
	return nx, b
}

// followingBias returns the Add that is out's only reader when its other
// operand is a constant of n values (per column).
func (c *compiler) followingBias(out *onnx.Value, n int) (*onnx.Node, []float32) {
	if len(out.Users) != 1 || c.isScore(out) {
		return nil, nil
	}
	nx := out.Users[0]
	if nx.Op != "Add" || len(nx.Inputs) != 2 || c.p.lab[nx.Outputs[0]] != c.stage {
		return nil, nil
	}
	other := nx.Inputs[0]
	if other == out {
		other = nx.Inputs[1]
	}
	t := c.constTensor(other)
	if t == nil || t.Len() != n || !slices.Equal(nx.Outputs[0].Shape.At(c.B), out.Shape.At(c.B)) || (t.Rank() > 0 && t.Shape[t.Rank()-1] != n) {
		return nil, nil
	}
	return nx, t.Float32s()
}

// followingSum returns the Add that is out's only reader when its other
// operand has out's shape (and is not out).
func (c *compiler) followingSum(out *onnx.Value) (*onnx.Node, *onnx.Value) {
	if len(out.Users) != 1 || c.isScore(out) {
		return nil, nil
	}
	nx := out.Users[0]
	if c.p.lab[nx.Outputs[0]] != c.stage {
		return nil, nil
	}
	if nx.Op != "Add" || len(nx.Inputs) != 2 || nx.Inputs[0] == nx.Inputs[1] {
		return nil, nil
	}
	other := nx.Inputs[0]
	if other == out {
		other = nx.Inputs[1]
	}
	if other.Shape == nil || !slices.Equal(other.Shape.At(c.B), out.Shape.At(c.B)) || !slices.Equal(nx.Outputs[0].Shape.At(c.B), out.Shape.At(c.B)) {
		return nil, nil
	}
	if _, ok := c.val[other]; !ok && c.constTensor(other) == nil && !c.isUser(other) {
		return nil, nil // computed later: cannot be read yet
	}
	return nx, other
}

func (c *compiler) isUser(v *onnx.Value) bool {
	_, ok := c.userIdx[v]
	return ok
}

// followingScale returns the Mul or Div by a scalar constant that is out's
// only reader, with the factor.
func (c *compiler) followingScale(out *onnx.Value) (*onnx.Node, float32) {
	if len(out.Users) != 1 || c.isScore(out) {
		return nil, 0
	}
	nx := out.Users[0]
	if c.p.lab[nx.Outputs[0]] != c.stage {
		return nil, 0
	}
	if (nx.Op != "Mul" && nx.Op != "Div") || len(nx.Inputs) != 2 {
		return nil, 0
	}
	other := nx.Inputs[1]
	if other == out {
		if nx.Op == "Div" {
			return nil, 0
		}
		other = nx.Inputs[0]
	}
	t := c.constTensor(other)
	if t == nil || t.Len() != 1 || !slices.Equal(nx.Outputs[0].Shape.At(c.B), out.Shape.At(c.B)) || t.Data[0] == 0 {
		return nil, 0
	}
	if nx.Op == "Div" {
		return nx, float32(1 / t.Data[0])
	}
	return nx, float32(t.Data[0])
}

// followingActivation returns a PRelu (constant per-column slope), Relu or
// LeakyRelu that is out's only reader, with its slopes.
func (c *compiler) followingActivation(out *onnx.Value, n int) (*onnx.Node, []float32) {
	if len(out.Users) != 1 || c.isScore(out) {
		return nil, nil
	}
	nx := out.Users[0]
	if c.p.lab[nx.Outputs[0]] != c.stage {
		return nil, nil
	}
	al := make([]float32, n)
	switch nx.Op {
	case "Relu":
	case "LeakyRelu":
		a := float32(attrFloat(nx, "alpha", 0.01))
		for i := range al {
			al[i] = a
		}
	case "PRelu":
		t := c.constTensor(nx.Input(1))
		if t == nil || !slices.Equal(nx.Outputs[0].Shape.At(c.B), out.Shape.At(c.B)) {
			return nil, nil
		}
		switch {
		case t.Len() == 1:
			for i := range al {
				al[i] = float32(t.Data[0])
			}
		case t.Len() == n && t.Shape[t.Rank()-1] == n:
			al = t.Float32s()
		default:
			return nil, nil
		}
	default:
		return nil, nil
	}
	return nx, al
}

func (c *compiler) isScore(v *onnx.Value) bool {
	for _, o := range c.p.g.Outputs {
		if o == v {
			return true
		}
	}
	return false
}
