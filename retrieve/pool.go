package retrieve

import (
	"fmt"
	"sync"

	"nann/item"
)

// Pool hands out retrieval state (a QueryScorer and a Searcher, or an Exact)
// to servers that run each request on its own goroutine. State is recycled
// through a sync.Pool, so a steady stream of requests does not allocate.
type Pool[Q any] struct {
	g Graph
	m Corpus[Q]
	p sync.Pool
}

type poolState[Q any] struct {
	sc QueryScorer[Q]
	s  *Searcher
	ex *Exact
}

// NewPool checks that the model and the graph cover the same corpus.
func NewPool[Q any](g Graph, m Corpus[Q]) (*Pool[Q], error) {
	if g.Len() != m.NumItems() {
		return nil, fmt.Errorf("retrieve: pool: scorer covers %d items but the graph has %d", m.NumItems(), g.Len())
	}
	p := &Pool[Q]{g: g, m: m}
	p.p.New = func() any { return &poolState[Q]{sc: m.NewScorer(), s: NewSearcher(g), ex: NewExact(g.Len())} }
	return p, nil
}

// Answer is a caller-owned copy of a Result, reused from request to request.
type Answer struct {
	Rows   []item.Row
	Scores []float32
	Rounds []Round
	Total  int
	Exact  bool // a filter's allowed rows were scored exactly
}

func (a *Answer) set(r Result) {
	a.Rows = append(a.Rows[:0], r.Rows...)
	a.Scores = append(a.Scores[:0], r.Scores...)
	a.Rounds = append(a.Rounds[:0], r.Stats.Rounds...)
	a.Total = r.Stats.Total
	a.Exact = r.Stats.Exact
}

// Search binds query and runs beam retrieval with b, writing into ans.
func (p *Pool[Q]) Search(query Q, b Beam, ans *Answer) error {
	return p.run(query, ans, func(st *poolState[Q]) (Result, error) { return st.s.Search(st.sc, b) })
}

// SearchFiltered binds query and runs beam retrieval with b restricted to
// the rows f allows (Searcher.SearchFiltered), writing into ans.
func (p *Pool[Q]) SearchFiltered(query Q, b Beam, f *Filter, pol FilterPolicy, ans *Answer) error {
	return p.run(query, ans, func(st *poolState[Q]) (Result, error) { return st.s.SearchFiltered(st.sc, b, f, pol) })
}

// Exact binds query and finds the exact top k by brute force, writing into ans.
func (p *Pool[Q]) Exact(query Q, k int, ans *Answer) error {
	return p.run(query, ans, func(st *poolState[Q]) (Result, error) { return st.ex.TopK(st.sc, k) })
}

// run takes a state from the pool, binds its scorer to query, answers with
// search and copies the result into ans.
func (p *Pool[Q]) run(query Q, ans *Answer, search func(st *poolState[Q]) (Result, error)) error {
	st := p.p.Get().(*poolState[Q])
	defer p.p.Put(st)
	if err := st.sc.Bind(query); err != nil {
		return err
	}
	r, err := search(st)
	if err != nil {
		return err
	}
	ans.set(r)
	return nil
}
