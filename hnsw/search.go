package hnsw

import (
	"context"
	"fmt"
	"sync/atomic"

	"nann/internal/parallel"
	"nann/internal/vec"
	"nann/item"
)

// worker is the per-goroutine scratch of a build or a search: the visited
// set, both heaps and buffers, reused across queries.
type worker struct {
	vis  visited
	cand minHeap
	res  maxHeap
	buf  []int32
	// ids and dists hold one expansion's unvisited neighbours and their
	// distances, computed in one batch.
	ids   []int32
	dists []float32
	// cands, sel, sel2, tmp hold candidate lists during a build.
	cands, sel, sel2, tmp []cand
	// Neighbour lists come from adj (a frozen graph) or, while building,
	// from b's lists read with atomic loads.
	adj []adjacency
	b   *builder
}

func newWorker(n int) *worker {
	w := &worker{}
	w.vis.reset(n)
	return w
}

// greedy walks level l from cur to a local minimum of the distance to vq.
func (w *worker) greedy(x []float32, d int, vq []float32, cur int32, curD float32, l int) (int32, float32) {
	for changed := true; changed; {
		changed = false
		w.buf = w.neighbors(l, cur, w.buf)
		dists := w.distances(x, vq, w.buf)
		for i, nb := range w.buf {
			if dists[i] < curD {
				cur, curD, changed = nb, dists[i], true
			}
		}
	}
	return cur, curD
}

// neighbors copies node's list on level l into buf.
func (w *worker) neighbors(l int, node int32, buf []int32) []int32 {
	if w.adj != nil {
		return append(buf[:0], w.adj[l].row(node)...)
	}
	return w.b.copyNeighbors(l, node, buf)
}

// unvisited marks node's neighbours on level l visited and returns, in
// w.ids, those that were not.
func (w *worker) unvisited(l int, node int32) []int32 {
	ids := w.ids[:0]
	if w.adj != nil {
		for _, nb := range w.adj[l].row(node) {
			if w.vis.visit(nb) {
				ids = append(ids, nb)
			}
		}
	} else {
		lst := w.b.list(l, node)
		cnt := int(atomic.LoadInt32(&lst[0]))
		for i := 1; i <= cnt; i++ {
			if nb := atomic.LoadInt32(&lst[i]); w.vis.visit(nb) {
				ids = append(ids, nb)
			}
		}
	}
	w.ids = ids
	return ids
}

// distances computes the distances from vq to the rows ids in one batch.
func (w *worker) distances(x, vq []float32, ids []int32) []float32 {
	if cap(w.dists) < len(ids) {
		w.dists = make([]float32, len(ids), 2*len(ids))
	}
	dists := w.dists[:len(ids)]
	vec.L2SquaredBatch(vq, x, ids, dists)
	return dists
}

// searchLayer is the ef-bounded best-first search on level l from ep; the
// ef closest nodes found are left in w.res.
func (w *worker) searchLayer(x []float32, d, n int, vq []float32, ep cand, l, ef int) {
	w.vis.reset(n)
	w.cand = w.cand[:0]
	w.res.reset()
	w.vis.visit(ep.id)
	w.cand.push(ep)
	w.res.push(ep)
	w.expand(x, vq, l, ef)
}

func (w *worker) expand(x []float32, vq []float32, l, ef int) {
	for len(w.cand) > 0 {
		c := w.cand.pop()
		if w.res.len() >= ef && c.d > w.res.top().d {
			break
		}
		ids := w.unvisited(l, c.id)
		dists := w.distances(x, vq, ids)
		for i, nb := range ids {
			dd := dists[i]
			switch {
			case w.res.len() < ef:
				w.res.push(cand{dd, nb})
			case dd < w.res.top().d:
				w.res.replaceTop(cand{dd, nb})
			default:
				continue
			}
			w.cand.push(cand{dd, nb})
		}
	}
}

// Index is a graph with the vectors it was built over, for L2 search.
type Index struct {
	g *Graph
	x []float32
	d int
}

// NewIndex pairs g with its n×dim row-major vectors.
func NewIndex(g *Graph, x []float32, dim int) (*Index, error) {
	if dim <= 0 || len(x) != g.Len()*dim {
		return nil, fmt.Errorf("hnsw: %d floats are not %d vectors of dimension %d", len(x), g.Len(), dim)
	}
	if g.dim != 0 && g.dim != dim {
		return nil, fmt.Errorf("hnsw: graph was built for dimension %d, vectors have %d", g.dim, dim)
	}
	return &Index{g: g, x: x, d: dim}, nil
}

// Graph returns the index's graph.
func (ix *Index) Graph() *Graph { return ix.g }

// Neighbor is a search hit: a node id and its squared L2 distance.
type Neighbor struct {
	ID   item.Row
	Dist float32
}

// KNNSearcher runs queries on an Index, reusing its scratch memory; use one
// per goroutine.
type KNNSearcher struct {
	ix *Index
	w  *worker
}

// NewKNNSearcher returns a KNNSearcher for ix.
func (ix *Index) NewKNNSearcher() *KNNSearcher {
	w := newWorker(ix.g.n)
	g := ix.g
	w.adj = g.adj
	return &KNNSearcher{ix: ix, w: w}
}

// Search returns the k nearest nodes to q found with beam width
// max(ef, k): greedy descent from the entry point, then ef-bounded search
// on level 0. On a partial (imported) graph the descent starts from the
// closest of the enter points above the known levels.
func (s *KNNSearcher) Search(q []float32, k, ef int) ([]Neighbor, error) {
	ix, g, w := s.ix, s.ix.g, s.w
	if len(q) != ix.d {
		return nil, fmt.Errorf("hnsw: query has dimension %d, index %d", len(q), ix.d)
	}
	if g.n == 0 || k <= 0 {
		return nil, nil
	}
	cur, top := g.entry, g.maxLevel
	if top >= len(g.adj) {
		top = len(g.adj) - 1
		cur = ix.closest(q, g.upper[len(g.adj)])
	}
	curD := vec.L2Squared(q, ix.row(cur))
	for l := top; l > 0; l-- {
		cur, curD = w.greedy(ix.x, ix.d, q, cur, curD, l)
	}
	w.searchLayer(ix.x, ix.d, g.n, q, cand{curD, cur}, 0, max(ef, k))
	for w.res.len() > k {
		w.res.pop()
	}
	out := make([]Neighbor, w.res.len())
	for i := len(out) - 1; i >= 0; i-- {
		it := w.res.pop()
		out[i] = Neighbor{item.Row(it.id), it.d}
	}
	return out, nil
}

func (ix *Index) row(i int32) []float32 { return ix.x[int(i)*ix.d : int(i)*ix.d+ix.d] }

func (ix *Index) closest(q []float32, nodes []int32) int32 {
	best, bestD := nodes[0], vec.L2Squared(q, ix.row(nodes[0]))
	for _, v := range nodes[1:] {
		if d := vec.L2Squared(q, ix.row(v)); d < bestD {
			best, bestD = v, d
		}
	}
	return best
}

// SearchAll answers nq = len(queries)/dim queries on workers goroutines
// (0 = one) and returns the rows of the k nearest of each.
func (ix *Index) SearchAll(queries []float32, k, ef, workers int) ([][]item.Row, error) {
	if len(queries)%ix.d != 0 {
		return nil, fmt.Errorf("hnsw: %d query floats are not rows of dimension %d", len(queries), ix.d)
	}
	nq := len(queries) / ix.d
	out := make([][]item.Row, nq)
	parallel.ForEach(context.Background(), nq, max(1, workers), ix.NewKNNSearcher, func(_ context.Context, s *KNNSearcher, i int) error {
		res, _ := s.Search(queries[i*ix.d:(i+1)*ix.d], k, ef)
		ids := make([]item.Row, len(res))
		for j, r := range res {
			ids[j] = r.ID
		}
		out[i] = ids
		return nil
	})
	return out, nil
}
