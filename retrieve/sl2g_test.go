package retrieve

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"nann/hnsw"
	"nann/item"
)

// refSL2G is SL2G written plainly from its documentation, with maps and
// sorting instead of epochs and heaps: the rows of its answer and the items
// scored above level 0 and on level 0.
func refSL2G(g Graph, score refScore, ef, k int) ([]refItem, []int) {
	top := -1
	var enter []item.Row
	for l := MaxLevel - 1; l >= 0 && top < 0; l-- {
		if e := g.EnterPoints(l); len(e) > 0 {
			top, enter = l, e
		}
	}
	better := func(a, b refItem) bool { // a ranks strictly before b
		if a.score != b.score {
			return a.score > b.score
		}
		return a.row < b.row
	}
	start := enter[:1]
	if len(g.Neighbors(top, enter[0])) == 0 && top > 0 {
		start = enter
	}
	upper := len(start)
	cur := refBest(refScoreAll(start, score), 1)[0]
	for l := top; l >= 1; l-- {
		seen := map[item.Row]bool{cur.row: true}
		for moved := true; moved; {
			moved = false
			var fresh []item.Row
			for _, v := range g.Neighbors(l, cur.row) {
				if !seen[v] {
					seen[v] = true
					fresh = append(fresh, v)
				}
			}
			upper += len(fresh)
			for _, it := range refScoreAll(fresh, score) {
				if better(it, cur) {
					cur, moved = it, true
				}
			}
		}
	}
	seen := map[item.Row]bool{cur.row: true}
	cands, w, all := []refItem{cur}, []refItem{cur}, []refItem{cur}
	level0 := 0
	for len(cands) > 0 {
		cands = refBest(cands, len(cands))
		c := cands[0]
		cands = cands[1:]
		if len(w) >= ef && better(w[len(w)-1], c) {
			break
		}
		var fresh []item.Row
		for _, v := range g.Neighbors(0, c.row) {
			if !seen[v] {
				seen[v] = true
				fresh = append(fresh, v)
			}
		}
		level0 += len(fresh)
		for _, it := range refScoreAll(fresh, score) {
			all = append(all, it)
			if len(w) < ef || better(it, w[len(w)-1]) {
				w = refBest(append(w, it), ef)
				cands = append(cands, it)
			}
		}
	}
	return refBest(all, k), []int{upper, level0}
}

func TestSL2GMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for trial := range 300 {
		n, dim, g := randomTrial(rng)
		if trial%3 == 0 { // a graph whose top level is linked
			g = ringGraph(rng, n)
		}
		data := randomVectors(rng, n, dim)
		s := NewSearcher(g)
		for qi := range 4 {
			q := randomVectors(rng, 1, dim)
			sc, ref := l2Ref(t, data, dim, q)
			p := &SL2G{Ef: 1 + rng.IntN(min(n, 60)), K: 1 + rng.IntN(min(n, 60))}
			got, err := s.Search(sc, p)
			if err != nil {
				t.Fatalf("trial %d query %d %v: %v", trial, qi, p, err)
			}
			want, rounds := refSL2G(g, ref, p.Ef, p.K)
			checkSame(t, fmt.Sprintf("trial %d query %d %v", trial, qi, p), got, want, rounds)
			if got.Stats.Rounds[1].Level != 0 {
				t.Fatalf("second round on level %d", got.Stats.Rounds[1].Level)
			}
		}
	}
}

// With ef at least the corpus the level-0 search never stops early, so on a
// connected level 0 it scores every item and its answer is brute force's.
func TestSL2GWideIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for trial := range 20 {
		n := 50 + rng.IntN(400)
		g := ringGraph(rng, n)
		perm := rng.Perm(n)
		rs := make(rankScorer, n)
		for i, p := range perm {
			rs[i] = float32(p)
		}
		k := 1 + rng.IntN(n)
		got, err := NewSearcher(g).Search(rs, &SL2G{Ef: n, K: k})
		if err != nil {
			t.Fatal(err)
		}
		want, err := NewExact(n).TopK(rs, k)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Rows, want.Rows) {
			t.Fatalf("trial %d: sl2g %v, brute force %v", trial, got.Rows, want.Rows)
		}
		if l0 := got.Stats.Rounds[1].Scored; l0 != n-1 {
			t.Fatalf("trial %d: %d items scored on level 0, want all %d but the start", trial, l0, n-1)
		}
	}
}

// On an L2 scorer SL2G is hnsw's own search: the same rows and distances,
// on a graph built here (all levels linked) and on the same graph imported
// from the reference's NumPy layout (levels ≥ 2 not stored).
func TestSL2GMatchesHNSWSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	n, dim := 3000, 8
	x := make([]float32, n*dim)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	cfg := hnsw.DefaultConfig()
	cfg.M, cfg.EfConstruction, cfg.Workers = 8, 40, 1
	g, err := hnsw.Build(context.Background(), x, dim, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.Levels() < 3 {
		t.Fatalf("graph has %d levels; the test wants a descent", g.Levels())
	}
	dir := t.TempDir()
	if err := g.WriteNPY(dir, 2); err != nil {
		t.Fatal(err)
	}
	imported, err := hnsw.ReadNPY(dir, n, 2)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := NewL2(x, dim)
	sc := m.NewScorer()
	for _, gr := range []*hnsw.Graph{g, imported} {
		ix, err := hnsw.NewIndex(gr, x, dim)
		if err != nil {
			t.Fatal(err)
		}
		ks := ix.NewKNNSearcher()
		s := NewSearcher(gr)
		differ := 0
		for qi := range 100 {
			q := make([]float32, dim)
			for i := range q {
				q[i] = float32(rng.NormFloat64())
			}
			ef := 10 + rng.IntN(100)
			k := 1 + rng.IntN(ef)
			want, err := ks.Search(q, k, ef)
			if err != nil {
				t.Fatal(err)
			}
			if err := sc.Bind(q); err != nil {
				t.Fatal(err)
			}
			got, err := s.Search(sc, &SL2G{Ef: ef, K: k})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Rows) != len(want) {
				t.Fatalf("partial=%v query %d: %d rows, hnsw %d", gr.Partial(), qi, len(got.Rows), len(want))
			}
			for i, nb := range want {
				if got.Rows[i] != nb.ID || got.Scores[i] != -nb.Dist {
					differ++
					t.Errorf("partial=%v query %d ef %d k %d: position %d: (%d, %g), hnsw (%d, %g)", gr.Partial(), qi, ef, k, i, got.Rows[i], -got.Scores[i], nb.ID, nb.Dist)
					break
				}
			}
			if differ > 3 {
				t.FailNow()
			}
		}
	}
}

func TestSL2GNoAllocationsPerQuery(t *testing.T) {
	w := newL2World(rand.New(rand.NewPCG(27, 28)), 5000, 16, 32, 10, 64)
	sc := w.m.NewScorer()
	s := NewSearcher(w.g)
	p := &SL2G{Ef: 300, K: 200}
	checkNoAllocs(t, w.eachQuery(t, sc, func(int) {
		if _, err := s.Search(sc, p); err != nil {
			t.Fatal(err)
		}
	}))
}

func TestParseSL2G(t *testing.T) {
	for _, c := range []struct {
		in   string
		want SL2G
	}{{"sl2g:100", SL2G{100, 200}}, {"sl2g:64:50", SL2G{64, 50}}, {"sl2g: 8 :1", SL2G{8, 1}}} {
		p, err := ParseSL2G(c.in, 200)
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if *p != c.want {
			t.Fatalf("%q: %+v, want %+v", c.in, *p, c.want)
		}
		if q, err := ParseSL2G(p.String(), 7); err != nil || *q != *p {
			t.Fatalf("%q does not round-trip: %+v %v", p.String(), q, err)
		}
	}
	for _, c := range []struct{ in, msg string }{
		{"sl2g", "want sl2g:EF"}, {"beam:3", "want sl2g:EF"}, {"sl2g:1:2:3", "want sl2g:EF"},
		{"sl2g:x", "ef"}, {"sl2g:0", "ef = 0 outside"}, {"sl2g:5:0", "k = 0 outside"},
		{"sl2g:5:y", "k"},
	} {
		if _, err := ParseSL2G(c.in, 200); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: error %v, want one containing %q", c.in, err, c.msg)
		}
	}
	if err := (&SL2G{Ef: 20, K: 10}).ValidateFor(15); err == nil || !strings.Contains(err.Error(), "ef = 20 exceeds the corpus of 15") {
		t.Fatalf("ef above the corpus: %v", err)
	}
	if err := (&SL2G{Ef: 5, K: 10}).ValidateFor(15); err != nil {
		t.Fatalf("ef < k is allowed: %v", err)
	}
}

func TestSL2GBadGraphIsAnError(t *testing.T) {
	rs := rankScorer{0, 1, 2, 3}
	if _, err := NewSearcher(badGraph{}).Search(rs, &SL2G{Ef: 4, K: 2}); err == nil || !strings.Contains(err.Error(), "neighbour 9 of node") {
		t.Fatalf("neighbour outside the corpus: %v", err)
	}
	empty, _ := NewAdjacencyGraph(nil, nil)
	if _, err := NewSearcher(empty).Search(rankScorer{}, &SL2G{Ef: 1, K: 1}); err == nil {
		t.Fatal("empty graph: no error")
	}
}

// Under a filter SL2G answers allowed rows only: with ef at least the
// corpus, exactly the filtered brute force's best K (the walk through
// excluded rows still reaches everything), and with a small ef never an
// excluded row.
func TestSL2GFiltered(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	for trial := range 30 {
		n := 60 + rng.IntN(300)
		g := ringGraph(rng, n)
		rs := make(rankScorer, n)
		for i, p := range rng.Perm(n) {
			rs[i] = float32(p)
		}
		f, err := NewFilter(n, nil)
		if err != nil {
			t.Fatal(err)
		}
		excluded := map[item.Row]bool{}
		for range rng.IntN(n / 2) {
			r := item.Row(rng.IntN(n))
			excluded[r] = true
			if err := f.Exclude(r); err != nil {
				t.Fatal(err)
			}
		}
		allows := func(r item.Row) bool { return !excluded[r] }
		score := func(r item.Row) float32 { return rs[r] }
		k := 1 + rng.IntN(20)
		s := NewSearcher(g)
		pol := FilterPolicy{Strategy: FilterStrategy(rng.IntN(4)), TraverseAbove: rng.Float64()}
		got, err := s.SearchFiltered(rs, &SL2G{Ef: n, K: k}, f, pol)
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, fmt.Sprintf("trial %d ef=n k=%d excluded %d", trial, k, len(excluded)), got, refFiltered(n, score, allows, k), nil)
		got, err = s.SearchFiltered(rs, &SL2G{Ef: 1 + rng.IntN(8), K: k}, f, pol)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Rows) != min(k, n-len(excluded)) {
			t.Fatalf("trial %d: %d rows, want %d", trial, len(got.Rows), min(k, n-len(excluded)))
		}
		for _, r := range got.Rows {
			if excluded[r] {
				t.Fatalf("trial %d: excluded row %d answered", trial, r)
			}
		}
		// The filter does not outlive the call.
		plain, err := s.Search(rs, &SL2G{Ef: n, K: k})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := NewExact(n).TopK(rs, k)
		if !slices.Equal(plain.Rows, want.Rows) {
			t.Fatalf("trial %d: unfiltered search after a filtered one: %v, want %v", trial, plain.Rows, want.Rows)
		}
	}
}
