package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync/atomic"

	"nann/internal/parallel"
	"nann/internal/vec"
	"nann/item"
)

// Precision is the storage type of the per-item tables.
type Precision int

const (
	// Float32 keeps the item tables in single precision (the engine then
	// matches the plain forward to about 1e-6 relative).
	Float32 Precision = iota
	// Float16 keeps them in half precision: half the memory and bandwidth,
	// at about 1e-3 relative error per stored value.
	Float16
	// Int8 keeps the Float16 table plus 8-bit codes of h_q and runs every
	// matrix product of the pair stage on 8-bit codes (VPDPBUSD where the
	// CPU has AVX-512 VNNI; see int8.go). StoreHU only.
	Int8
)

func (p Precision) String() string {
	switch p {
	case Float32:
		return "float32"
	case Float16:
		return "float16"
	case Int8:
		return "int8"
	}
	return fmt.Sprintf("Precision(%d)", int(p))
}

// Layout says what the per-item table holds.
type Layout int

const (
	// StoreHU keeps per item the attention query's hidden state h_q
	// (AttnHidden) and the item's share U of the first score layer (ScoreHidden[0]):
	// the fastest scoring, AttnHidden+ScoreHidden[0] values per item.
	StoreHU Layout = iota
	// StoreEV keeps only e_v (ItemDim values per item, a quarter of StoreHU
	// with the reference sizes) and recomputes h_q and U per pair, which
	// costs ItemDim·(AttnHidden+ScoreHidden[0]) more multiply-adds (16 K, +70%).
	StoreEV
)

func (l Layout) String() string {
	switch l {
	case StoreHU:
		return "hu"
	case StoreEV:
		return "ev"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// Options controls compilation.
type Options struct {
	// Table is the precision of the per-item tables (default Float32).
	Table Precision
	// Store is what the per-item table holds (default StoreHU).
	Store Layout
	// Threads is the number of cores a large Score batch and compilation
	// are split across (0: GOMAXPROCS).
	Threads int
}

// Validate reports every problem with the options at once.
func (o Options) Validate() error {
	var errs []error
	if o.Table != Float32 && o.Table != Float16 && o.Table != Int8 {
		errs = append(errs, fmt.Errorf("engine options: table precision %d is not float32, float16 or int8", int(o.Table)))
	}
	if o.Table == Int8 && o.Store != StoreHU {
		errs = append(errs, fmt.Errorf("engine options: int8 tables need the hu store layout, not %v", o.Store))
	}
	if o.Store != StoreHU && o.Store != StoreEV {
		errs = append(errs, fmt.Errorf("engine options: store layout %d is neither hu nor ev", int(o.Store)))
	}
	if o.Threads < 0 || o.Threads > 1024 {
		errs = append(errs, fmt.Errorf("engine options: threads %d outside [0, 1024]", o.Threads))
	}
	return errors.Join(errs...)
}

func (o Options) threads() int {
	if o.Threads > 0 {
		return o.Threads
	}
	return runtime.GOMAXPROCS(0)
}

// Engine is a compiled network over a fixed item corpus. It is read-only
// after Compile or Load and safe for concurrent use; per-query state lives
// in Scorers.
type Engine struct {
	cfg     Config
	prec    Precision
	store   Layout
	threads int
	scoring atomic.Int32 // Score calls in progress, all Scorers together
	lpad    int          // SeqLen rounded up to the panel granularity (8)
	width   int          // a block row: h_q (AttnHidden) then U (ScoreHidden[0])
	tw      int          // a stored table row: width (StoreHU) or ItemDim (StoreEV)

	// Per-item table, NumItems rows of tw values, in one precision.
	t32 []float32
	t16 []uint16

	// StoreEV only: the item-side layers applied per pair, biases and
	// alphas padded to a multiple of 8.
	wq1, bq1, aq []float32 // ItemDim×AttnHidden, query hidden layer
	w1e, b1e     []float32 // ItemDim×ScoreHidden[0], e_v half of the first score layer
	wq1p, w1ep   []float32 // packed

	// User side (per query).
	itemEmb, cateEmb []float32 // for building comm_seq from ids
	k1W, k1B, kAct   []float32 // first key layer (SeqWidth×AttnHidden) and its PReLU
	attM             []float32 // AttnHidden×AttnHidden: s·Wk2·Wq2ᵀ
	attMB            []float32 // AttnHidden: s·Wq2·bk2
	attCW            []float32 // AttnHidden: s·Wk2·bq2
	attC0            []float32 // 1 value: s·bq2·bk2
	w1a              []float32 // SeqWidth×ScoreHidden[0]: the attention half of the first score layer, BN folded

	// Pair side: the rest of the score network, BN folded.
	a1         []float32 // ScoreHidden[0] PReLU alphas of the first score layer
	w2, b2, a2 []float32 // ScoreHidden[0]×ScoreHidden[1]
	w3, b3, a3 []float32 // ScoreHidden[1]×ScoreHidden[2]
	w4         []float32 // ScoreHidden[2]
	w2p, w3p   []float32 // w2, w3 packed into panels

	pool pool // scoring workers; Close stops them

	i8 i8Engine // Int8 only (int8.go)
}

// Config returns the network sizes.
func (e *Engine) Config() Config { return e.cfg }

// Layout returns what the item table holds.
func (e *Engine) Layout() Layout { return e.store }

// Precision returns the storage precision of the item tables.
func (e *Engine) Precision() Precision { return e.prec }

// NumItems is the corpus size (item rows 0..NumItems-1 are ids 1..NumItems).
func (e *Engine) NumItems() int { return e.cfg.NumItems }

// TableBytes is the memory held by the per-item table.
func (e *Engine) TableBytes() int64 {
	return int64(len(e.t32))*4 + int64(len(e.t16))*2 + int64(len(e.i8.rows)) + int64(len(e.i8.hs))*4
}

// Compile folds and precomputes w into an Engine, which keeps no reference
// to w (it copies the embedding tables it needs for BindIDs). itemCates is
// indexed by item row: the category id of each of the NumItems items, in
// [0, NumCates] (a dataset's id-indexed table passes its Rows() view).
func Compile(w *Weights, itemCates item.ByRow[int32], opt Options) (*Engine, error) {
	if err := errors.Join(w.Validate(), opt.Validate()); err != nil {
		return nil, err
	}
	c := w.Config
	if len(itemCates) != c.NumItems {
		return nil, fmt.Errorf("engine: %d item categories for %d items", len(itemCates), c.NumItems)
	}
	for r, ct := range itemCates {
		if ct < 0 || int(ct) > c.NumCates {
			return nil, fmt.Errorf("engine: item row %d (id %d) has category %d outside [0, %d]", r, item.Row(r).ID(), ct, c.NumCates)
		}
	}
	e := newEngine(c, opt.Table, opt.Store, opt.threads())
	e.itemEmb, e.cateEmb = slices.Clone(w.ItemEmb), slices.Clone(w.CateEmb)
	e.foldUserSide(w)
	e.foldPairSide(w)
	net := newItemNet(w)
	if e.store == StoreEV {
		e.wq1, e.bq1, e.aq = slices.Clone(net.wq), slices.Clone(net.bq), slices.Clone(net.aq)
		e.w1e, e.b1e = slices.Clone(net.w1e), slices.Clone(net.b1e)
	}
	e.pack()
	e.buildItemTable(net, itemCates)
	if e.prec == Int8 {
		e.codeTable()
	}
	return e, nil
}

func newEngine(c Config, p Precision, store Layout, threads int) *Engine {
	e := &Engine{cfg: c, prec: p, store: store, threads: threads, lpad: roundUp(c.SeqLen, 8), width: c.AttnHidden + c.ScoreHidden[0]}
	e.tw = e.width
	if store == StoreEV {
		e.tw = c.ItemDim
	}
	return e
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// foldBN returns W·diag(s) and b·s + t for the BatchNorm y = x·s + t that
// follows the Dense (W, b), computed in float64.
func foldBN(d Dense, bn BatchNorm, eps float32) (w, b []float32) {
	w, b = make([]float32, len(d.W)), make([]float32, d.Out)
	for j := 0; j < d.Out; j++ {
		s := float64(bn.Gamma[j]) / math.Sqrt(float64(bn.Var[j])+float64(eps))
		t := float64(bn.Beta[j]) - float64(bn.Mean[j])*s
		for i := 0; i < d.In; i++ {
			w[i*d.Out+j] = float32(float64(d.W[i*d.Out+j]) * s)
		}
		b[j] = float32(float64(d.B[j])*s + t)
	}
	return w, b
}

// foldUserSide precomputes the key-side and value-side weights (see the
// package comment), with the 1/sqrt(AttnDim) scale folded in.
func (e *Engine) foldUserSide(w *Weights) {
	c := e.cfg
	h, dim := c.AttnHidden, c.AttnDim
	scale := 1 / math.Sqrt(float64(dim))
	e.k1W, e.k1B, e.kAct = slices.Clone(w.Key[0].W), slices.Clone(w.Key[0].B), slices.Clone(w.KeyAct)
	wq2, bq2, wk2, bk2 := w.Query[1].W, w.Query[1].B, w.Key[1].W, w.Key[1].B
	e.attM = make([]float32, h*h)
	e.attMB, e.attCW = make([]float32, h), make([]float32, h)
	for i := 0; i < h; i++ { // key hidden unit
		ki := wk2[i*dim : (i+1)*dim]
		var cw float64
		for d := 0; d < dim; d++ {
			cw += float64(ki[d]) * float64(bq2[d])
		}
		e.attCW[i] = float32(cw * scale)
		for j := 0; j < h; j++ { // query hidden unit
			qj := wq2[j*dim : (j+1)*dim]
			var s float64
			for d := 0; d < dim; d++ {
				s += float64(ki[d]) * float64(qj[d])
			}
			e.attM[i*h+j] = float32(s * scale)
		}
	}
	var c0 float64
	for j := 0; j < h; j++ {
		qj := wq2[j*dim : (j+1)*dim]
		var s float64
		for d := 0; d < dim; d++ {
			s += float64(qj[d]) * float64(bk2[d])
		}
		e.attMB[j] = float32(s * scale)
	}
	for d := 0; d < dim; d++ {
		c0 += float64(bq2[d]) * float64(bk2[d])
	}
	e.attC0 = []float32{float32(c0 * scale)}
	w1, _ := foldBN(w.Score[0], w.ScoreBN[0], c.BNEps)
	e.w1a = w1[:c.SeqWidth()*c.ScoreHidden[0]]
}

// foldPairSide folds the BatchNorms of the score network's last layers.
func (e *Engine) foldPairSide(w *Weights) {
	c := e.cfg
	e.a1 = slices.Clone(w.ScoreAct[0])
	e.w2, e.b2 = foldBN(w.Score[1], w.ScoreBN[1], c.BNEps)
	e.a2 = slices.Clone(w.ScoreAct[1])
	e.w3, e.b3 = foldBN(w.Score[2], w.ScoreBN[2], c.BNEps)
	e.a3 = slices.Clone(w.ScoreAct[2])
	e.w4 = slices.Clone(w.Score[3].W)
}

// pack lays the pair-side weight matrices out as kernel panels.
func (e *Engine) pack() {
	c := e.cfg
	e.w2p = vec.PackPanels(nil, e.w2, c.ScoreHidden[0], c.ScoreHidden[1], c.ScoreHidden[1], false)
	e.w3p = vec.PackPanels(nil, e.w3, c.ScoreHidden[1], c.ScoreHidden[2], c.ScoreHidden[2], false)
	if e.store == StoreEV {
		h := c.AttnHidden
		e.wq1p = vec.PackPanels(nil, e.wq1, c.ItemDim, h, h, false)
		e.w1ep = vec.PackPanels(nil, e.w1e, c.ItemDim, c.ScoreHidden[0], c.ScoreHidden[0], false)
		e.bq1 = padTo(e.bq1, roundUp(h, 8))
		e.aq = padTo(e.aq, roundUp(h, 8))
	}
	if e.prec == Int8 {
		e.packI8()
	}
}

// padTo returns v extended with zeros to n values (v itself if long enough).
func padTo(v []float32, n int) []float32 {
	if len(v) >= n {
		return v
	}
	return append(append(make([]float32, 0, n), v...), make([]float32, n-len(v))...)
}

// compileChunk is the number of items one compile step handles.
const compileChunk = 1024

// buildItemTable runs the item network and the item-only parts of the
// attention query and the first score layer over every item, in parallel.
func (e *Engine) buildItemTable(net *itemNet, itemCates []int32) {
	c := e.cfg
	n := c.NumItems
	if e.prec != Float32 {
		e.t16 = make([]uint16, n*e.tw)
	} else {
		e.t32 = make([]float32, n*e.tw)
	}
	chunks := (n + compileChunk - 1) / compileChunk
	newScratch := func() *itemScratch { return net.newScratch(compileChunk) }
	parallel.ForEach(context.Background(), chunks, min(e.threads, chunks), newScratch, func(_ context.Context, s *itemScratch, i int) error {
		lo := i * compileChunk
		hi := min(lo+compileChunk, n)
		net.run(s, lo, itemCates[lo:hi])
		if e.store == StoreEV {
			e.storeRows(lo, s.ev[:(hi-lo)*c.ItemDim])
		} else {
			e.storeRows(lo, s.out[:(hi-lo)*e.width])
		}
		return nil
	})
}

// storeRows writes rows of the item table starting at row lo.
func (e *Engine) storeRows(lo int, rows []float32) {
	off := lo * e.tw
	if e.t16 != nil {
		vec.F32ToF16(e.t16[off:off+len(rows)], rows)
		return
	}
	copy(e.t32[off:], rows)
}

// itemNet is the folded item-side computation used at compile time.
type itemNet struct {
	c                Config
	itemEmb, cateEmb []float32
	w0, b0, w1, b1   []float32
	a0, a1           []float32
	w2, b2           []float32
	wq, bq, aq       []float32
	w1e, b1e         []float32 // e_v half of the first score layer and its bias, BN folded
}

type itemScratch struct {
	gw            vec.GemmWork
	x, h0, h1, ev []float32
	out           []float32
}

func newItemNet(w *Weights) *itemNet {
	c := w.Config
	n := &itemNet{c: c, itemEmb: w.ItemEmb, cateEmb: w.CateEmb}
	n.w0, n.b0 = foldBN(w.Item[0], w.ItemBN[0], c.BNEps)
	n.w1, n.b1 = foldBN(w.Item[1], w.ItemBN[1], c.BNEps)
	n.a0, n.a1 = w.ItemAct[0], w.ItemAct[1]
	n.w2, n.b2 = w.Item[2].W, w.Item[2].B
	n.wq, n.bq, n.aq = w.Query[0].W, w.Query[0].B, w.QueryAct
	w1, b1 := foldBN(w.Score[0], w.ScoreBN[0], c.BNEps)
	n.w1e, n.b1e = w1[c.SeqWidth()*c.ScoreHidden[0]:], b1
	return n
}

func (n *itemNet) newScratch(rows int) *itemScratch {
	c := n.c
	return &itemScratch{x: make([]float32, rows*2*c.EmbDim), h0: make([]float32, rows*c.ItemHidden[0]),
		h1: make([]float32, rows*c.ItemHidden[1]), ev: make([]float32, rows*c.ItemDim),
		out: make([]float32, rows*(c.AttnHidden+c.ScoreHidden[0]))}
}

// run computes the table rows [h_q | U] of items lo.. with the given
// categories into s.out.
func (n *itemNet) run(s *itemScratch, lo int, cates []int32) {
	c := n.c
	m, d, id := len(cates), c.EmbDim, c.ItemDim
	h0, h1 := c.ItemHidden[0], c.ItemHidden[1]
	for i, ct := range cates {
		row := s.x[i*2*d : (i+1)*2*d]
		id := int(item.Row(lo + i).ID())
		copy(row[:d], n.itemEmb[id*d:(id+1)*d])
		lookup(row[d:], n.cateEmb, ct, d)
	}
	width := c.AttnHidden + c.ScoreHidden[0]
	dense(&s.gw, s.x, 2*d, m, n.w0, n.b0, h0, s.h0, h0)
	prelu(s.h0, m, h0, h0, n.a0)
	dense(&s.gw, s.h0, h0, m, n.w1, n.b1, h1, s.h1, h1)
	prelu(s.h1, m, h1, h1, n.a1)
	dense(&s.gw, s.h1, h1, m, n.w2, n.b2, id, s.ev, id)
	dense(&s.gw, s.ev, id, m, n.wq, n.bq, c.AttnHidden, s.out, width)
	prelu(s.out, m, c.AttnHidden, width, n.aq)
	dense(&s.gw, s.ev, id, m, n.w1e, n.b1e, c.ScoreHidden[0], s.out[c.AttnHidden:], width)
}

// lookup copies embedding row id of table into dst (zeros for id 0).
func lookup(dst, table []float32, id int32, d int) {
	if id == 0 {
		clear(dst)
		return
	}
	copy(dst, table[int(id)*d:int(id+1)*d])
}

// dense writes y = x·W + b for m rows (x: ldx, y: ldy; W in×out).
func dense(gw *vec.GemmWork, x []float32, ldx, m int, w, b []float32, out int, y []float32, ldy int) {
	in := len(w) / out
	for i := 0; i < m; i++ {
		copy(y[i*ldy:i*ldy+out], b)
	}
	vec.Gemm(gw, false, false, m, out, in, 1, x, ldx, w, out, 1, y, ldy)
}

// prelu applies PReLU in place to m rows of n values (leading dimension ld).
func prelu(x []float32, m, n, ld int, alpha []float32) {
	for i := 0; i < m; i++ {
		row := x[i*ld : i*ld+n]
		for j, v := range row {
			if v <= 0 {
				row[j] = v * alpha[j]
			}
		}
	}
}
