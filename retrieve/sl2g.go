package retrieve

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"nann/item"
)

// SL2G is the baseline the reference compares beam retrieval against: plain
// HNSW search under the scorer instead of L2 (Tan et al., "Fast Item Ranking
// under Neural Network based Measures", WSDM 2020), on the same graph. It
// descends greedily through the upper levels (one current node, moving to
// its best-scoring neighbour until none is better), then runs the
// ef-bounded best-first search on level 0 from the node reached: pop the best
// unexpanded candidate, stop once it is worse than the worst of the ef best
// found, else score its unvisited neighbours in one batch and keep those
// that enter the ef best as candidates.
//
// Where the search starts: the top level T is the highest level with enter
// points. If the first of them (the lowest row; hnsw's entry point) has links
// on T, or is the only one, or T is 0, the descent starts there, exactly as
// hnsw's own search does. Otherwise the links of T are not stored (a graph
// imported from the SPEC §5 layout keeps only the levels below start_level):
// every enter point of T is scored and the best one is the start, as hnsw
// does for such a graph.
//
// Items scored are counted as for beam retrieval: each item at most once per
// level (a node the greedy walk meets again on the same level is not
// re-scored; that never changes the walk). Stats has two rounds: the descent
// (Level T: the start, plus every neighbour scored on levels T..1) and
// level 0. The answer is the best K of the items scored on level 0 (plus the
// start node there): for Ef ≥ K exactly HNSW's top K of its ef list, for
// Ef < K the best K of everything it looked at, so that small Ef values can
// be compared at Recall@K with a full answer.
//
// Under Searcher.SearchFiltered, SL2G walks the graph as without a filter
// and leaves the excluded rows out of its answer; when fewer than K allowed
// rows remain, SearchFiltered scores the allowed rows exactly.
//
// Scoring goes through the same batched Scorer as the beam (one call per
// expanded node) and a Searcher runs it without allocating once its buffers
// have grown.
type SL2G struct {
	// Ef is the size of the level-0 result list that bounds the search.
	Ef int `json:"ef"`
	// K is the answer size.
	K int `json:"k"`
}

// Validate reports every problem that does not depend on the corpus.
func (p *SL2G) Validate() error { return p.ValidateFor(-1) }

// ValidateFor reports every problem with p for a corpus of numItems rows
// (numItems < 0 skips the corpus checks).
func (p *SL2G) ValidateFor(numItems int) error {
	err := errors.Join(checkWidth("ef", -1, p.Ef, numItems), checkWidth("k", -1, p.K, numItems))
	if err != nil {
		return fmt.Errorf("retrieve: sl2g params: %w", err)
	}
	return nil
}

// AnswerSize is K.
func (p *SL2G) AnswerSize() int { return p.K }

// Rounds is 2: the descent through the upper levels, then level 0.
func (p *SL2G) Rounds() int { return 2 }

// String is "sl2g:EF:K", the syntax ParseSL2G reads.
func (p *SL2G) String() string { return fmt.Sprintf("sl2g:%d:%d", p.Ef, p.K) }

// ParseSL2G reads "sl2g:EF" (K = defaultK) or "sl2g:EF:K". The result is
// validated (without corpus checks).
func ParseSL2G(s string, defaultK int) (*SL2G, error) {
	f := strings.Split(s, ":")
	if f[0] != "sl2g" || len(f) < 2 || len(f) > 3 {
		return nil, fmt.Errorf("retrieve: search %q: want sl2g:EF or sl2g:EF:K", s)
	}
	p := &SL2G{K: defaultK}
	var err error
	if p.Ef, err = strconv.Atoi(strings.TrimSpace(f[1])); err != nil {
		return nil, fmt.Errorf("retrieve: search %q: ef: %w", s, err)
	}
	if len(f) == 3 {
		if p.K, err = strconv.Atoi(strings.TrimSpace(f[2])); err != nil {
			return nil, fmt.Errorf("retrieve: search %q: k: %w", s, err)
		}
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("retrieve: search %q: %w", s, err)
	}
	return p, nil
}

// sl2gState is a Searcher's SL2G scratch: the graph's top level and its
// enter points (found once: the graph is read-only), two heaps of keys and
// the level-0 items scored.
type sl2gState struct {
	known  bool
	top    int
	enter  []item.Row
	linked bool       // the first enter point has links on the top level
	cand   []key      // min-heap: the best candidate on top
	res    []key      // max-heap: the worst of the ef best on top
	all    []key      // every item scored on level 0
	batch  []item.Row // one expansion's unvisited neighbours
	scores []float32
	bkeys  []key
}

func (st *sl2gState) init(g Graph) error {
	if st.known {
		return nil
	}
	st.top = -1
	for l := MaxLevel - 1; l >= 0; l-- {
		if e := g.EnterPoints(l); len(e) > 0 {
			st.top, st.enter = l, append([]item.Row(nil), e...)
			break
		}
	}
	if st.top < 0 {
		return errors.New("retrieve: sl2g: graph has no enter points")
	}
	st.linked = len(g.Neighbors(st.top, st.enter[0])) > 0
	st.known = true
	return nil
}

func (p *SL2G) search(s *Searcher, sc Scorer) (Result, error) {
	st := &s.sl2g
	if err := st.init(s.g); err != nil {
		return Result{}, err
	}
	// The start: hnsw's entry point, or the best enter point of an unlinked top level.
	start := st.enter[:1]
	if !st.linked && st.top > 0 {
		start = st.enter
	}
	st.batch = append(st.batch[:0], start...)
	for _, v := range st.batch {
		if uint32(v) >= uint32(s.n) {
			return Result{}, fmt.Errorf("retrieve: enter point %d outside [0,%d)", v, s.n)
		}
	}
	upper := len(st.batch)
	keys := st.score(sc)
	cur := keys[0]
	for _, k := range keys[1:] {
		cur = min(cur, k)
	}
	// Greedy descent through levels top..1.
	for level := st.top; level >= 1; level-- {
		s.newEpoch()
		s.visited[keyRow(cur)] = s.epoch
		for changed := true; changed; {
			changed = false
			if err := st.unvisited(s, level, keyRow(cur)); err != nil {
				return Result{}, err
			}
			upper += len(st.batch)
			for _, k := range st.score(sc) {
				if k < cur {
					cur, changed = k, true
				}
			}
		}
	}
	s.rounds = append(s.rounds, Round{Level: st.top, Scored: upper})

	// Best-first search on level 0 from cur, bounded by ef.
	s.newEpoch()
	s.visited[keyRow(cur)] = s.epoch
	st.cand = append(st.cand[:0], cur)
	st.res = append(st.res[:0], cur)
	st.all = append(st.all[:0], cur)
	level0 := 0
	for len(st.cand) > 0 {
		c := popMin(&st.cand)
		if len(st.res) >= p.Ef && c > st.res[0] {
			break
		}
		if err := st.unvisited(s, 0, keyRow(c)); err != nil {
			return Result{}, err
		}
		level0 += len(st.batch)
		for _, k := range st.score(sc) {
			st.all = append(st.all, k)
			switch {
			case len(st.res) < p.Ef:
				pushMax(&st.res, k)
			case k < st.res[0]:
				replaceMax(st.res, k)
			default:
				continue
			}
			pushMin(&st.cand, k)
		}
	}
	s.rounds = append(s.rounds, Round{Level: 0, Scored: level0})
	s.total = upper + level0
	// Under SearchFiltered the walk goes through excluded rows (as the beam's
	// traverse strategy does) and only the answer leaves them out.
	st.all = s.keepAllowed(st.all)
	best := selectBest(st.all, p.K)
	s.rows, s.out = decode(best, s.rows, s.out)
	return Result{Rows: s.rows, Scores: s.out, Stats: Stats{Rounds: s.rounds, Total: s.total}}, nil
}

// unvisited sets batch to node's neighbours on level not yet visited on it,
// marking them.
func (st *sl2gState) unvisited(s *Searcher, level int, node item.Row) error {
	var err error
	st.batch, err = s.visitNeighbors(st.batch[:0], level, node)
	return err
}

// score scores batch in one call and returns their keys (valid until the next call).
func (st *sl2gState) score(sc Scorer) []key {
	m := len(st.batch)
	st.bkeys = st.bkeys[:0]
	if m == 0 {
		return st.bkeys
	}
	st.scores = grow(st.scores, m)
	sc.Score(st.batch, st.scores)
	for i, r := range st.batch {
		st.bkeys = append(st.bkeys, makeKey(st.scores[i], r))
	}
	return st.bkeys
}

// Heaps of keys (a smaller key is a better item): a min-heap pops the best,
// a max-heap keeps the worst on top.

func pushMin(h *[]key, k key) {
	a := append(*h, k)
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if a[p] <= k {
			break
		}
		a[i] = a[p]
		i = p
	}
	a[i] = k
	*h = a
}

func popMin(h *[]key) key {
	a := *h
	top, last := a[0], a[len(a)-1]
	a = a[:len(a)-1]
	n := len(a)
	i := 0
	for n > 0 {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && a[c+1] < a[c] {
			c++
		}
		if last <= a[c] {
			break
		}
		a[i] = a[c]
		i = c
	}
	if n > 0 {
		a[i] = last
	}
	*h = a
	return top
}

func pushMax(h *[]key, k key) {
	a := append(*h, k)
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if a[p] >= k {
			break
		}
		a[i] = a[p]
		i = p
	}
	a[i] = k
	*h = a
}

// replaceMax replaces the top (worst) of a max-heap with k.
func replaceMax(a []key, k key) {
	n := len(a)
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && a[c+1] > a[c] {
			c++
		}
		if k >= a[c] {
			break
		}
		a[i] = a[c]
		i = c
	}
	a[i] = k
}
