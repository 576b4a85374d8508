package hnsw

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"nann/internal/vec"
)

// maxLevelCap bounds assigned levels (a level needs -ln(u) > 30·ln M).
const maxLevelCap = 30

// AssignLevels draws the top level of n nodes: floor(-ln(u)·mult) with u
// uniform in (0,1], from a PCG generator seeded with seed.
func AssignLevels(n int, mult float64, seed uint64) []uint8 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]uint8, n)
	for i := range out {
		u := 1 - r.Float64()
		out[i] = uint8(min(maxLevelCap, int(-math.Log(u)*mult)))
	}
	return out
}

// builder holds the graph under construction in fixed-capacity flat
// arrays: each list is a count followed by its slots.
type builder struct {
	x      []float32
	d      int
	n      int
	m, m0  int // max degree on levels >= 1 and on level 0
	efc    int
	faiss  bool
	level  []uint8
	l0     []int32 // n lists of 1+m0 int32
	upOff  []int   // start in up of the node's level-1 list, -1 if none
	up     []int32 // per node with level L >= 1: L lists of 1+m int32
	entry  int32
	topLvl int
}

func (b *builder) vec(i int32) []float32 { return b.x[int(i)*b.d : int(i)*b.d+b.d] }

// list is node's list on level (count first, then capacity slots).
func (b *builder) list(level int, node int32) []int32 {
	if level == 0 {
		s := int(node) * (1 + b.m0)
		return b.l0[s : s+1+b.m0]
	}
	s := b.upOff[node] + (level-1)*(1+b.m)
	return b.up[s : s+1+b.m]
}

// Build constructs a graph over the n = len(x)/dim row vectors of x (row
// major). progress, if not nil, is called from time to time with the number
// of nodes inserted so far. The build stops early with ctx's error.
func Build(ctx context.Context, x []float32, dim int, cfg Config, progress func(done int)) (*Graph, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if dim <= 0 || len(x)%dim != 0 {
		return nil, fmt.Errorf("hnsw: %d floats do not form rows of dimension %d", len(x), dim)
	}
	if err := CheckFinite(x, dim); err != nil {
		return nil, err
	}
	n := len(x) / dim
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("hnsw: %d vectors, at most %d supported", n, math.MaxInt32)
	}
	b := newBuilder(x, dim, n, cfg)
	if n > 0 {
		if err := b.insertAll(ctx, cfg.workers(), progress); err != nil {
			return nil, err
		}
	}
	repaired := 0
	for l := 0; n > 0 && l <= b.topLvl; l++ {
		repaired += b.repair(l)
	}
	g, err := b.freeze(cfg)
	if g != nil {
		g.repaired = repaired
	}
	return g, err
}

func newBuilder(x []float32, dim, n int, cfg Config) *builder {
	b := &builder{x: x, d: dim, n: n, m: cfg.M, m0: 2 * cfg.M, efc: cfg.EfConstruction, faiss: cfg.FaissLinks}
	b.level = AssignLevels(n, cfg.levelMult(), cfg.Seed)
	b.l0 = make([]int32, n*(1+b.m0))
	b.upOff = make([]int, n)
	total := 0
	for i, l := range b.level {
		b.upOff[i] = -1
		if l > 0 {
			b.upOff[i] = total
			total += int(l) * (1 + b.m)
		}
	}
	b.up = make([]int32, total)
	return b
}

// insertOrder lists nodes by descending top level (as Faiss does), ids
// ascending within a level, so the first node is a top-level entry point
// and the entry never changes during the build.
func (b *builder) insertOrder() []int32 {
	order := make([]int32, b.n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(p, q int32) int { return int(b.level[q]) - int(b.level[p]) })
	return order
}

// Batches: nodes are inserted in batches whose size depends only on how
// many nodes are in the graph (never on the number of workers), so a build
// is the same, byte for byte, for a given seed whatever Workers is. Within
// a batch, every node searches the graph as it stood at the batch's start
// (in parallel; a batch's nodes do not see each other), sets its own lists,
// and then the reverse links are applied grouped by target node, each
// target's in batch order (in parallel across targets).
const (
	maxBatch     = 1024
	batchDivisor = 16 // a batch is at most 1/16 of the nodes already in the graph
)

func batchSize(inGraph int) int { return max(1, min(maxBatch, inGraph/batchDivisor)) }

// linkReq is a reverse link to add: node q (at batch position pos) to the
// list of s on level l, at distance d.
type linkReq struct {
	s   int32
	l   uint8
	pos int32
	q   int32
	d   float32
}

func (b *builder) insertAll(ctx context.Context, workers int, progress func(int)) error {
	order := b.insertOrder()
	b.entry, b.topLvl = order[0], int(b.level[order[0]])
	ws := make([]*worker, workers)
	reqs := make([][]linkReq, workers)
	for i := range ws {
		ws[i] = newWorker(b.n)
		ws[i].b = b
	}
	var all []linkReq
	done := 1
	for done < b.n {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("hnsw: build interrupted after %d of %d nodes: %w", done, b.n, err)
		}
		batch := order[done:min(b.n, done+batchSize(done))]
		for i := range reqs {
			reqs[i] = reqs[i][:0]
		}
		// Phase 1: search and set each new node's own lists. Nobody links
		// to a batch node yet, so no search reaches what the others write.
		parallelChunks(len(batch), workers, 4, func(wk, lo, hi int) {
			for p := lo; p < hi; p++ {
				reqs[wk] = b.plan(ws[wk], batch[p], int32(p), reqs[wk])
			}
		})
		// Phase 2: reverse links, grouped by target, in batch order within
		// a target; targets are independent.
		all = all[:0]
		for _, r := range reqs {
			all = append(all, r...)
		}
		slices.SortFunc(all, func(a, c linkReq) int {
			if a.l != c.l {
				return int(a.l) - int(c.l)
			}
			if a.s != c.s {
				return int(a.s - c.s)
			}
			return int(a.pos - c.pos)
		})
		var starts []int
		for i := range all {
			if i == 0 || all[i].s != all[i-1].s || all[i].l != all[i-1].l {
				starts = append(starts, i)
			}
		}
		starts = append(starts, len(all))
		parallelChunks(len(starts)-1, workers, 64, func(wk, lo, hi int) {
			for g := lo; g < hi; g++ {
				for _, r := range all[starts[g]:starts[g+1]] {
					maxDeg := b.m
					if r.l == 0 {
						maxDeg = b.m0
					}
					b.addLink(ws[wk], r.s, cand{r.d, r.q}, int(r.l), maxDeg)
				}
			}
		})
		done += len(batch)
		if progress != nil {
			progress(done)
		}
	}
	if progress != nil {
		progress(b.n)
	}
	return nil
}

// parallelChunks runs f over [0, n) in chunks of chunk items on up to
// workers goroutines; f gets the goroutine's index (for its scratch).
func parallelChunks(n, workers, chunk int, f func(wk, lo, hi int)) {
	if n == 0 {
		return
	}
	workers = max(1, min(workers, (n+chunk-1)/chunk))
	if workers == 1 {
		f(0, 0, n)
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					return
				}
				f(wk, lo, min(n, lo+chunk))
			}
		}()
	}
	wg.Wait()
}

// copyNeighbors copies node's list on level into buf. Lists are written
// with atomic stores, slots before the count, and a build never reads a
// list while another goroutine writes it (see insertAll), so this is only
// a guard.
func (b *builder) copyNeighbors(level int, node int32, buf []int32) []int32 {
	l := b.list(level, node)
	cnt := int(atomic.LoadInt32(&l[0]))
	buf = buf[:0]
	for i := 1; i <= cnt; i++ {
		buf = append(buf, atomic.LoadInt32(&l[i]))
	}
	return buf
}

// setList replaces a list's contents (only one goroutine writes a given
// list at a time; searches may read it).
func setList(lst []int32, sel []cand) {
	for i, s := range sel {
		atomic.StoreInt32(&lst[1+i], s.id)
	}
	atomic.StoreInt32(&lst[0], int32(len(sel)))
}

// plan searches for node q's neighbours on each of its levels, sets q's
// own lists, and appends the reverse links to add to reqs (q is at batch
// position pos).
func (b *builder) plan(w *worker, q, pos int32, reqs []linkReq) []linkReq {
	vq := b.vec(q)
	lq := int(b.level[q])
	cur := b.entry
	curD := vec.L2Squared(vq, b.vec(cur))
	for l := b.topLvl; l > lq; l-- {
		cur, curD = w.greedy(b.x, b.d, vq, cur, curD, l)
	}
	for l := min(lq, b.topLvl); l >= 0; l-- {
		w.searchLayer(b.x, b.d, b.n, vq, cand{curD, cur}, l, b.efc)
		w.cands = w.res.drainAscending(w.cands)
		cur, curD = w.cands[0].id, w.cands[0].d
		nsel := b.m
		if l == 0 && b.faiss {
			nsel = b.m0
		}
		w.sel = selectHeuristic(b.x, b.d, w.cands, nsel, w.sel[:0])
		setList(b.list(l, q), w.sel)
		for _, s := range w.sel {
			reqs = append(reqs, linkReq{s: s.id, l: uint8(l), pos: pos, q: q, d: s.d})
		}
	}
	return reqs
}

// addLink adds the reverse link s -> q; if s's list is full, the heuristic
// re-selects maxDeg links among the old ones and q.
func (b *builder) addLink(w *worker, s int32, q cand, level, maxDeg int) {
	lst := b.list(level, s)
	cnt := int(lst[0])
	if cnt < maxDeg {
		atomic.StoreInt32(&lst[1+cnt], q.id)
		atomic.StoreInt32(&lst[0], int32(cnt+1))
		return
	}
	vs := b.vec(s)
	w.tmp = append(w.tmp[:0], q)
	for _, e := range lst[1 : 1+cnt] {
		w.tmp = append(w.tmp, cand{vec.L2Squared(vs, b.vec(e)), e})
	}
	slices.SortFunc(w.tmp, func(a, b cand) int {
		switch {
		case a.d < b.d:
			return -1
		case a.d > b.d:
			return 1
		}
		return 0
	})
	w.sel2 = selectHeuristic(b.x, b.d, w.tmp, maxDeg, w.sel2[:0])
	setList(lst, w.sel2)
}

// selectHeuristic is the neighbour-selection heuristic of hnswlib and Faiss:
// scanning candidates closest first, keep one unless it is closer to an
// already kept neighbour than to the base. With fewer than maxN candidates
// all are kept, as in both libraries. cands must be sorted by ascending
// distance to the base.
func selectHeuristic(x []float32, d int, cands []cand, maxN int, out []cand) []cand {
	if len(cands) < maxN {
		return append(out, cands...)
	}
	for _, c := range cands {
		vc := x[int(c.id)*d : int(c.id)*d+d]
		good := true
		for _, s := range out {
			if vec.L2Squared(vc, x[int(s.id)*d:int(s.id)*d+d]) < c.d {
				good = false
				break
			}
		}
		if good {
			out = append(out, c)
			if len(out) >= maxN {
				break
			}
		}
	}
	return out
}

// freeze copies the fixed-capacity lists into CSR form.
func (b *builder) freeze(cfg Config) (*Graph, error) {
	g := &Graph{n: b.n, dim: b.d, m: cfg.M, efc: cfg.EfConstruction, level: b.level, entry: -1}
	g.finish()
	if b.n == 0 {
		return g, nil
	}
	g.entry = b.entry
	g.adj = make([]adjacency, g.maxLevel+1)
	for l := range g.adj {
		total := 0
		for i := 0; i < b.n; i++ {
			if int(b.level[i]) >= l {
				total += int(b.list(l, int32(i))[0])
			}
		}
		if total > math.MaxUint32 {
			return nil, errTooManyLinks
		}
		a := adjacency{off: make([]uint32, b.n+1), val: make([]int32, 0, total)}
		for i := 0; i < b.n; i++ {
			if int(b.level[i]) >= l {
				lst := b.list(l, int32(i))
				a.val = append(a.val, lst[1:1+lst[0]]...)
			}
			a.off[i+1] = uint32(len(a.val))
		}
		g.adj[l] = a
	}
	return g, nil
}
