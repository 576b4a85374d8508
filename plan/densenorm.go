package plan

import (
	"nann/internal/vec"
	"nann/onnx"
)

// The fused product–LayerNorm kernel: a dense product whose result
// (rows × n) is read only by a LayerNorm pass over groups of m columns that
// ends in a one-output dot (LayerNorm, optional GELU, dot — the DIN
// activation unit's rows × L × m → rows × L). With AVX-512 and no
// activation in the product's epilogue it is one vec.DenseNorm pass (the
// candidates in vector lanes: no horizontal sums, the product never
// stored); otherwise the product is computed one column group at a time
// into a rows × m scratch that stays in L1 and normalised there by the
// LayerNorm pass.

type denseNormKernel struct {
	d    *denseKernel
	ln   vec.LayerNorm
	dn   vec.DenseNorm
	work int // the larger of vec.DenseNorm's work and the rows × m scratch of one column group
	dots int // rows values: a group's dot products
	dst  int // rows × (n/m)
}

func (k *denseNormKernel) run(st *state) {
	d := k.d
	out := st.b[k.dst]
	a, bp := st.b[d.a], st.b[d.bp]
	bias := d.bias
	if d.biasBuf >= 0 {
		bias = st.b[d.biasBuf]
	}
	if vec.Engine512() && d.flags&^vec.TileBias == 0 {
		if d.flags&vec.TileBias == 0 {
			bias = nil
		}
		k.dn.Rows(a, d.rows, bp, bias, out, st.b[k.work])
		return
	}
	m := k.ln.Cols
	groups := d.n / m
	tmp, dots := st.b[k.work], st.b[k.dots]
	kk := d.k
	step := vec.TileRows
	if vec.Engine512() {
		step = vec.TileRows512
	}
	for g := 0; g < groups; g++ {
		for t := 0; t < d.rows; t += step {
			rows := min(step, d.rows-t)
			at, ct := a[t*kk:], tmp[t*m:]
			for j := 0; j < m; j += 16 {
				j0 := g*m + j
				bj, aj := vec.From(bias, j0), vec.From(d.alpha, j0)
				panel := bp[j0*kk:]
				if rows == vec.TileRows512 {
					vec.Tile12x16(kk, at, kk, panel, ct[j:], m, d.flags, bj, aj)
					continue
				}
				for r := 0; r < rows; r += vec.TileRows {
					vec.Tile6x16(kk, at[r*kk:], kk, panel, ct[r*m+j:], m, d.flags, bj, aj)
				}
			}
		}
		k.ln.Rows(tmp, d.rows, dots)
		for r, v := range dots[:d.rows] {
			out[r*groups+g] = v
		}
	}
}

// fuseDenseNorm replaces the last kernel, a dense product writing src, by
// a denseNormKernel when ln (node's kernel, reading src) ends in a dot and
// the product suits it: only its own epilogue (no accumulate, softmax or
// padded scratch), column groups of ln's width made of whole 16-column
// panels, and the product's values read by node alone (through views).
// It reports whether it did; ln's dst must already be set.
func (c *compiler) fuseDenseNorm(node *onnx.Node, src int, ln *lnKernel) bool {
	if ln.p.Dot == nil || len(c.pr.kernels) == 0 {
		return false
	}
	d, ok := c.pr.kernels[len(c.pr.kernels)-1].(*denseKernel)
	m := ln.p.Cols
	if a := c.pr.bufs[src].alias; a >= 0 {
		src = a // a view of the product's result
	}
	if !ok || d.dst != src || c.pr.bufs[src].alias >= 0 || d.acc >= 0 || d.softmax || d.tmp >= 0 || m%16 != 0 || d.n%m != 0 || d.n%16 != 0 || ln.rows != d.rows*(d.n/m) {
		return false
	}
	// The product's result and its views: each read once, by a view or
	// node (the result is never stored whole).
	for v, b := range c.val {
		if b != src && c.pr.bufs[b].alias != src {
			continue
		}
		if c.isScore(v) || len(v.Users) != 1 || v.Users[0] != node && !reshaping[v.Users[0].Op] {
			return false
		}
	}
	k := &denseNormKernel{d: d, ln: ln.p, dn: vec.DenseNorm{K: d.k, N: d.n, LN: ln.p}, dst: ln.dst}
	k.work = c.add(buf{kind: bPair, shape: []int{max(d.rows*m, k.dn.WorkLen())}})
	k.dots = c.add(buf{kind: bPair, shape: []int{d.rows}})
	// The product's full result is never written: give its buffer no
	// storage of its own.
	c.pr.bufs[src].alias = k.work
	c.pr.kernels[len(c.pr.kernels)-1] = k
	// Each column group's mean taken out of B and the bias (the
	// LayerNorm's output is unchanged; vec.DenseNorm's unshifted sums need
	// it): now where they are constants, at Bind after they are filled
	// where they are user values. Not past an activation in the product's
	// epilogue (vec.DenseNorm is not used then).
	if d.flags&^vec.TileBias != 0 {
		return true // an activation between the product and the LayerNorm: a shift would not pass through it
	}
	ck := &centerKernel{bp: -1, bias: -1, k: d.k, n: d.n, m: m}
	if b := c.pr.bufs[d.bp]; b.kind == bConst {
		vec.CenterGroups(b.data, nil, d.k, d.n, m)
	} else {
		ck.bp = d.bp
	}
	switch {
	case d.flags&vec.TileBias == 0:
	case d.biasBuf >= 0:
		ck.bias = d.biasBuf
	default:
		centerBias(d.bias[:d.n], m)
	}
	if ck.bp >= 0 || ck.bias >= 0 {
		c.pr.bind = append(c.pr.bind, ck)
	}
	return true
}

// centerKernel takes each group of m columns' mean out of a dense
// kernel's packed user matrix (k × n) and its user bias at Bind (a buffer
// index < 0: that one is constant, centred at compile time).
type centerKernel struct {
	bp, bias int
	k, n, m  int
}

func (ck *centerKernel) run(st *state) {
	if ck.bp >= 0 {
		vec.CenterGroups(st.b[ck.bp], nil, ck.k, ck.n, ck.m)
	}
	if ck.bias >= 0 {
		centerBias(st.b[ck.bias][:ck.n], ck.m)
	}
}

// centerBias subtracts each group of m values' mean.
func centerBias(bias []float32, m int) {
	for g := 0; g < len(bias); g += m {
		var s float64
		for _, v := range bias[g : g+m] {
			s += float64(v)
		}
		mean := float32(s / float64(m))
		for j := g; j < g+m; j++ {
			bias[j] -= mean
		}
	}
}
