package engine

// This file: the int8 scoring path (Options.Table = Int8). Every matrix
// product of the pair stage runs on 8-bit codes with the VPDPBUSD kernels
// of internal/vec (vec.Tile12x16I8; plain-Go twins elsewhere), with
//
//   - the item side's h_q coded at compile time, one scale per item (it is
//     the A operand of the attention logits), and U kept in float16 (it is
//     added, not multiplied);
//   - the user side's K' and V coded at Bind, one scale per position (K')
//     or per hidden unit (V);
//   - the folded pair-side weights W2, W3 coded at compile time, one scale
//     per output unit;
//   - the activations between layers (attention weights, z1, z2) coded per
//     row, per block, with a scale from the row's largest value (dynamic
//     per-row scales: BenchmarkInt8Scales and TestInt8Accuracy compare
//     them with one static per-tensor scale per layer, which lost more of
//     the top-200).
//
// Everything else (the softmax, the bias, PReLU, the last dot product) is
// float32. The engine keeps the float16 table of a Float16 engine (saved as
// such; h_q is re-coded from it at Load, bit-identically) plus the codes.

import (
	"math"
	"unsafe"

	"nann/internal/vec"
	"nann/item"
)

// packI8 codes the pair-side weights (after pack and the folds).
func (e *Engine) packI8() {
	c := e.cfg
	m := c.ScoreHidden
	p1, p2 := vec.RoundUp16(m[1]), vec.RoundUp16(m[2])
	e.i8.w2s, e.i8.w3s = make([]float32, p1), make([]float32, p2)
	e.i8.w2 = vec.QuantizePanels16(nil, e.i8.w2s, e.w2, m[0], m[1], m[1], false)
	e.i8.w3 = vec.QuantizePanels16(nil, e.i8.w3s, e.w3, m[1], m[2], m[2], false)
	e.i8.a1 = padTo(e.a1, vec.RoundUp16(m[0]))
	e.i8.b2, e.i8.a2 = padTo(e.b2, p1), padTo(e.a2, p1)
	e.i8.b3, e.i8.a3 = padTo(e.b3, p2), padTo(e.a3, p2)
}

// i8Engine is the int8 state of an Engine.
type i8Engine struct {
	hp     int       // AttnHidden rounded up to 4: bytes of one h_q code row
	rb     int       // bytes of one row of rows: hp, then U in float16
	rows   []uint8   // NumItems × rb: h_q codes (signed, 128 = 0), then U
	hs     []float32 // NumItems: h_q scales
	w2, w3 []int16   // coded panels (int16: see the file comment)
	w2s    []float32 // per output unit scales
	w3s    []float32
	a1     []float32 // biases and alphas padded to 16
	b2, a2 []float32
	b3, a3 []float32
}

// codeTable codes the h_q half of every row of the float16 table.
func (e *Engine) codeTable() {
	c := e.cfg
	h := c.AttnHidden
	e.i8.hp = vec.RoundUp4(h)
	n := c.NumItems
	m0 := c.ScoreHidden[0]
	e.i8.rb = e.i8.hp + 2*m0
	e.i8.rows, e.i8.hs = make([]uint8, n*e.i8.rb), make([]float32, n)
	const chunk = 1024
	buf := make([]float32, chunk*h)
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		for r := lo; r < hi; r++ {
			vec.F16ToF32(buf[(r-lo)*h:(r-lo+1)*h], e.t16[r*e.tw:r*e.tw+h])
			copy(e.i8.u(r), e.t16[r*e.tw+h:r*e.tw+h+m0])
		}
		vec.QuantizeRows(e.i8.rows[lo*e.i8.rb:], e.i8.rb, e.i8.hs[lo:hi], buf, h, hi-lo, h, true)
	}
}

// u returns the float16 U of item row r in rows.
func (t *i8Engine) u(r int) []uint16 {
	off := r*t.rb + t.hp
	return unsafe.Slice((*uint16)(unsafe.Pointer(&t.rows[off])), (t.rb-t.hp)/2)
}

// i8Scorer is a Scorer's int8 per-user state.
type i8Scorer struct {
	lp16 int    // positions rounded up to 16: columns of the logits
	kq   []int8 // K' coded, lp16/16 panels of hp rows
	ks   []float32
	kc   []int32
	cb   []float32 // c_l padded to lp16 (−Inf past nl)
	vq   []int8    // V coded, m0/16 panels of RoundUp4(nv) rows
	vs   []float32
	vc   []int32 // unused correction of V (the weights are unsigned)
	nv4  int
}

// bindI8 codes the user's K' and V (after bindSeq).
func (s *Scorer) bindI8() {
	e := s.e
	c := e.cfg
	h, m0 := c.AttnHidden, c.ScoreHidden[0]
	q := &s.i8
	q.lp16 = vec.RoundUp16(s.nl)
	if cap(q.ks) < q.lp16 {
		n := vec.RoundUp16(c.SeqLen)
		q.ks, q.kc, q.cb = make([]float32, n), make([]int32, n), make([]float32, n)
	}
	q.ks, q.kc, q.cb = q.ks[:q.lp16], q.kc[:q.lp16], q.cb[:q.lp16]
	// B of the logits is K'ᵀ (AttnHidden × nl): column l is row l of kq.
	q.kq = vec.QuantizePanels(q.kq, q.ks, q.kc, s.kq, h, s.nl, h, true)
	for i := range q.cb {
		q.cb[i] = float32(math.Inf(-1))
		if i < s.nl {
			q.cb[i] = s.cb[i]
		}
	}
	m0p := vec.RoundUp16(m0)
	if len(q.vs) < m0p {
		q.vs, q.vc = make([]float32, m0p), make([]int32, m0p)
	}
	q.nv4 = vec.RoundUp4(s.nv)
	q.vq = vec.QuantizePanels(q.vq, q.vs, q.vc, s.v, s.nv, m0, m0, false)
}

// i8Block is the int8 scratch of one scoring block.
type i8Block struct {
	hq                []uint8   // blockRows × hp: gathered h_q codes
	hs                []float32 // their scales
	s                 []float32 // blockRows × lp16: logits, then weights
	aq                []uint8   // blockRows × RoundUp4(SeqLen): weight codes
	as                []float32
	z1, z2, z3        []float32 // blockRows × RoundUp16(width)
	z1q, z2q          []int16
	z1s, z2s          []float32
	ld0, ld1, ld2, la int
}

func newI8Block(e *Engine) *i8Block {
	c := e.cfg
	m := c.ScoreHidden
	b := &i8Block{ld0: vec.RoundUp16(m[0]), ld1: vec.RoundUp16(m[1]), ld2: vec.RoundUp16(m[2]), la: vec.RoundUp4(c.SeqLen)}
	lp16 := vec.RoundUp16(c.SeqLen)
	b.hq, b.hs = make([]uint8, blockRows*e.i8.hp), make([]float32, blockRows)
	b.s = make([]float32, blockRows*lp16)
	b.aq, b.as = make([]uint8, blockRows*b.la), make([]float32, blockRows)
	b.z1, b.z2, b.z3 = make([]float32, blockRows*b.ld0), make([]float32, blockRows*b.ld1), make([]float32, blockRows*b.ld2)
	b.z1q, b.z2q = make([]int16, blockRows*b.ld0), make([]int16, blockRows*b.ld1)
	b.z1s, b.z2s = make([]float32, blockRows), make([]float32, blockRows)
	return b
}

// scoreBlockI8 is scoreBlock for int8 engines.
func (s *Scorer) scoreBlockI8(blk *block, rows []item.Row, out []float32) {
	e := s.e
	c := e.cfg
	if blk.i8 == nil {
		blk.i8 = newI8Block(e)
	}
	b, q, t := blk.i8, &s.i8, &e.i8
	m := c.ScoreHidden
	n := len(rows)
	np := roundUp(n, vec.I8TileRows)
	hp := t.hp
	// Gather: h_q codes and scales; U widened into z1.
	vec.GatherI8Rows(b.hq, hp, b.hs, b.z1, b.ld0, m[0], t.rows, t.rb, t.hs, item.RowInt32s(rows))
	for i := n; i < np; i++ {
		clear(b.hq[i*hp : (i+1)*hp])
		b.hs[i] = 0
		clear(b.z1[i*b.ld0 : (i+1)*b.ld0])
	}
	// Attention logits h_q·K'_l + c_l, softmax, weight codes.
	i8Tiles(np, hp, b.hq, hp, q.kq, q.lp16, b.s, q.lp16, vec.TileBias, q.kc, b.hs, q.ks, q.cb, nil)
	// Softmax over the 16-padded logits (padding weights are 0), weights
	// of the nv value positions coded: one AVX-512 pass where present.
	vec.SoftmaxCodeRows(b.s, np, q.lp16, q.lp16, s.nv, b.aq, b.la, b.as)
	// z1 = PReLU(U + Σ_l a_l V_l).
	i8Tiles(np, q.nv4, b.aq, b.la, q.vq, b.ld0, b.z1, b.ld0, vec.TileAccumulate|vec.TilePReLU, nil, b.as, q.vs, nil, t.a1)
	vec.QuantizeRows16(b.z1q, b.ld0, b.z1s, b.z1, b.ld0, np, m[0])
	i16Tiles(np, vec.RoundUp2(m[0]), b.z1q, b.ld0, t.w2, b.ld1, b.z2, b.ld1, vec.TileBias|vec.TilePReLU, b.z1s, t.w2s, t.b2, t.a2)
	vec.QuantizeRows16(b.z2q, b.ld1, b.z2s, b.z2, b.ld1, np, m[1])
	i16Tiles(np, vec.RoundUp2(m[1]), b.z2q, b.ld1, t.w3, b.ld2, b.z3, b.ld2, vec.TileBias|vec.TilePReLU, b.z2s, t.w3s, t.b3, t.a3)
	for i := range out {
		out[i] = vec.Dot(b.z3[i*b.ld2:i*b.ld2+m[2]], e.w4)
	}
}

// i8Tiles computes C (np × npad, ldc) = epilogue(A (np × k codes, lda) · B)
// for B coded by vec.QuantizePanels (npad columns, a multiple of 16), one
// 12-row tile and two panels (or a last one) at a time. comp (nil for
// unsigned codes), cscale, bias and alpha are per column, rscale per row.
func i8Tiles(np, k int, a []uint8, lda int, bp []int8, npad int, c []float32, ldc int, f vec.TileFlags, comp []int32, rscale, cscale, bias, alpha []float32) {
	for t := 0; t < np; t += vec.I8TileRows {
		at, ct, rt := a[t*lda:], c[t*ldc:], rscale[t:]
		for j0 := 0; j0 < npad; {
			bj, aj, cj := vec.From(bias, j0), vec.From(alpha, j0), vec.From(comp, j0) // cj nil: unsigned codes, no correction
			if npad-j0 >= 2*vec.I8Panel {
				vec.Tile12x32I8(k, at, lda, bp[j0*k:], ct[j0:], ldc, f, cj, rt, cscale[j0:], bj, aj)
				j0 += 2 * vec.I8Panel
				continue
			}
			vec.Tile12x16I8(k, at, lda, bp[j0*k:], ct[j0:], ldc, f, cj, rt, cscale[j0:], bj, aj)
			j0 += vec.I8Panel
		}
	}
}

// i16Tiles is i8Tiles for int16 codes (vec.QuantizePanels16).
func i16Tiles(np, k int, a []int16, lda int, bp []int16, npad int, c []float32, ldc int, f vec.TileFlags, rscale, cscale, bias, alpha []float32) {
	for t := 0; t < np; t += vec.I8TileRows {
		at, ct, rt := a[t*lda:], c[t*ldc:], rscale[t:]
		for j0 := 0; j0 < npad; {
			bj, aj := vec.From(bias, j0), vec.From(alpha, j0)
			if npad-j0 >= 2*vec.I8Panel {
				vec.Tile12x32I16(k, at, lda, bp[j0*k:], ct[j0:], ldc, f, rt, cscale[j0:], bj, aj)
				j0 += 2 * vec.I8Panel
				continue
			}
			vec.Tile12x16I16(k, at, lda, bp[j0*k:], ct[j0:], ldc, f, rt, cscale[j0:], bj, aj)
			j0 += vec.I8Panel
		}
	}
}

// prefetchI8 asks for the int8 table rows of the next block and their
// scales (a cache line of their own: at 1 M items they miss too).
func (e *Engine) prefetchI8(rows []item.Row) {
	r := item.RowInt32s(rows)
	vec.PrefetchRows(e.i8.rows, e.i8.rb, r)
	vec.PrefetchRows(e.i8.hs, 1, r)
}
