package engine

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"nann/internal/parallel"
	"nann/internal/vec"
	"nann/item"
	"nann/retrieve"
)

// blockRows is the number of candidates scored together: a multiple of the
// kernels' 6-row tile, small enough that a block's activations stay in L1/L2.
const blockRows = 48

// minParallel is the smallest part of a batch worth handing to another core.
const minParallel = 256

// Scorer scores items for one user. BindSeq (or BindIDs) does the per-user work
// once; Score then scores any number of item rows. A Scorer is used by one
// goroutine at a time and does not allocate after its first Bind.
type Scorer struct {
	e     *Engine
	bound bool

	// Per-user state, read by Score (and by pool workers during Score),
	// over the user's compacted positions (see bindSeq): nl positions of
	// which the first nv have non-zero rows, lp = nl rounded up to 8.
	nl, nv, lp int
	kp         []float32 // packed K'ᵀ: AttnHidden × lp panels
	cb         []float32 // lp: c_l (+ ln multiplicity), −Inf past nl
	vp         []float32 // packed V: nv × ScoreHidden[0] panels

	// Bind scratch.
	seq, cseq, p, kq, v []float32
	valid               []bool // per position, with MaskPadding
	gw                  vec.GemmWork

	blk *block
	sh  share // the batch of the Score call in progress, shared with pool workers

	i8 i8Scorer // Int8 engines only (int8.go)
}

// block is the scratch of one scoring block.
type block struct {
	x  []float32 // blockRows × width: gathered [h_q | U], U then becomes z1
	s  []float32 // blockRows × lpad: logits, then attention weights
	z2 []float32 // blockRows × ScoreHidden[1]
	z3 []float32 // blockRows × ScoreHidden[2]
	ev []float32 // blockRows × ItemDim, StoreEV only
	i8 *i8Block  // Int8 engines only, made on first use
}

func newBlock(c Config, width, lpad int) *block {
	return &block{x: make([]float32, blockRows*width), s: make([]float32, blockRows*lpad),
		z2: make([]float32, blockRows*c.ScoreHidden[1]), z3: make([]float32, blockRows*c.ScoreHidden[2]),
		ev: make([]float32, blockRows*c.ItemDim)}
}

// NewScorer returns an unbound *Scorer.
func (e *Engine) NewScorer() *Scorer {
	c := e.cfg
	l, h, m0 := c.SeqLen, c.AttnHidden, c.ScoreHidden[0]
	return &Scorer{e: e,
		kp: make([]float32, h*e.lpad), cb: make([]float32, e.lpad), vp: make([]float32, l*roundUp(m0, 8)),
		seq: make([]float32, c.CommSeqLen()), cseq: make([]float32, c.CommSeqLen()), p: make([]float32, l*h), kq: make([]float32, l*h),
		v: make([]float32, l*m0), valid: make([]bool, l), blk: newBlock(c, e.width, e.lpad), sh: share{fin: make(chan struct{}, 1)}}
}

var errUnbound = errors.New("engine: scorer used before Bind")

// BindSeq sets the user: commSeq is the behaviour-sequence embedding, SeqLen
// rows of concat(item emb, cate emb) (zero rows for padding), flattened to
// SeqLen·2·EmbDim values. Values must be finite.
func (s *Scorer) BindSeq(commSeq []float32) error {
	c := s.e.cfg
	if len(commSeq) != c.CommSeqLen() {
		return fmt.Errorf("engine: comm_seq has %d values, want %d (%d positions × %d)", len(commSeq), c.CommSeqLen(), c.SeqLen, c.SeqWidth())
	}
	if i := firstNonFinite(commSeq); i >= 0 {
		return fmt.Errorf("engine: comm_seq[%d] (position %d, column %d) = %v is not finite", i, i/c.SeqWidth(), i%c.SeqWidth(), commSeq[i])
	}
	copy(s.seq, commSeq)
	sw := c.SeqWidth()
	for i := range s.valid {
		s.valid[i] = false
		for _, v := range s.seq[i*sw : (i+1)*sw] {
			if v != 0 {
				s.valid[i] = true
				break
			}
		}
	}
	s.bindSeq()
	return nil
}

// BindSeqFloat16 is BindSeq for comm_seq in half precision (IEEE bit patterns),
// the type the served signature declares.
func (s *Scorer) BindSeqFloat16(commSeq []uint16) error {
	c := s.e.cfg
	if len(commSeq) != c.CommSeqLen() {
		return fmt.Errorf("engine: comm_seq has %d values, want %d (%d positions × %d)", len(commSeq), c.CommSeqLen(), c.SeqLen, c.SeqWidth())
	}
	vec.F16ToF32(s.cseq, commSeq)
	return s.BindSeq(s.cseq)
}

// BindIDs sets the user from raw history ids: items[i] and cates[i] are the
// dense ids of the i-th behaviour (chronological, at most SeqLen; id 0 is
// padding), as the server receives them; the rest is zero-padded.
func (s *Scorer) BindIDs(items []item.ID, cates []int32) error {
	if err := s.e.CommSeq(items, cates, s.seq); err != nil {
		return err
	}
	for i := range s.valid {
		s.valid[i] = i < len(items) && items[i] != item.Padding
	}
	s.bindSeq()
	return nil
}

// CommSeq writes the comm_seq of a history (see BindIDs) into dst, which
// must hold CommSeqLen values.
func (e *Engine) CommSeq(items []item.ID, cates []int32, dst []float32) error {
	c := e.cfg
	if len(items) != len(cates) {
		return fmt.Errorf("engine: history has %d item ids but %d category ids", len(items), len(cates))
	}
	if len(items) > c.SeqLen {
		return fmt.Errorf("engine: history has %d behaviours, more than seq_len %d", len(items), c.SeqLen)
	}
	if len(dst) != c.CommSeqLen() {
		return fmt.Errorf("engine: comm_seq buffer has %d values, want %d", len(dst), c.CommSeqLen())
	}
	for i := range items {
		if items[i] < 0 || int(items[i]) > c.NumItems {
			return fmt.Errorf("engine: history position %d: item id %d outside [0, %d]", i, items[i], c.NumItems)
		}
		if cates[i] < 0 || int(cates[i]) > c.NumCates {
			return fmt.Errorf("engine: history position %d: category id %d outside [0, %d]", i, cates[i], c.NumCates)
		}
	}
	d, sw := c.EmbDim, c.SeqWidth()
	for i := range items {
		lookup(dst[i*sw:i*sw+d], e.itemEmb, int32(items[i]), d)
		lookup(dst[i*sw+d:(i+1)*sw], e.cateEmb, cates[i], d)
	}
	clear(dst[len(items)*sw:])
	return nil
}

// bindSeq computes the per-user state from s.seq. Positions are compacted
// first: positions masked out (MaskPadding) are dropped, non-zero rows are
// kept in order, and all-zero rows (padding) — which have identical keys,
// hence identical logits for every item, and contribute nothing to the
// weighted sum — are merged into one position whose logit is raised by
// ln(count), so that its softmax weight is that of all of them together.
// The scores are unchanged (exact algebra); a user with h real behaviours
// costs about (h+1)/SeqLen of the attention work.
func (s *Scorer) bindSeq() {
	e := s.e
	c := e.cfg
	h, sw, m0 := c.AttnHidden, c.SeqWidth(), c.ScoreHidden[0]
	nv, zeros := 0, 0
	for i := 0; i < c.SeqLen; i++ {
		if c.MaskPadding && !s.valid[i] {
			continue
		}
		row := s.seq[i*sw : (i+1)*sw]
		if isZero(row) {
			zeros++
			continue
		}
		copy(s.cseq[nv*sw:(nv+1)*sw], row)
		nv++
	}
	nl := nv
	if zeros > 0 || nv == 0 {
		// The merged padding position. With nothing left under a mask, a
		// lone zero position gives the zero attention output of the plain
		// forward.
		clear(s.cseq[nl*sw : (nl+1)*sw])
		nl++
	}
	s.nl, s.nv, s.lp = nl, nv, roundUp(nl, 8)
	dense(&s.gw, s.cseq, sw, nl, e.k1W, e.k1B, h, s.p, h)
	prelu(s.p, nl, h, h, e.kAct)
	dense(&s.gw, s.p, h, nl, e.attM, e.attMB, h, s.kq, h)
	for i := 0; i < nl; i++ {
		s.cb[i] = vec.Dot(s.p[i*h:(i+1)*h], e.attCW) + e.attC0[0]
	}
	if zeros > 1 {
		s.cb[nv] += float32(math.Log(float64(zeros)))
	}
	for i := nl; i < s.lp; i++ {
		s.cb[i] = float32(math.Inf(-1))
	}
	if nv > 0 {
		vec.Gemm(&s.gw, false, false, nv, m0, sw, 1, s.cseq, sw, e.w1a, m0, 0, s.v, m0)
	}
	s.kp = vec.PackPanels(s.kp, s.kq, h, nl, h, true)
	s.vp = vec.PackPanels(s.vp, s.v, nv, m0, m0, false)
	if e.prec == Int8 {
		s.bindI8()
	}
	s.bound = true
}

func isZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// Score writes the logit of each item row into out (len(out) ≥ len(rows);
// rows must lie in [0, NumItems)). Large batches are split across the
// engine's threads. It panics if called before Bind.
func (s *Scorer) Score(rows []item.Row, out []float32) {
	if !s.bound {
		panic(errUnbound)
	}
	n := len(rows)
	out = out[:n]
	e := s.e
	// Split only over the cores other Score calls leave free: when every
	// core already scores a batch (a busy server), handing parts to the
	// pool only adds hand-offs and makes the calls wait for each other.
	busy := int(e.scoring.Add(1))
	defer e.scoring.Add(-1)
	parts := parallel.Parts(e.threads-busy+1, n, minParallel)
	if parts == 1 {
		s.scoreSerial(s.blk, rows, out)
		if busy > 1 {
			// Sharing the cores with other Score calls: yield after the
			// call, so that concurrent queries advance in turn (about one
			// scoring round each) instead of the newest running to
			// completion while older ones wait out whole time slices.
			runtime.Gosched()
		}
		return
	}
	e.pool.RLock()
	if e.pool.closed {
		e.pool.RUnlock()
		s.scoreSerial(s.blk, rows, out)
		return
	}
	e.pool.once.Do(e.startPool)
	sh := &s.sh
	nb := (n + blockRows - 1) / blockRows
	sh.rows, sh.out = rows, out
	sh.done.Store(0)
	sh.gen++ // wraps after 2³² calls; a worker holding a job that old is impossible
	gen := sh.gen
	sh.claim.Store(uint64(gen) << 32) // publishes rows, out and the reset done
	for range parts - 1 {
		select {
		case e.pool.jobs <- job{s: s, gen: gen, blocks: nb}:
		default: // every worker already has work queued: score it here
		}
	}
	e.pool.RUnlock()
	// The caller claims blocks like the workers, so it never waits for a
	// worker that has not started (its core may be taken by another
	// process): it waits only for the blocks workers have claimed and are
	// still scoring, at most one each.
	if sh.scoreClaimed(s, s.blk, gen, nb) {
		return
	}
	parallel.Recv(sh.fin, parallel.IdlePolls)
}

// share is the batch of one split Score call. Blocks of blockRows rows are
// claimed one at a time, by the caller and by pool workers, through claim:
// the call's generation in the high 32 bits, the next block in the low 32,
// so that a worker that picks the call up after it has finished (or while
// a later call of the same Scorer runs) claims nothing.
type share struct {
	gen   uint32 // generation of the latest call; used by the caller only
	claim atomic.Uint64
	done  atomic.Int64 // blocks scored
	rows  []item.Row   // read by workers only after a successful claim
	out   []float32
	fin   chan struct{} // a worker that scores the last block signals the caller
}

// scoreClaimed scores blocks of call gen (of blocks blocks) while any are
// left, and reports whether this goroutine scored the call's last block.
// It claims one block ahead and prefetches its rows while scoring the
// current one (as scoreSerial does), so the table rows of a block are in
// cache when it is scored even though the two cores interleave blocks.
func (sh *share) scoreClaimed(s *Scorer, b *block, gen uint32, blocks int) bool {
	cur := sh.next(gen, blocks)
	if cur < 0 {
		return false
	}
	s.e.prefetch(part(sh.rows, cur))
	for {
		nxt := sh.next(gen, blocks)
		if nxt >= 0 {
			s.e.prefetch(part(sh.rows, nxt))
		}
		s.scoreBlock(b, part(sh.rows, cur), part(sh.out, cur))
		if sh.done.Add(1) == int64(blocks) {
			return true
		}
		if nxt < 0 {
			return false
		}
		cur = nxt
	}
}

// next claims the next unclaimed block of call gen, or returns −1 when
// there is none (or the call is over). A claimed block keeps the call
// open, so its rows and out stay valid until it is scored.
func (sh *share) next(gen uint32, blocks int) int {
	for {
		v := sh.claim.Load()
		if uint32(v>>32) != gen || int(v&0xffffffff) >= blocks {
			return -1
		}
		if sh.claim.CompareAndSwap(v, v+1) {
			return int(v & 0xffffffff)
		}
	}
}

// part returns block i of x (rows or out of the call).
func part[T any](x []T, i int) []T {
	return x[i*blockRows : min((i+1)*blockRows, len(x))]
}

// SeqCorpus is the engine as a retrieval model over comm_seq queries: its
// scorers bind the query with Scorer.BindSeq.
func (e *Engine) SeqCorpus() retrieve.Corpus[[]float32] { return seqModel{e} }

type seqModel struct{ e *Engine }

func (m seqModel) NumItems() int { return m.e.NumItems() }

func (m seqModel) NewScorer() retrieve.QueryScorer[[]float32] { return seqScorer{m.e.NewScorer()} }

// seqScorer binds a retrieval query, a comm_seq, with Scorer.BindSeq.
type seqScorer struct{ *Scorer }

func (s seqScorer) Bind(commSeq []float32) error { return s.Scorer.BindSeq(commSeq) }

// job hands a split Score call (generation gen of s's share) to a pool
// worker, which helps score its blocks.
type job struct {
	s      *Scorer
	gen    uint32
	blocks int
}

// pool is the engine's scoring workers, started by the first batch large
// enough to split and stopped by Close.
type pool struct {
	sync.RWMutex // held for reading while a batch is handed out; Close takes it
	once         sync.Once
	jobs         chan job
	closed       bool
}

// startPool starts threads−1 workers, each with its own block scratch.
// They hold no reference to the engine, only the job channel, which Close
// closes.
func (e *Engine) startPool() {
	e.pool.jobs = make(chan job, 4*e.threads)
	c, width, lpad := e.cfg, e.width, e.lpad
	for i := 0; i < e.threads-1; i++ {
		go func(jobs <-chan job) {
			b := newBlock(c, width, lpad)
			for {
				j, ok := parallel.Recv(jobs, parallel.IdlePolls)
				if !ok {
					return
				}
				if j.s.sh.scoreClaimed(j.s, b, j.gen, j.blocks) {
					j.s.sh.fin <- struct{}{}
				}
			}
		}(e.pool.jobs)
	}
}

// Close stops the engine's scoring workers once the batches in progress
// have been handed out. Scoring after Close still works, on the calling
// goroutine only. Close is idempotent and always returns nil.
func (e *Engine) Close() error {
	e.pool.Lock()
	defer e.pool.Unlock()
	if !e.pool.closed {
		e.pool.closed = true
		if e.pool.jobs != nil {
			close(e.pool.jobs)
		}
	}
	return nil
}

// scoreSerial scores rows block by block on the calling goroutine.
func (s *Scorer) scoreSerial(b *block, rows []item.Row, out []float32) {
	s.e.prefetch(rows[:min(blockRows, len(rows))])
	for lo := 0; lo < len(rows); lo += blockRows {
		hi := min(lo+blockRows, len(rows))
		s.e.prefetch(rows[hi:min(hi+blockRows, len(rows))])
		s.scoreBlock(b, rows[lo:hi], out[lo:hi])
	}
}

// scoreBlock scores at most blockRows rows.
func (s *Scorer) scoreBlock(b *block, rows []item.Row, out []float32) {
	e := s.e
	if e.prec == Int8 {
		s.scoreBlockI8(b, rows, out)
		return
	}
	c := e.cfg
	n, w, h, lp := len(rows), e.width, c.AttnHidden, s.lp
	np := roundUp(n, vec.TileRows)
	if e.store == StoreEV {
		id := c.ItemDim
		e.gather(b.ev, rows)
		clear(b.ev[n*id : np*id])
		tiles(np, id, b.ev, id, e.wq1p, h, b.x, w, vec.TileBias|vec.TilePReLU, e.bq1, e.aq)
		tiles(np, id, b.ev, id, e.w1ep, c.ScoreHidden[0], b.x[h:], w, vec.TileBias, e.b1e, nil)
	} else {
		e.gather(b.x, rows)
		clear(b.x[n*w : np*w])
	}
	// Attention logits: h_q·K'_l + c_l.
	tiles(np, h, b.x, w, s.kp, s.nl, b.s, lp, vec.TileBias, s.cb, nil)
	vec.SoftmaxRows(b.s, np, lp, lp)
	// z1 = U + Σ_l a_l V_l, PReLU, in place over U.
	tiles(np, s.nv, b.s, lp, s.vp, c.ScoreHidden[0], b.x[h:], w, vec.TileAccumulate|vec.TilePReLU, nil, e.a1)
	tiles(np, c.ScoreHidden[0], b.x[h:], w, e.w2p, c.ScoreHidden[1], b.z2, c.ScoreHidden[1], vec.TileBias|vec.TilePReLU, e.b2, e.a2)
	tiles(np, c.ScoreHidden[1], b.z2, c.ScoreHidden[1], e.w3p, c.ScoreHidden[2], b.z3, c.ScoreHidden[2], vec.TileBias|vec.TilePReLU, e.b3, e.a3)
	m2 := c.ScoreHidden[2]
	for i := range out {
		out[i] = vec.Dot(b.z3[i*m2:(i+1)*m2], e.w4)
	}
}

// prefetch asks for the table rows of the next block to be brought into
// cache while the current block is computed (where vec's Prefetch kernel
// is selected).
func (e *Engine) prefetch(rows []item.Row) {
	if e.prec == Int8 {
		e.prefetchI8(rows)
		return
	}
	if e.t16 != nil {
		vec.PrefetchRows(e.t16, e.tw, item.RowInt32s(rows))
	} else {
		vec.PrefetchRows(e.t32, e.tw, item.RowInt32s(rows))
	}
}

// gather widens the table rows of rows into x (tw values each).
func (e *Engine) gather(x []float32, rows []item.Row) {
	w := e.tw
	if e.t16 != nil {
		for i, r := range rows {
			vec.F16ToF32(x[i*w:(i+1)*w], e.t16[int(r)*w:int(r+1)*w])
		}
		return
	}
	for i, r := range rows {
		copy(x[i*w:(i+1)*w], e.t32[int(r)*w:int(r+1)*w])
	}
}

// tiles computes C (np×n, ldc) = epilogue(A (np×k, lda) · B) for B packed
// by packPanels, one row tile and one panel at a time (the A sliver stays in
// L1 while the panels stream past it). Row tiles are 12 rows (AVX-512) or 6;
// np is a multiple of 6.
func tiles(np, k int, a []float32, lda int, bp []float32, n int, c []float32, ldc int, f vec.TileFlags, bias, alpha []float32) {
	npad := roundUp(n, 8)
	step := vec.TileRows
	if vec.Engine512() {
		step = vec.TileRows512
	}
	for t := 0; t < np; t += step {
		rows := min(step, np-t)
		at, ct := a[t*lda:], c[t*ldc:]
		for j0 := 0; j0 < npad; j0 += 16 {
			bj, aj := vec.From(bias, j0), vec.From(alpha, j0)
			panel := bp[j0*k:]
			switch {
			case npad-j0 < 16:
				for r := 0; r < rows; r += vec.TileRows {
					vec.Tile6x8(k, at[r*lda:], lda, panel, ct[r*ldc+j0:], ldc, f, bj, aj)
				}
			case rows == vec.TileRows512:
				vec.Tile12x16(k, at, lda, panel, ct[j0:], ldc, f, bj, aj)
			default:
				vec.Tile6x16(k, at, lda, panel, ct[j0:], ldc, f, bj, aj)
			}
		}
	}
}
