package retrieve

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"nann/item"
)

// Benchmarks: beam retrieval on a 100 K-node random-ish layered graph over
// clustered 64-d vectors, against exact brute force over the same items with
// the same L2 scorer. Run with
//
//	go test ./retrieve -run '^$' -bench . -benchtime 2s
//
// BenchmarkBeamVsExact interleaves the two in one loop and reports the
// speed ratio, which is robust to a noisy shared machine.

const (
	benchN        = 100_000
	benchDim      = 64
	benchClusters = 1000
	benchQueries  = 256
)

type benchSet struct {
	g       *AdjacencyGraph
	m       *L2
	queries []float32
}

var benchOnce = sync.OnceValue(func() *benchSet {
	rng := rand.New(rand.NewPCG(42, 43))
	centers := make([]float32, benchClusters*benchDim)
	for i := range centers {
		centers[i] = float32(rng.NormFloat64())
	}
	cluster := make([]int, benchN)
	members := make([][]item.Row, benchClusters)
	data := make([]float32, benchN*benchDim)
	for i := range benchN {
		c := rng.IntN(benchClusters)
		cluster[i] = c
		members[c] = append(members[c], item.Row(i))
		for j := range benchDim {
			data[i*benchDim+j] = centers[c*benchDim+j] + 0.3*float32(rng.NormFloat64())
		}
	}
	// Level 0: 24 links inside the node's cluster and 8 anywhere (32 in all);
	// level 1: ~1/32 of the nodes, 16 links among them; level 2: ~1/1000 (enter points).
	top := make([]int, benchN)
	var level1 []item.Row
	for i := range top {
		switch r := rng.IntN(1000); {
		case r == 0:
			top[i] = 2
		case r < 32:
			top[i] = 1
		}
		if top[i] >= 1 {
			level1 = append(level1, item.Row(i))
		}
	}
	adj := [][][]item.Row{make([][]item.Row, benchN), make([][]item.Row, benchN)}
	for i := range benchN {
		mem := members[cluster[i]]
		nb := make([]item.Row, 0, 32)
		for range 24 {
			nb = append(nb, mem[rng.IntN(len(mem))])
		}
		for range 8 {
			nb = append(nb, item.Row(rng.IntN(benchN)))
		}
		adj[0][i] = nb
	}
	for _, u := range level1 {
		nb := make([]item.Row, 16)
		for j := range nb {
			nb[j] = level1[rng.IntN(len(level1))]
		}
		adj[1][u] = nb
	}
	g, err := NewAdjacencyGraph(adj, top)
	if err != nil {
		panic(err)
	}
	m, err := NewL2(data, benchDim)
	if err != nil {
		panic(err)
	}
	q := make([]float32, benchQueries*benchDim)
	for i := range benchQueries {
		c := rng.IntN(benchClusters)
		for j := range benchDim {
			q[i*benchDim+j] = centers[c*benchDim+j] + 0.3*float32(rng.NormFloat64())
		}
	}
	return &benchSet{g: g, m: m, queries: q}
})

func (bs *benchSet) query(i int) []float32 {
	i %= benchQueries
	return bs.queries[i*benchDim : (i+1)*benchDim]
}

func benchBeam(b *testing.B, beam Beam) {
	bs := benchOnce()
	s := NewSearcher(bs.g)
	sc := bs.m.NewScorer()
	b.ResetTimer()
	scored := 0
	for i := 0; b.Loop(); i++ {
		if err := sc.Bind(bs.query(i)); err != nil {
			b.Fatal(err)
		}
		r, err := s.Search(sc, beam)
		if err != nil {
			b.Fatal(err)
		}
		scored += r.Stats.Total
	}
	b.ReportMetric(float64(scored)/float64(b.N), "scored/op")
}

func BenchmarkBeamEval(b *testing.B)    { benchBeam(b, DefaultParams()) }
func BenchmarkBeamServing(b *testing.B) { benchBeam(b, DefaultServing()) }

func BenchmarkExact(b *testing.B) {
	bs := benchOnce()
	e := NewExact(benchN)
	sc := bs.m.NewScorer()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := sc.Bind(bs.query(i)); err != nil {
			b.Fatal(err)
		}
		if _, err := e.TopK(sc, 200); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBeamVsExact times a default eval-form beam query and a brute-force
// query for the same query in each iteration, and reports their times, the
// exact/beam speed-up, the items scored and the recall@200 of the beam answer
// against the exact one (L2 here, so exact is the truth).
func BenchmarkBeamVsExact(b *testing.B) {
	bs := benchOnce()
	s := NewSearcher(bs.g)
	e := NewExact(benchN)
	sc := bs.m.NewScorer()
	p := DefaultParams()
	var tBeam, tExact time.Duration
	scored, hits := 0, 0
	seen := make(map[item.Row]bool, 200)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := sc.Bind(bs.query(i)); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		r, err := s.Search(sc, p)
		t1 := time.Now()
		x, err2 := e.TopK(sc, 200)
		t2 := time.Now()
		if err != nil || err2 != nil {
			b.Fatal(err, err2)
		}
		tBeam += t1.Sub(t0)
		tExact += t2.Sub(t1)
		scored += r.Stats.Total
		clear(seen)
		for _, row := range r.Rows {
			seen[row] = true
		}
		for _, row := range x.Rows {
			if seen[row] {
				hits++
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(tBeam.Nanoseconds())/n, "beam-ns/q")
	b.ReportMetric(float64(tExact.Nanoseconds())/n, "exact-ns/q")
	b.ReportMetric(float64(tExact)/float64(tBeam), "exact/beam")
	b.ReportMetric(float64(scored)/n/benchN, "scored-frac")
	b.ReportMetric(float64(hits)/n/200, "recall@200")
}

// tableScorer looks scores up in a precomputed table: scoring costs almost
// nothing, so a search with it measures the retrieval machinery alone.
type tableScorer []float32

func (t tableScorer) Score(rows []item.Row, out []float32) {
	for i, r := range rows {
		out[i] = t[r]
	}
}

// BenchmarkBeamOverhead runs the default eval-form beam with scores looked up
// from a table of the same L2 scores, and reports the retrieval cost per
// scored item (visited set, expansion, selection), to compare with the cost
// of scoring an item with the neural network.
func BenchmarkBeamOverhead(b *testing.B) {
	bs := benchOnce()
	s := NewSearcher(bs.g)
	const nt = 16
	tables := make([]tableScorer, nt)
	sc := bs.m.NewScorer()
	all := item.AllRows(benchN)
	for i := range tables {
		tables[i] = make(tableScorer, benchN)
		sc.Bind(bs.query(i))
		sc.Score(all, tables[i])
	}
	p := DefaultParams()
	scored := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r, err := s.Search(tables[i%nt], p)
		if err != nil {
			b.Fatal(err)
		}
		scored += r.Stats.Total
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(scored), "ns/scored-item")
	b.ReportMetric(float64(scored)/float64(b.N), "scored/op")
}

// BenchmarkExactParallel is BenchmarkExact split over GOMAXPROCS goroutines.
func BenchmarkExactParallel(b *testing.B) {
	bs := benchOnce()
	parts := runtime.GOMAXPROCS(0)
	e, err := NewExactParallel(benchN, parts)
	if err != nil {
		b.Fatal(err)
	}
	qs := make([]QueryScorer[[]float32], parts)
	scs := make([]Scorer, parts)
	for i := range qs {
		qs[i] = bs.m.NewScorer()
		scs[i] = qs[i]
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for _, sc := range qs {
			if err := sc.Bind(bs.query(i)); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := e.TopK(scs, 200); err != nil {
			b.Fatal(err)
		}
	}
}
