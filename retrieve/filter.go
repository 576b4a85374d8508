package retrieve

import (
	"errors"
	"fmt"
	"math"

	"nann/item"
)

// Filtered retrieval. A Filter says which item rows may enter an answer:
// rows excluded one by one (an item the user already bought) and classes
// of rows included or excluded (item categories, through a Partition).
// The walk over the graph still passes through excluded rows — they are
// stepping stones toward allowed ones — but they never enter the answer.
// A filter that leaves few rows is answered by scoring exactly the rows it
// allows (FilterPolicy.ExactBelow), so every answer is full: K rows, or
// every allowed row when fewer than K are allowed.

// Partition assigns every row of a corpus one class in [0, NumClasses) —
// for the reference model the item's category — and lists the rows of each
// class, so a filter that includes a few classes can enumerate their rows
// without a scan. It is built once per corpus and is read-only.
type Partition struct {
	class item.ByRow[int32] // row → class
	start []int32           // class c's rows are rows[start[c]:start[c+1]]
	rows  []item.Row
}

// NewPartition builds the partition of len(class) rows into numClasses
// classes; class is kept, not copied. Every problem is reported.
func NewPartition(class item.ByRow[int32], numClasses int) (*Partition, error) {
	var errs []error
	if numClasses < 1 || numClasses > math.MaxInt32-1 {
		errs = append(errs, fmt.Errorf("%d classes outside [1,%d]", numClasses, math.MaxInt32-1))
	}
	if len(class) > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("%d rows, more than int32 row ids allow", len(class)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("retrieve: partition: %w", err)
	}
	start := make([]int32, numClasses+1)
	for r, c := range class {
		if c < 0 || int(c) >= numClasses {
			errs = append(errs, fmt.Errorf("row %d: class %d outside [0,%d)", r, c, numClasses))
			if len(errs) == 10 {
				errs = append(errs, errors.New("(further rows not checked)"))
				break
			}
			continue
		}
		start[c+1]++
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("retrieve: partition: %w", err)
	}
	for c := range numClasses {
		start[c+1] += start[c]
	}
	rows := make([]item.Row, len(class))
	fill := append([]int32(nil), start[:numClasses]...)
	for r, c := range class {
		rows[fill[c]] = item.Row(r)
		fill[c]++
	}
	return &Partition{class: class, start: start, rows: rows}, nil
}

// Len is the number of rows.
func (p *Partition) Len() int { return len(p.class) }

// NumClasses is the number of classes.
func (p *Partition) NumClasses() int { return len(p.start) - 1 }

// Class is row's class.
func (p *Partition) Class(row item.Row) int32 { return p.class[row] }

// Rows lists the rows of class c in ascending order (owned by the partition).
func (p *Partition) Rows(c int32) []item.Row { return p.rows[p.start[c]:p.start[c+1]] }

// Filter is one query's restriction on the answer. Reset it, then call
// Exclude, IncludeClass and ExcludeClass; a row is allowed when it is not
// excluded, its class is not excluded and, if any class is included, its
// class is one of them. A Filter is reused from query to query without
// allocating (its buffers are sized to the corpus once) and serves one
// goroutine at a time. The zero restriction (after Reset) allows every row.
type Filter struct {
	n    int
	part *Partition

	excl     []uint64   // bitset of excluded rows
	exclRows []item.Row // the rows set in excl, to clear and count them

	// Per class: 1 included, 2 excluded (bits), with the lists of classes
	// touched to clear them; ok[c] is the compiled verdict of class c.
	mark      []uint8
	touched   []int32
	nIncluded int
	ok        []bool
	compiled  bool
	classes   bool // some class is restricted (ok is in force)
	allowed   int  // rows allowed (after compile)
}

const (
	markIncluded = 1
	markExcluded = 2
)

// NewFilter returns a Filter over numItems rows. part may be nil (then the
// class methods fail); when given it must cover numItems rows.
func NewFilter(numItems int, part *Partition) (*Filter, error) {
	if numItems < 0 || numItems > math.MaxInt32 {
		return nil, fmt.Errorf("retrieve: filter: %d items outside [0,%d]", numItems, math.MaxInt32)
	}
	if part != nil && part.Len() != numItems {
		return nil, fmt.Errorf("retrieve: filter: partition covers %d rows, the corpus has %d", part.Len(), numItems)
	}
	f := &Filter{n: numItems, part: part, excl: make([]uint64, (numItems+63)/64)}
	if part != nil {
		f.mark = make([]uint8, part.NumClasses())
		f.ok = make([]bool, part.NumClasses())
	}
	return f, nil
}

// Len is the corpus size the filter covers.
func (f *Filter) Len() int { return f.n }

// Reset removes every restriction.
func (f *Filter) Reset() {
	for _, r := range f.exclRows {
		f.excl[r>>6] = 0
	}
	f.exclRows = f.exclRows[:0]
	for _, c := range f.touched {
		f.mark[c] = 0
	}
	f.touched = f.touched[:0]
	f.nIncluded = 0
	f.compiled = false
}

// Exclude keeps row out of the answer (repeats are harmless).
func (f *Filter) Exclude(row item.Row) error {
	if row < 0 || int(row) >= f.n {
		return fmt.Errorf("retrieve: filter: row %d outside [0,%d)", row, f.n)
	}
	if w, b := row>>6, uint64(1)<<(row&63); f.excl[w]&b == 0 {
		f.excl[w] |= b
		f.exclRows = append(f.exclRows, row)
		f.compiled = false
	}
	return nil
}

// IncludeClass allows class c (and, once any class is included, only the
// included ones).
func (f *Filter) IncludeClass(c int32) error { return f.markClass(c, markIncluded) }

// ExcludeClass keeps every row of class c out of the answer; it wins over
// IncludeClass.
func (f *Filter) ExcludeClass(c int32) error { return f.markClass(c, markExcluded) }

func (f *Filter) markClass(c int32, m uint8) error {
	if f.part == nil {
		return errors.New("retrieve: filter: no partition into classes")
	}
	if c < 0 || int(c) >= len(f.mark) {
		return fmt.Errorf("retrieve: filter: class %d outside [0,%d)", c, len(f.mark))
	}
	if f.mark[c] == 0 {
		f.touched = append(f.touched, c)
	}
	if m == markIncluded && f.mark[c]&markIncluded == 0 {
		f.nIncluded++
	}
	f.mark[c] |= m
	f.compiled = false
	return nil
}

// Active reports whether the filter restricts anything.
func (f *Filter) Active() bool { return len(f.exclRows) > 0 || len(f.touched) > 0 }

// compile computes the per-class verdicts and the allowed count:
// O(classes touched + rows excluded), or O(classes) when a class is
// included (every other class becomes disallowed).
func (f *Filter) compile() {
	if f.compiled {
		return
	}
	f.compiled = true
	f.classes = len(f.touched) > 0
	allowed := f.n
	if f.classes {
		if f.nIncluded > 0 {
			clear(f.ok)
			allowed = 0
			for _, c := range f.touched {
				if f.mark[c] == markIncluded {
					f.ok[c] = true
					allowed += len(f.part.Rows(c))
				}
			}
		} else {
			for i := range f.ok {
				f.ok[i] = true
			}
			for _, c := range f.touched {
				f.ok[c] = false
				allowed -= len(f.part.Rows(c))
			}
		}
	}
	for _, r := range f.exclRows {
		if !f.classes || f.ok[f.part.class[r]] {
			allowed--
		}
	}
	f.allowed = allowed
}

// Allowed is the number of rows the filter lets through.
func (f *Filter) Allowed() int {
	f.compile()
	return f.allowed
}

// Allows reports whether row may enter an answer.
func (f *Filter) Allows(row item.Row) bool {
	f.compile()
	return f.allows(row)
}

// allows is Allows once compiled.
func (f *Filter) allows(row item.Row) bool {
	if f.excl[row>>6]&(1<<(row&63)) != 0 {
		return false
	}
	return !f.classes || f.ok[f.part.class[row]]
}

// eachAllowed calls fill with successive runs of allowed rows written into
// buf (at most len(buf) each), in ascending row order within each class
// when classes are included and in row order otherwise.
func (f *Filter) eachAllowed(buf []item.Row, fill func(rows []item.Row)) {
	f.compile()
	n := 0
	flush := func() {
		if n > 0 {
			fill(buf[:n])
			n = 0
		}
	}
	add := func(r item.Row) {
		if f.excl[r>>6]&(1<<(r&63)) == 0 {
			buf[n] = r
			if n++; n == len(buf) {
				flush()
			}
		}
	}
	if f.classes && f.nIncluded > 0 {
		for _, c := range f.touched {
			if f.ok[c] {
				for _, r := range f.part.Rows(c) {
					add(r)
				}
			}
		}
	} else {
		for r := range item.Row(f.n) {
			if !f.classes || f.ok[f.part.class[r]] {
				add(r)
			}
		}
	}
	flush()
}

// FilterStrategy is how beam retrieval treats the rows a filter excludes.
type FilterStrategy int

const (
	// Traverse scores excluded rows like any other, so they steer the walk
	// and serve as candidates, but keeps them out of the level-0 results.
	Traverse FilterStrategy = iota
	// Skip never scores excluded rows on level 0: they are marked visited
	// and dropped, so the walk goes around them (cheaper per round, and the
	// graph has holes where the filter is dense). The upper levels score
	// every row, as Traverse does, so that the descent lands where the
	// unfiltered one would (they hold ~1/M of the corpus).
	Skip
	// Bridge never scores excluded rows on level 0 either, but steps over
	// them: an excluded neighbour's allowed neighbours join the round in its
	// place (two hops, unscored in between), so the walk keeps its
	// connectivity. The upper levels are walked as by Skip.
	Bridge
	// Auto is Traverse for a filter allowing more than
	// FilterPolicy.TraverseAbove of the corpus and Bridge below: the
	// measured winners (BENCHMARKS.md, "Filtered retrieval").
	Auto
)

func (s FilterStrategy) String() string {
	switch s {
	case Traverse:
		return "traverse"
	case Skip:
		return "skip"
	case Bridge:
		return "bridge"
	case Auto:
		return "auto"
	}
	return fmt.Sprintf("FilterStrategy(%d)", int(s))
}

// ParseFilterStrategy reads "traverse", "skip", "bridge" or "auto".
func ParseFilterStrategy(s string) (FilterStrategy, error) {
	switch s {
	case "traverse":
		return Traverse, nil
	case "skip":
		return Skip, nil
	case "bridge":
		return Bridge, nil
	case "auto":
		return Auto, nil
	}
	return 0, fmt.Errorf("retrieve: filter strategy %q is not traverse, skip, bridge or auto", s)
}

// DefaultExactBelow is the allowed fraction of the corpus at or below which
// a filtered query is answered by exact scoring of the allowed rows. It
// comes from BenchmarkFilterCrossover (BENCHMARKS.md, "Filtered
// retrieval"): the fraction below which the beam either scores more items
// than the exact scan or falls under recall 0.95 against it was 5% on 20 K
// and 100 K items and between 2% and 5% on 300 K. It falls as the corpus
// grows (the beam's work grows like log n, the scan's like n), so a much
// larger corpus may set FilterPolicy.ExactBelow lower.
const DefaultExactBelow = 0.05

// MaxExtraRounds bounds the level-0 rounds a filtered beam adds after the
// configured ones, while its answer is short or still changing (a short
// answer then falls back to exact scoring of the allowed rows).
const MaxExtraRounds = 16

// FilterPolicy says how a Searcher applies a Filter.
type FilterPolicy struct {
	// Strategy is how excluded rows are treated by the walk (default Auto).
	Strategy FilterStrategy `json:"strategy"`
	// TraverseAbove is the allowed fraction in [0, 1] above which Auto
	// traverses excluded rows and at or below which it bridges over them
	// (default DefaultTraverseAbove).
	TraverseAbove float64 `json:"traverse_above"`
	// ExactBelow is the allowed fraction of the corpus in [0, 1] at or below
	// which the allowed rows are scored exactly instead of walked (default
	// DefaultExactBelow). A filter allowing no more rows than the answer
	// size is always answered exactly.
	ExactBelow float64 `json:"exact_below"`
	// ConvergeBelow is the allowed fraction in [0, 1] at or below which the
	// level-0 walk runs extra rounds (up to MaxExtraRounds) while its answer
	// still changes, instead of stopping after the configured rounds
	// (default DefaultConvergeBelow). A filter allowing more is walked like
	// the unfiltered beam (extra rounds only to fill a short answer).
	ConvergeBelow float64 `json:"converge_below"`
	// ConvergeBudget (≥ 1) bounds the converging rounds: they stop once the
	// query has scored ConvergeBudget times the items its configured rounds
	// scored (default DefaultConvergeBudget). Traverse's configured rounds
	// score what the unfiltered walk does, so this bounds the filtered cost
	// against the unfiltered one.
	ConvergeBudget float64 `json:"converge_budget"`
}

// DefaultConvergeBudget is FilterPolicy.ConvergeBudget's default: the
// issue's bound of 1.5× the unfiltered items, less a margin.
const DefaultConvergeBudget = 1.45

// DefaultConvergeBelow is FilterPolicy.ConvergeBelow's default: a filter
// that excludes at least a tenth of the corpus converges. On the 1 M-item
// world the configured rounds leave the filtered answer's tail unfound
// (50% allowed: recall 0.83 against filtered brute force, like the
// unfiltered walk's; 10%: 0.95), and converging lifts it to 0.95 and 0.997
// at 1.49× and 1.23× the unfiltered items scored (BENCHMARKS.md,
// "Filtered retrieval"); excluding a user's history (~50 rows) is walked as
// unfiltered.
const DefaultConvergeBelow = 0.9

// DefaultTraverseAbove is FilterPolicy.TraverseAbove's default: above it
// Traverse scores no more items than the unfiltered beam at recall ≥ 0.97
// against filtered brute force, below it Bridge keeps recall where
// Traverse's falls (BenchmarkFilterCrossover).
const DefaultTraverseAbove = 0.3

// DefaultFilterPolicy returns Auto with DefaultTraverseAbove and
// DefaultExactBelow.
func DefaultFilterPolicy() FilterPolicy {
	return FilterPolicy{Strategy: Auto, TraverseAbove: DefaultTraverseAbove, ExactBelow: DefaultExactBelow, ConvergeBelow: DefaultConvergeBelow,
		ConvergeBudget: DefaultConvergeBudget}
}

// Validate reports every problem with the policy.
func (p FilterPolicy) Validate() error {
	var errs []error
	if p.Strategy < Traverse || p.Strategy > Auto {
		errs = append(errs, fmt.Errorf("strategy %d is not traverse (0), skip (1), bridge (2) or auto (3)", int(p.Strategy)))
	}
	if !(p.TraverseAbove >= 0 && p.TraverseAbove <= 1) {
		errs = append(errs, fmt.Errorf("traverse_above %v outside [0,1]", p.TraverseAbove))
	}
	if !(p.ExactBelow >= 0 && p.ExactBelow <= 1) {
		errs = append(errs, fmt.Errorf("exact_below %v outside [0,1]", p.ExactBelow))
	}
	if p.ConvergeBelow > 0 && !(p.ConvergeBudget >= 1 && p.ConvergeBudget <= 100) {
		errs = append(errs, fmt.Errorf("converge_budget %v outside [1,100] (with converge_below %v > 0)", p.ConvergeBudget, p.ConvergeBelow))
	}
	if !(p.ConvergeBelow >= 0 && p.ConvergeBelow <= 1) {
		errs = append(errs, fmt.Errorf("converge_below %v outside [0,1]", p.ConvergeBelow))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("retrieve: filter policy: %w", err)
	}
	return nil
}

// SearchFiltered is Search restricted to the rows f allows (f may be nil
// or inactive: plain Search). The answer holds the best rows the walk
// found among the allowed ones; it is full — b.AnswerSize() rows, or every
// allowed row when fewer are allowed — because a short answer is extended
// by extra level-0 rounds and, failing those, by exact scoring of the
// allowed rows. Stats.Exact reports that the allowed rows were scored
// exactly (the filter left at most pol.ExactBelow of the corpus, or the
// walk could not fill the answer).
func (s *Searcher) SearchFiltered(sc Scorer, b Beam, f *Filter, pol FilterPolicy) (Result, error) {
	if f == nil || !f.Active() {
		return s.Search(sc, b)
	}
	if err := b.ValidateFor(s.n); err != nil {
		return Result{}, err
	}
	if err := pol.Validate(); err != nil {
		return Result{}, err
	}
	if f.n != s.n {
		return Result{}, fmt.Errorf("retrieve: filter covers %d rows, the graph has %d", f.n, s.n)
	}
	f.compile()
	s.rounds = s.rounds[:0]
	s.total = 0
	k := b.AnswerSize()
	if f.allowed <= k || float64(f.allowed) <= pol.ExactBelow*float64(s.n) {
		return s.exactAllowed(sc, f, k), nil
	}
	st := pol.Strategy
	if st == Auto {
		st = Bridge
		if float64(f.allowed) > pol.TraverseAbove*float64(s.n) {
			st = Traverse
		}
	}
	s.f, s.walkSkip, s.walkBridge = f, st != Traverse, st == Bridge
	s.converge = float64(f.allowed) <= pol.ConvergeBelow*float64(s.n)
	s.budget = pol.ConvergeBudget
	defer func() {
		s.f, s.skip, s.bridge, s.walkSkip, s.walkBridge, s.converge = nil, false, false, false, false, false
	}()
	r, err := b.search(s, sc)
	if err != nil || len(r.Rows) >= k {
		return r, err
	}
	// The walk could not find k allowed rows: score them all.
	return s.exactAllowed(sc, f, k), nil
}

// exactAllowed scores every row f allows and answers the best k.
func (s *Searcher) exactAllowed(sc Scorer, f *Filter, k int) Result {
	s.xrows = grow(s.xrows, min(ExactChunk, max(f.allowed, 1)))
	s.xbest = s.xbest[:0]
	scored := 0
	f.eachAllowed(s.xrows, func(rows []item.Row) {
		s.scores = grow(s.scores, len(rows))
		sc.Score(rows, s.scores)
		for i, r := range rows {
			s.xbest = append(s.xbest, makeKey(s.scores[i], r))
		}
		scored += len(rows)
		if len(s.xbest) >= k+ExactChunk {
			s.xbest = selectBest(s.xbest, k)
		}
	})
	s.xbest = selectBest(s.xbest, k)
	s.total += scored
	r := s.answer(s.xbest, k)
	r.Stats.Exact = true
	return r
}

// dropExcluded removes the rows the filter excludes from next (Skip and
// Bridge; for Bridge only enter points can be excluded).
func (s *Searcher) dropExcluded() {
	kept := s.next[:0]
	for _, r := range s.next {
		if s.f.allows(r) {
			kept = append(kept, r)
		}
	}
	s.next = kept
}

// allowedOf returns the keys of ks whose rows the filter allows (all of
// them without a filter), in a searcher buffer.
func (s *Searcher) allowedOf(ks []key) []key {
	if s.f == nil || s.skip {
		return ks
	}
	s.akeys = s.akeys[:0]
	for _, k := range ks {
		if s.f.allows(keyRow(k)) {
			s.akeys = append(s.akeys, k)
		}
	}
	return s.akeys
}

// keepAllowed drops, in place, the keys whose rows the filter excludes.
func (s *Searcher) keepAllowed(ks []key) []key {
	if s.f == nil {
		return ks
	}
	kept := ks[:0]
	for _, k := range ks {
		if s.f.allows(keyRow(k)) {
			kept = append(kept, k)
		}
	}
	return kept
}
