package retrieve

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"nann/item"
)

// ---- reference implementation: SPEC §6 followed literally with maps and sorts ----

type refItem struct {
	row   item.Row
	score float32
}

// refBest sorts items best first (score descending, row ascending) and keeps k.
func refBest(items []refItem, k int) []refItem {
	items = slices.Clone(items)
	sort.Slice(items, func(i, j int) bool {
		if items[i].score != items[j].score {
			return items[i].score > items[j].score
		}
		return items[i].row < items[j].row
	})
	if len(items) > k {
		items = items[:k]
	}
	return items
}

type refScore func(row item.Row) float32

// refNext returns unique(neighbours on level of cands) − visited, and adds it to visited.
func refNext(g Graph, level int, cands []item.Row, visited map[item.Row]bool) []item.Row {
	set := map[item.Row]bool{}
	for _, c := range cands {
		for _, v := range g.Neighbors(level, c) {
			if !visited[v] {
				set[v] = true
			}
		}
	}
	var next []item.Row
	for v := range set {
		next = append(next, v)
		visited[v] = true
	}
	slices.Sort(next)
	return next
}

func refScoreAll(rows []item.Row, score refScore) []refItem {
	out := make([]refItem, len(rows))
	for i, r := range rows {
		out[i] = refItem{r, score(r)}
	}
	return out
}

func rowsOf(items []refItem) []item.Row {
	out := make([]item.Row, len(items))
	for i, it := range items {
		out[i] = it.row
	}
	return out
}

func refEval(g Graph, score refScore, p *Params) ([]refItem, []int) {
	var perRound []int
	enter := g.EnterPoints(p.StartLevel)
	// 1. Score every enter point; keep the best top_k[start].
	results := refBest(refScoreAll(enter, score), p.TopK[p.StartLevel])
	perRound = append(perRound, len(enter))
	// 2. For each level below: visited = results; candidates = results; rounds.
	for level := p.StartLevel - 1; level >= 0; level-- {
		visited := map[item.Row]bool{}
		for _, it := range results {
			visited[it.row] = true
		}
		cands := rowsOf(results)
		for range p.NumScoring[level] {
			next := refScoreAll(refNext(g, level, cands, visited), score)
			perRound = append(perRound, len(next))
			results = refBest(append(slices.Clone(results), next...), p.TopK[level])
			cands = nil
			if len(results) > 0 {
				lowest := results[len(results)-1].score
				for _, it := range next {
					if it.score >= lowest {
						cands = append(cands, it.row)
					}
				}
			}
		}
	}
	// 3. The first K of the level-0 results.
	return refBest(results, p.K), perRound
}

func refServing(g Graph, score refScore, p *ServingParams) ([]refItem, []int) {
	t := p.LevelTopN
	var perRound []int
	enter := g.EnterPoints(2)
	results := refBest(refScoreAll(enter, score), t[0])
	perRound = append(perRound, len(enter))

	visited := map[item.Row]bool{}
	for _, it := range results {
		visited[it.row] = true
	}
	next := refScoreAll(refNext(g, 1, rowsOf(results), visited), score)
	perRound = append(perRound, len(next))
	results = refBest(append(slices.Clone(results), next...), t[1])

	visited = map[item.Row]bool{}
	for _, it := range results {
		visited[it.row] = true
	}
	cands := rowsOf(results)
	for r := range 3 {
		next := refScoreAll(refNext(g, 0, cands, visited), score)
		perRound = append(perRound, len(next))
		results = append(results, next...)
		cands = rowsOf(refBest(next, t[2+r]))
	}
	return refBest(results, t[5]), perRound
}

// ---- random test material ----

// randomGraph builds a layered graph over n nodes with top levels drawn as in
// HNSW (about 1 in m per level), random links (including self-links and
// duplicates, which the search must ignore), at most deg per node.
func randomGraph(rng *rand.Rand, n, levels, deg, m int) *AdjacencyGraph {
	top := make([]int, n)
	for i := range top {
		for top[i] < levels+1 && rng.IntN(m) == 0 {
			top[i]++
		}
	}
	top[rng.IntN(n)] = levels + 1 // at least one enter point above the stored levels
	adj := make([][][]item.Row, levels)
	for l := range adj {
		var members []item.Row
		for i, t := range top {
			if t >= l {
				members = append(members, item.Row(i))
			}
		}
		adj[l] = make([][]item.Row, n)
		for _, u := range members {
			d := rng.IntN(deg + 1)
			for range d {
				adj[l][u] = append(adj[l][u], members[rng.IntN(len(members))])
			}
		}
	}
	g, err := NewAdjacencyGraph(adj, top)
	if err != nil {
		panic(err)
	}
	return g
}

// randomVectors uses small integer coordinates so that equal scores (ties) occur.
func randomVectors(rng *rand.Rand, n, dim int) []float32 {
	v := make([]float32, n*dim)
	for i := range v {
		v[i] = float32(rng.IntN(5))
	}
	return v
}

func l2Ref(t testing.TB, data []float32, dim int, q []float32) (QueryScorer[[]float32], refScore) {
	m, err := NewL2(data, dim)
	if err != nil {
		t.Fatal(err)
	}
	sc := m.NewScorer()
	if err := sc.Bind(q); err != nil {
		t.Fatal(err)
	}
	one := make([]float32, 1)
	return sc, func(r item.Row) float32 {
		sc.Score([]item.Row{r}, one)
		return one[0]
	}
}

func randomParams(rng *rand.Rand, n int) *Params {
	start := rng.IntN(4)
	p := &Params{StartLevel: start, TopK: make([]int, start+1), NumScoring: make([]int, start+1)}
	for l := range p.TopK {
		p.TopK[l] = 1 + rng.IntN(min(n, 40))
		p.NumScoring[l] = 1 + rng.IntN(4)
	}
	p.K = 1 + rng.IntN(p.TopK[0])
	return p
}

func checkSame(t *testing.T, what string, got Result, want []refItem, wantRounds []int) {
	t.Helper()
	if len(got.Rows) != len(want) {
		t.Fatalf("%s: %d rows, reference %d\n got %v\nwant %v", what, len(got.Rows), len(want), got.Rows, want)
	}
	for i, it := range want {
		if got.Rows[i] != it.row || got.Scores[i] != it.score {
			t.Fatalf("%s: position %d: got (%d, %g), reference (%d, %g)", what, i, got.Rows[i], got.Scores[i], it.row, it.score)
		}
	}
	if wantRounds == nil {
		return
	}
	total := 0
	for i, r := range got.Stats.Rounds {
		if i >= len(wantRounds) || r.Scored != wantRounds[i] {
			t.Fatalf("%s: rounds %v, reference %v", what, got.Stats.Rounds, wantRounds)
		}
		total += r.Scored
	}
	if len(got.Stats.Rounds) != len(wantRounds) || got.Stats.Total != total {
		t.Fatalf("%s: rounds %v total %d, reference %v", what, got.Stats.Rounds, got.Stats.Total, wantRounds)
	}
}

func TestSearchMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n, dim, g := randomTrial(rng)
		data := randomVectors(rng, n, dim)
		s := NewSearcher(g)
		for qi := range 4 {
			q := randomVectors(rng, 1, dim)
			sc, ref := l2Ref(t, data, dim, q)
			p := randomParams(rng, n)
			if len(g.EnterPoints(p.StartLevel)) == 0 {
				p.StartLevel = 0
				p.TopK, p.NumScoring = p.TopK[:1], p.NumScoring[:1]
				p.K = min(p.K, p.TopK[0])
			}
			got, err := s.Search(sc, p)
			if err != nil {
				t.Fatalf("trial %d query %d %v: %v", trial, qi, p, err)
			}
			want, rounds := refEval(g, ref, p)
			checkSame(t, fmt.Sprintf("trial %d query %d eval %v", trial, qi, p), got, want, rounds)
			if len(g.EnterPoints(2)) == 0 {
				continue
			}
			sp := &ServingParams{}
			for i := range sp.LevelTopN {
				sp.LevelTopN[i] = 1 + rng.IntN(min(n, 40))
			}
			got, err = s.Search(sc, sp)
			if err != nil {
				t.Fatalf("trial %d query %d %v: %v", trial, qi, sp, err)
			}
			want, rounds = refServing(g, ref, sp)
			checkSame(t, fmt.Sprintf("trial %d query %d %v", trial, qi, sp), got, want, rounds)
		}
	}
}

// rankScorer scores row r by a fixed permutation: a known total order.
type rankScorer []float32

func (r rankScorer) Score(rows []item.Row, out []float32) {
	for i, v := range rows {
		out[i] = r[v]
	}
}

// ringGraph is connected on level 0 (a ring plus random chords); every node is
// on level 1 with a few links; ~5% of nodes are enter points at level 2.
func ringGraph(rng *rand.Rand, n int) *AdjacencyGraph {
	top := make([]int, n)
	adj := [][][]item.Row{make([][]item.Row, n), make([][]item.Row, n)}
	for i := range n {
		adj[0][i] = []item.Row{item.Row((i + 1) % n), item.Row((i + n - 1) % n), item.Row(rng.IntN(n)), item.Row(rng.IntN(n))}
		adj[1][i] = []item.Row{item.Row(rng.IntN(n))}
		if rng.IntN(20) == 0 {
			top[i] = 2
		}
	}
	top[0] = 2
	g, err := NewAdjacencyGraph(adj, top)
	if err != nil {
		panic(err)
	}
	return g
}

func TestWideBeamIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 500
	g := ringGraph(rng, n)
	s := NewSearcher(g)
	ex := NewExact(n)
	for trial := range 20 {
		sc := rankScorer(make([]float32, n))
		for i, v := range rng.Perm(n) {
			sc[i] = float32(v)
		}
		k := 1 + rng.IntN(100)
		p := &Params{StartLevel: 2, TopK: []int{n, n, n}, NumScoring: []int{MaxRoundsPerLev, 1, 1}, K: k}
		got, err := s.Search(sc, p)
		if err != nil {
			t.Fatal(err)
		}
		gotRows := slices.Clone(got.Rows)
		if got.Stats.Total > 2*n {
			t.Fatalf("scored %d items, at most %d possible", got.Stats.Total, 2*n)
		}
		want, err := ex.TopK(sc, k)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gotRows, want.Rows) {
			t.Fatalf("trial %d: wide beam %v, exact %v", trial, gotRows, want.Rows)
		}
		for i, r := range want.Rows {
			if sc[r] != float32(n-1-i) {
				t.Fatalf("trial %d: exact answer position %d is row %d with rank %g", trial, i, r, sc[r])
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n, dim := 2000, 8
	g := randomGraph(rng, n, 2, 16, 8)
	data := randomVectors(rng, n, dim)
	m, _ := NewL2(data, dim)
	queries := randomVectors(rng, 50, dim)
	run := func(s *Searcher, order []int) map[int][]item.Row {
		out := map[int][]item.Row{}
		sc := m.NewScorer()
		for _, i := range order {
			if err := sc.Bind(queries[i*dim : (i+1)*dim]); err != nil {
				t.Fatal(err)
			}
			r, err := s.Search(sc, DefaultServing())
			if err != nil {
				t.Fatal(err)
			}
			out[i] = slices.Clone(r.Rows)
		}
		return out
	}
	order := rng.Perm(50)
	a := run(NewSearcher(g), order)
	shared := NewSearcher(g)
	b := run(shared, rng.Perm(50))
	c := run(shared, order) // a searcher with history gives the same answers
	for i := range 50 {
		if !slices.Equal(a[i], b[i]) || !slices.Equal(a[i], c[i]) {
			t.Fatalf("query %d: answers differ between runs", i)
		}
	}
}

func TestExactEqualsSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := range 50 {
		n := 1 + rng.IntN(3*ExactChunk)
		dim := 1 + rng.IntN(4)
		data := randomVectors(rng, n, dim)
		q := randomVectors(rng, 1, dim)
		sc, ref := l2Ref(t, data, dim, q)
		all := make([]refItem, n)
		for i := range all {
			all[i] = refItem{item.Row(i), ref(item.Row(i))}
		}
		k := 1 + rng.IntN(min(n, 500))
		if trial%10 == 0 {
			k = n
		}
		want := refBest(all, k)
		got, err := NewExact(n).TopK(sc, k)
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, fmt.Sprintf("trial %d n=%d k=%d", trial, n, k), got, want, nil)
		if got.Stats.Total != n {
			t.Fatalf("total %d, want %d", got.Stats.Total, n)
		}
		parts := 1 + rng.IntN(5)
		par, err := NewExactParallel(n, parts)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := NewL2(data, dim)
		scs := make([]Scorer, parts)
		for i := range scs {
			s := m.NewScorer()
			s.Bind(q)
			scs[i] = s
		}
		got, err = par.TopK(scs, k)
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, fmt.Sprintf("parallel trial %d n=%d k=%d parts=%d", trial, n, k, parts), got, want, nil)
	}
}

func TestNoAllocationsPerQuery(t *testing.T) {
	w := newL2World(rand.New(rand.NewPCG(9, 10)), 5000, 16, 32, 10, 64)
	sc := w.m.NewScorer()
	s := NewSearcher(w.g)
	ex := NewExact(w.g.Len())
	p := &Params{StartLevel: 2, TopK: []int{400, 200, 100}, NumScoring: []int{3, 1, 1}, K: 200}
	sp := DefaultServing()
	checkNoAllocs(t, w.eachQuery(t, sc, func(int) {
		if _, err := s.Search(sc, p); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Search(sc, sp); err != nil {
			t.Fatal(err)
		}
		if _, err := ex.TopK(sc, 200); err != nil {
			t.Fatal(err)
		}
	}))
}

func TestEpochWrap(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	n, dim := 300, 3
	g := randomGraph(rng, n, 2, 8, 4)
	data := randomVectors(rng, n, dim)
	q := randomVectors(rng, 1, dim)
	sc, _ := l2Ref(t, data, dim, q)
	p := &ServingParams{LevelTopN: [6]int{10, 20, 20, 20, 20, 20}}
	s := NewSearcher(g)
	want, err := s.Search(sc, p)
	if err != nil {
		t.Fatal(err)
	}
	wantRows := slices.Clone(want.Rows)
	s.epoch = ^uint32(0) - 1 // force the stamp to wrap during the next query
	got, err := s.Search(sc, p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Rows, wantRows) {
		t.Fatalf("after epoch wrap %v, before %v", got.Rows, wantRows)
	}
}

func TestKeyOrder(t *testing.T) {
	inf := float32(math.Inf(1))
	vals := []float32{-inf, -1e30, -2, -1, -1e-40, 0, 1e-40, 1, 2, 1e30, inf}
	for i := 1; i < len(vals); i++ {
		if !(makeKey(vals[i], 0) < makeKey(vals[i-1], 0)) {
			t.Fatalf("key(%g) not before key(%g)", vals[i], vals[i-1])
		}
	}
	for _, v := range vals {
		if got := keyScore(makeKey(v, 7)); got != v {
			t.Fatalf("score %g round-trips to %g", v, got)
		}
	}
	nan := float32(0)
	nan = nan / nan
	if makeKey(nan, 0) < makeKey(-inf, 0) || keyScore(makeKey(nan, 1)) != -inf {
		t.Fatal("NaN must rank as -Inf")
	}
	if makeKey(1, 3) > makeKey(1, 4) || keyRow(makeKey(1, 1<<31-1)) != 1<<31-1 {
		t.Fatal("ties must be broken by lower row")
	}
}

func TestSelectBest(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for range 500 {
		n := rng.IntN(2000)
		a := make([]key, n)
		for i := range a {
			a[i] = key(rng.IntN(50)) // many duplicates
		}
		if rng.IntN(3) == 0 {
			slices.Sort(a) // adversarial-ish: presorted
		}
		want := slices.Clone(a)
		slices.Sort(want)
		k := rng.IntN(n + 2)
		got := selectBest(a, k)
		if !slices.Equal(got, want[:min(k, n)]) {
			t.Fatalf("n=%d k=%d: wrong selection", n, k)
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		b    Beam
		n    int
		bad  bool
		name string
	}{
		{DefaultParams(), 1000, false, "defaults"},
		{DefaultServing(), 1000, false, "serving defaults"},
		{DefaultParams(), 300, true, "top_k above corpus"},
		{&Params{StartLevel: -1}, 1000, true, "negative start"},
		{&Params{StartLevel: 2, TopK: []int{400, 200}, NumScoring: []int{3, 1, 1}, K: 200}, 1000, true, "short top_k"},
		{&Params{StartLevel: 2, TopK: []int{400, 200, 100}, NumScoring: []int{0, 1, 1}, K: 200}, 1000, true, "zero rounds"},
		{&Params{StartLevel: 2, TopK: []int{400, 200, 100}, NumScoring: []int{3, 1, 1}, K: 500}, 1000, true, "k above top_k[0]"},
		{&Params{StartLevel: 2, TopK: []int{400, 200, 100}, NumScoring: []int{1000, 1, 1}, K: 200}, 1000, true, "too many rounds"},
		{&Params{StartLevel: 2, TopK: []int{400, -2, 100}, NumScoring: []int{3, 1, 1}, K: 200}, 1000, true, "negative width"},
		{&ServingParams{LevelTopN: [6]int{100, 0, 200, 200, 200, 200}}, 1000, true, "zero topn"},
		{&ServingParams{LevelTopN: [6]int{100, 200, MaxTopK + 1, 200, 200, 200}}, -1, true, "huge topn"},
	}
	for _, c := range cases {
		err := c.b.ValidateFor(c.n)
		if (err != nil) != c.bad {
			t.Errorf("%s: ValidateFor(%d) = %v", c.name, c.n, err)
		}
	}
	// Every problem is reported at once.
	err := (&Params{StartLevel: 2, TopK: []int{0, 200, 100}, NumScoring: []int{0, 1, 1}, K: 0}).Validate()
	if err == nil || len(fmt.Sprint(err)) < 80 {
		t.Fatalf("want several problems, got %v", err)
	}
	// The searcher refuses bad parameters with the validation error.
	g := ringGraph(rand.New(rand.NewPCG(1, 1)), 50)
	if _, err := NewSearcher(g).Search(rankScorer(make([]float32, 50)), DefaultParams()); err == nil {
		t.Fatal("default params on a 50-item corpus must be rejected")
	}
}

func TestParseBeam(t *testing.T) {
	for _, b := range []Beam{DefaultParams(), DefaultServing()} {
		got, err := ParseBeam(b.String())
		if err != nil || got.String() != b.String() {
			t.Fatalf("ParseBeam(%q) = %v, %v", b.String(), got, err)
		}
	}
	for _, s := range []string{"", "serving:1,2,3", "eval:2:400,200,100:3,1,1", "beam:1", "serving:1,2,x,4,5,6", "eval:2:400,200,100:0,1,1:200"} {
		if _, err := ParseBeam(s); err == nil {
			t.Errorf("ParseBeam(%q) accepted", s)
		}
	}
}

func TestBadGraphIsAnError(t *testing.T) {
	if _, err := NewAdjacencyGraph([][][]item.Row{{{1}, {5}}}, []int{0, 0}); err == nil {
		t.Fatal("out-of-range neighbour accepted")
	}
	if _, err := NewAdjacencyGraph([][][]item.Row{{{1}}}, []int{0, 0}); err == nil {
		t.Fatal("short level accepted")
	}
	// A graph implementation that yields a bad node is reported, not a panic.
	g := badGraph{}
	sc := rankScorer(make([]float32, 4))
	_, err := NewSearcher(g).Search(sc, &Params{StartLevel: 1, TopK: []int{2, 2}, NumScoring: []int{1, 1}, K: 1})
	if err == nil {
		t.Fatal("bad neighbour accepted")
	}
	// No node reaches the start level: the enter points are those of the
	// highest level below it that has nodes (here level 0: every node).
	g2, _ := NewAdjacencyGraph([][][]item.Row{{{1}, {0}}}, []int{0, 0})
	res, err := NewSearcher(g2).Search(rankScorer([]float32{1, 2}), &Params{StartLevel: 1, TopK: []int{1, 1}, NumScoring: []int{1, 1}, K: 1})
	if err != nil || len(res.Rows) != 1 || res.Rows[0] != 1 {
		t.Fatalf("fallback to level 0 enter points: %v %v", res.Rows, err)
	}
}

type badGraph struct{}

func (badGraph) Len() int                           { return 4 }
func (badGraph) EnterPoints(int) []item.Row         { return []item.Row{0} }
func (badGraph) Neighbors(int, item.Row) []item.Row { return []item.Row{1, 9} }
