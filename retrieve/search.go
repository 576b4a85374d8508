package retrieve

import (
	"fmt"
	"slices"

	"nann/item"
)

// Result is the answer to one query: rows best first (higher score first,
// ties by lower row id) with their scores, plus scoring statistics. Its
// slices belong to the Searcher or Exact that returned it and are valid only
// until that object's next call; copy what must outlive it.
type Result struct {
	Rows   []item.Row
	Scores []float32
	Stats  Stats
}

// Stats counts the items scored by one query.
type Stats struct {
	// Rounds lists the scoring rounds in order: first the enter points, then
	// each round on each level going down. Empty for brute force.
	Rounds []Round
	// Total is the number of items scored (each item at most once per level).
	Total int
	// Exact reports that a filter's allowed rows were scored exactly
	// (SearchFiltered) instead of, or after, the walk.
	Exact bool
}

// Round is one scoring round.
type Round struct {
	Level  int `json:"level"`
	Scored int `json:"scored"`
}

// Searcher runs beam retrieval over one Graph. It owns all per-query buffers
// (including a visited set stamped with a per-level epoch, so it is never
// cleared between queries) and does not allocate once they have grown to the
// query's needs. A Searcher is used by one goroutine at a time.
type Searcher struct {
	g       Graph
	n       int
	visited []uint32
	epoch   uint32

	results []key // current results, sorted best first
	merge   []key // results ∪ next, before selection
	next    []item.Row
	nkeys   []key
	scores  []float32
	cand    []item.Row
	rows    []item.Row
	out     []float32
	rounds  []Round
	total   int

	// While SearchFiltered runs: the filter, whether excluded rows are
	// skipped rather than scored, and the buffers of the filtered paths.
	// skip and bridge are in force on level 0 only (walkSkip, walkBridge
	// hold the strategy until then): the upper levels score every row, so
	// the descent lands where the unfiltered one would. changed reports
	// that the last level-0 round changed the filtered answer.
	f                    *Filter
	skip, bridge         bool
	walkSkip, walkBridge bool
	changed, converge    bool
	budget               float64 // FilterPolicy.ConvergeBudget
	configured           int     // items scored by the configured rounds
	akeys                []key
	xrows                []item.Row
	xbest                []key

	// enter caches the graph's enter points per start level (the graph is
	// read-only), so graphs whose EnterPoints copies cost nothing per query.
	enter [MaxLevel][]item.Row
	have  [MaxLevel]bool

	sl2g sl2gState // SL2G's scratch (sl2g.go)
}

// NewSearcher returns a Searcher for g. Its visited set takes 4 bytes per node.
func NewSearcher(g Graph) *Searcher {
	n := g.Len()
	return &Searcher{g: g, n: n, visited: make([]uint32, n)}
}

// Search runs the beam setting b (a *Params or *ServingParams) for the query
// sc is bound to. It fails if b is invalid for the graph's corpus, if the
// graph has no enter points at the start level, or if the graph yields a node
// outside [0, Len()).
func (s *Searcher) Search(sc Scorer, b Beam) (Result, error) {
	if err := b.ValidateFor(s.n); err != nil {
		return Result{}, err
	}
	s.rounds = s.rounds[:0]
	s.total = 0
	return b.search(s, sc)
}

func (p *Params) search(s *Searcher, sc Scorer) (Result, error) {
	if err := s.scoreEnterPoints(sc, p.StartLevel, p.TopK[p.StartLevel]); err != nil {
		return Result{}, err
	}
	for level := p.StartLevel - 1; level >= 0; level-- {
		s.startLevel()
		if level == 0 {
			// Filtered: the level-0 results (the answer) hold allowed rows only.
			s.results = s.keepAllowed(s.results)
			s.enterLevel0()
		}
		for r := 0; r < p.NumScoring[level] || s.extraRound(level, r-p.NumScoring[level], p.K); r++ {
			if err := s.expand(level); err != nil {
				return Result{}, err
			}
			s.scoreNext(sc, level)
			if level == 0 {
				s.results = s.mergeAnswer(s.results, s.allowedOf(s.nkeys), p.TopK[0])
			} else {
				s.results = s.mergeBest(s.results, s.nkeys, p.TopK[level])
			}
			s.keepReaching(p.TopK[level])
		}
	}
	s.results = s.keepAllowed(s.results) // StartLevel 0: the enter points are the answer
	return s.answer(s.results, p.K), nil
}

func (p *ServingParams) search(s *Searcher, sc Scorer) (Result, error) {
	t := &p.LevelTopN
	if err := s.scoreEnterPoints(sc, servingStartLevel, t[0]); err != nil {
		return Result{}, err
	}
	s.startLevel()
	if err := s.expand(1); err != nil {
		return Result{}, err
	}
	s.scoreNext(sc, 1)
	s.results = s.mergeBest(s.results, s.nkeys, t[1])

	// Level 0: the results keep the best t[5] of everything scored (the answer);
	// the candidates of each round are the best t[2+r] of that round's new items.
	s.startLevel()
	s.results = s.results[:min(t[5], len(s.results))] // sorted: keep the best t[5]
	s.results = s.keepAllowed(s.results)
	s.enterLevel0()
	for r := 0; r < 3 || s.extraRound(0, r-3, t[5]); r++ {
		if err := s.expand(0); err != nil {
			return Result{}, err
		}
		s.scoreNext(sc, 0)
		s.results = s.mergeAnswer(s.results, s.allowedOf(s.nkeys), t[5])
		best := selectBest(s.nkeys, t[2+min(r, 2)])
		s.cand = s.cand[:0]
		for _, k := range best {
			s.cand = append(s.cand, keyRow(k))
		}
	}
	return s.answer(s.results, t[5]), nil
}

// scoreEnterPoints scores the enter points of startLevel (each once) and keeps
// the best topK as the results. A small graph may have no node as high as
// startLevel (with M = 32 about one node in a thousand reaches level 2): the
// enter points are then the nodes of the highest lower level that has any.
func (s *Searcher) scoreEnterPoints(sc Scorer, startLevel, topK int) error {
	if !s.have[startLevel] {
		for l := startLevel; l >= 0 && len(s.enter[startLevel]) == 0; l-- {
			s.enter[startLevel] = slices.Clone(s.g.EnterPoints(l))
		}
		s.have[startLevel] = true
	}
	enter := s.enter[startLevel]
	if len(enter) == 0 {
		return fmt.Errorf("retrieve: graph has no enter points at level %d or below", startLevel)
	}
	s.newEpoch()
	s.next = s.next[:0]
	for _, v := range enter {
		if uint32(v) >= uint32(s.n) {
			return fmt.Errorf("retrieve: enter point %d outside [0,%d)", v, s.n)
		}
		if s.visited[v] != s.epoch {
			s.visited[v] = s.epoch
			s.next = append(s.next, v)
		}
	}
	s.scoreNext(sc, startLevel)
	s.results = selectBest(append(s.results[:0], s.nkeys...), topK)
	return nil
}

// startLevel begins a level: visited = results, candidates = results.
func (s *Searcher) startLevel() {
	s.newEpoch()
	s.cand = s.cand[:0]
	for _, k := range s.results {
		r := keyRow(k)
		s.visited[r] = s.epoch
		s.cand = append(s.cand, r)
	}
}

// expand sets next to the unique unvisited neighbours on level of the
// candidates, in order of discovery, and marks them visited.
func (s *Searcher) expand(level int) error {
	if s.bridge {
		return s.expandBridged(level)
	}
	s.next = s.next[:0]
	for _, c := range s.cand {
		var err error
		if s.next, err = s.visitNeighbors(s.next, level, c); err != nil {
			return err
		}
	}
	return nil
}

// visitNeighbors appends to buf node's neighbours on level that are not
// yet visited, marking them, and returns buf.
func (s *Searcher) visitNeighbors(buf []item.Row, level int, node item.Row) ([]item.Row, error) {
	for _, v := range s.g.Neighbors(level, node) {
		if uint32(v) >= uint32(s.n) {
			return buf, fmt.Errorf("retrieve: level %d: neighbour %d of node %d outside [0,%d)", level, v, node, s.n)
		}
		if s.visited[v] != s.epoch {
			s.visited[v] = s.epoch
			buf = append(buf, v)
		}
	}
	return buf, nil
}

// expandBridged is expand for Bridge: an excluded neighbour is stepped
// over, unscored, to its own allowed unvisited neighbours. As in ACORN-1,
// a candidate yields at most as many rows as it has links (its allowed
// neighbours always, then bridged ones while the budget lasts); an
// excluded neighbour left unbridged stays unvisited for a later candidate,
// and so do excluded rows two hops away.
func (s *Searcher) expandBridged(level int) error {
	s.next = s.next[:0]
	for _, c := range s.cand {
		nb := s.g.Neighbors(level, c)
		budget := len(nb)
		for _, v := range nb {
			if uint32(v) >= uint32(s.n) {
				return fmt.Errorf("retrieve: level %d: neighbour %d of node %d outside [0,%d)", level, v, c, s.n)
			}
			if s.visited[v] == s.epoch {
				continue
			}
			if s.f.allows(v) {
				s.visited[v] = s.epoch
				s.next = append(s.next, v)
				budget--
				continue
			}
			if budget <= 0 {
				continue
			}
			s.visited[v] = s.epoch
			for _, w := range s.g.Neighbors(level, v) {
				if uint32(w) >= uint32(s.n) {
					return fmt.Errorf("retrieve: level %d: neighbour %d of node %d outside [0,%d)", level, w, v, s.n)
				}
				if s.visited[w] != s.epoch && s.f.allows(w) {
					s.visited[w] = s.epoch
					s.next = append(s.next, w)
					if budget--; budget <= 0 {
						break
					}
				}
			}
		}
	}
	return nil
}

// scoreNext scores next into nkeys and records the round.
func (s *Searcher) scoreNext(sc Scorer, level int) {
	if s.skip {
		s.dropExcluded()
	}
	m := len(s.next)
	s.nkeys = s.nkeys[:0]
	if m > 0 {
		s.scores = grow(s.scores, m)
		sc.Score(s.next, s.scores)
		for i, r := range s.next {
			s.nkeys = append(s.nkeys, makeKey(s.scores[i], r))
		}
	}
	s.rounds = append(s.rounds, Round{Level: level, Scored: m})
	s.total += m
}

// mergeBest returns the best k of results ∪ next, sorted, reusing the
// searcher's buffers (results is not retained).
func (s *Searcher) mergeBest(results, next []key, k int) []key {
	s.merge = append(append(s.merge[:0], results...), next...)
	best := selectBest(s.merge, k)
	// Swap buffers so the next merge does not overwrite what it reads.
	s.merge, s.results = s.results[:0], best
	return best
}

// extraRound reports whether a filtered walk runs extra round number extra
// (≥ 0) on level 0: there are candidates, fewer than MaxExtraRounds extra
// rounds have run, and the answer of size k is still short or, when the
// policy converges (FilterPolicy.ConvergeBelow), the last round changed it
// and the query has scored less than FilterPolicy.ConvergeBudget times
// what its configured rounds scored (the walk has not converged: a filter
// leaves fewer allowed rows near the query, so the configured rounds find
// the filtered answer's tail less often than the unfiltered one's; BENCHMARKS.md,
// "Filtered retrieval", measures what the extra rounds cost and recover).
func (s *Searcher) extraRound(level, extra, k int) bool {
	if s.f == nil || level != 0 || extra >= MaxExtraRounds || len(s.cand) == 0 {
		return false
	}
	if extra == 0 {
		s.configured = s.total
	}
	return len(s.results) < k || s.converge && s.changed && float64(s.total) < s.budget*float64(s.configured)
}

// enterLevel0 puts the filter strategy in force for the level-0 walk.
func (s *Searcher) enterLevel0() {
	s.skip, s.bridge = s.walkSkip, s.walkBridge
	s.changed = false
}

// mergeAnswer is mergeBest for the level-0 answer, recording in s.changed
// whether the merge changed it (grew it or replaced its worst key).
func (s *Searcher) mergeAnswer(results, next []key, k int) []key {
	n := len(results)
	var worst key
	if n > 0 {
		worst = results[n-1]
	}
	best := s.mergeBest(results, next, k)
	s.changed = len(best) > n || (n > 0 && best[len(best)-1] != worst)
	return best
}

// keepReaching sets the candidates to the new items whose score reaches the
// lowest score kept in the results. Filtered, while the results hold fewer
// than topK rows, every new item is a candidate (without a filter that is
// the same rule: short results hold everything scored).
func (s *Searcher) keepReaching(topK int) {
	s.cand = s.cand[:0]
	if s.f != nil && len(s.results) < topK {
		for _, k := range s.nkeys {
			s.cand = append(s.cand, keyRow(k))
		}
		return
	}
	if len(s.results) == 0 {
		return
	}
	worst := keyRank(s.results[len(s.results)-1])
	for _, k := range s.nkeys {
		if keyRank(k) <= worst {
			s.cand = append(s.cand, keyRow(k))
		}
	}
}

func (s *Searcher) newEpoch() {
	s.epoch++
	if s.epoch == 0 {
		clear(s.visited)
		s.epoch = 1
	}
}

// answer decodes the first k keys into the searcher's output buffers.
func (s *Searcher) answer(keys []key, k int) Result {
	keys = keys[:min(k, len(keys))]
	s.rows, s.out = decode(keys, s.rows, s.out)
	return Result{Rows: s.rows, Scores: s.out, Stats: Stats{Rounds: s.rounds, Total: s.total}}
}

func decode(keys []key, rows []item.Row, scores []float32) ([]item.Row, []float32) {
	rows, scores = rows[:0], scores[:0]
	for _, k := range keys {
		rows = append(rows, keyRow(k))
		scores = append(scores, keyScore(k))
	}
	return rows, scores
}

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n, n+n/4)
	}
	return b[:n]
}
