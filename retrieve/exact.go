package retrieve

import (
	"fmt"
	"sync"

	"nann/item"
)

// ExactChunk is the number of rows Exact scores per Score call.
const ExactChunk = 4096

// Exact finds the exact top K over all items by scoring every row in chunks
// and keeping the best K with partial selection. Like a Searcher it owns its
// buffers, does not allocate in steady state and serves one goroutine.
type Exact struct {
	lo, hi int // the rows it scores
	n      int // corpus size (for checking k)
	rows   []item.Row
	scores []float32
	best   []key
	outR   []item.Row
	outS   []float32
}

// NewExact returns an Exact over numItems rows.
func NewExact(numItems int) *Exact { return &Exact{hi: numItems, n: numItems} }

func checkK(k, n int) error {
	if k < 1 || k > MaxTopK || k > n {
		return fmt.Errorf("retrieve: exact top-k: k = %d outside [1,%d]", k, min(n, MaxTopK))
	}
	return nil
}

// TopK returns the best k rows of the whole corpus for the query sc is bound
// to. Stats.Total is the corpus size.
func (e *Exact) TopK(sc Scorer, k int) (Result, error) {
	if err := checkK(k, e.n); err != nil {
		return Result{}, err
	}
	e.scan(sc, k)
	e.outR, e.outS = decode(e.best, e.outR, e.outS)
	return Result{Rows: e.outR, Scores: e.outS, Stats: Stats{Total: e.n}}, nil
}

// scan leaves the best k keys of rows [lo, hi) in e.best, sorted.
func (e *Exact) scan(sc Scorer, k int) {
	e.best = e.best[:0]
	size := e.hi - e.lo
	if size <= 0 {
		return
	}
	chunk := min(ExactChunk, size)
	e.rows = grow(e.rows, chunk)
	e.scores = grow(e.scores, chunk)
	for lo := e.lo; lo < e.hi; lo += chunk {
		rows := e.rows[:min(chunk, e.hi-lo)]
		for i := range rows {
			rows[i] = item.Row(lo + i)
		}
		sc.Score(rows, e.scores[:len(rows)])
		for i, r := range rows {
			e.best = append(e.best, makeKey(e.scores[i], r))
		}
		if len(e.best) >= k+chunk || lo+chunk >= e.hi {
			e.best = selectBest(e.best, k)
		}
	}
}

// ExactParallel is Exact split over several goroutines for one query: the
// corpus is cut into contiguous parts, each scored by its own scorer (all
// bound to the same query), and the parts' best K are merged. Results equal
// Exact's. One ExactParallel serves one query at a time.
type ExactParallel struct {
	parts  []*Exact
	n      int
	merged []key
	outR   []item.Row
	outS   []float32
}

// NewExactParallel splits numItems rows into parts (≥ 1) nearly equal ranges.
func NewExactParallel(numItems, parts int) (*ExactParallel, error) {
	if parts < 1 || parts > 1024 {
		return nil, fmt.Errorf("retrieve: exact: %d parts outside [1,1024]", parts)
	}
	e := &ExactParallel{n: numItems}
	for p := range parts {
		lo, hi := numItems*p/parts, numItems*(p+1)/parts
		e.parts = append(e.parts, &Exact{lo: lo, hi: hi, n: numItems})
	}
	return e, nil
}

// Parts is the number of scorers TopK needs.
func (e *ExactParallel) Parts() int { return len(e.parts) }

// TopK scores part i with scorers[i] concurrently and returns the best k rows.
func (e *ExactParallel) TopK(scorers []Scorer, k int) (Result, error) {
	if len(scorers) != len(e.parts) {
		return Result{}, fmt.Errorf("retrieve: exact: %d scorers for %d parts", len(scorers), len(e.parts))
	}
	if err := checkK(k, e.n); err != nil {
		return Result{}, err
	}
	var wg sync.WaitGroup
	for i, p := range e.parts[1:] {
		wg.Go(func() { p.scan(scorers[i+1], k) })
	}
	e.parts[0].scan(scorers[0], k)
	wg.Wait()
	e.merged = e.merged[:0]
	for _, p := range e.parts {
		e.merged = append(e.merged, p.best...)
	}
	e.merged = selectBest(e.merged, k)
	e.outR, e.outS = decode(e.merged, e.outR, e.outS)
	return Result{Rows: e.outR, Scores: e.outS, Stats: Stats{Total: e.n}}, nil
}
