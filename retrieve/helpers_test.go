package retrieve

import (
	"math/rand/v2"
	"testing"

	"nann/internal/race"
)

// Test helpers shared by the retrieval tests.

// l2World is a random two-level graph over random vectors, their L2
// corpus and random queries.
type l2World struct {
	g       *AdjacencyGraph
	data    []float32
	m       *L2
	dim, nq int
	queries []float32
}

// newL2World draws, in this order, a graph of n nodes (randomGraph with two
// levels, degree deg, one node in m up a level), n vectors of dim values
// and nq queries.
func newL2World(rng *rand.Rand, n, dim, deg, m, nq int) *l2World {
	w := &l2World{g: randomGraph(rng, n, 2, deg, m), dim: dim, nq: nq}
	w.data = randomVectors(rng, n, dim)
	w.m, _ = NewL2(w.data, dim)
	w.queries = randomVectors(rng, nq, dim)
	return w
}

// query is query i (modulo the number of queries).
func (w *l2World) query(i int) []float32 {
	i %= w.nq
	return w.queries[i*w.dim : (i+1)*w.dim]
}

// pool is a Pool over the world's graph and corpus.
func (w *l2World) pool(t *testing.T) *Pool[[]float32] {
	t.Helper()
	p, err := NewPool(w.g, Corpus[[]float32](w.m))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// eachQuery returns a function that binds sc to the next query and runs
// search, for checkNoAllocs.
func (w *l2World) eachQuery(t *testing.T, sc QueryScorer[[]float32], search func(i int)) func() {
	i := 0
	return func() {
		if err := sc.Bind(w.query(i)); err != nil {
			t.Fatal(err)
		}
		search(i)
		i++
	}
}

// checkNoAllocs runs query until its buffers have grown to their steady
// size and fails if it then allocates.
func checkNoAllocs(t *testing.T, query func()) {
	t.Helper()
	for range 200 {
		query()
	}
	if a := testing.AllocsPerRun(100, query); a != 0 {
		t.Fatalf("%g allocations per query, want 0", a)
	}
}

// checkPoolAllocs fails if query(i), for successive i, allocates per call.
// sync.Pool may drop state at a GC, so a rare refill is allowed; under
// -race the pool drops values at random and there is no count to check.
func checkPoolAllocs(t *testing.T, what string, query func(i int)) {
	t.Helper()
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		i++
		query(i)
	})
	if allocs > 0.5 && !race.Enabled {
		t.Fatalf("%g allocations per pooled %s", allocs, what)
	}
}

// randomTrial draws the corpus size (5..304), the vector dimension (1..6)
// and a random graph of one to three levels for one randomised trial.
func randomTrial(rng *rand.Rand) (n, dim int, g *AdjacencyGraph) {
	n = 5 + rng.IntN(300)
	dim = 1 + rng.IntN(6)
	return n, dim, randomGraph(rng, n, 1+rng.IntN(3), 1+rng.IntN(12), 2+rng.IntN(6))
}
