package retrieve

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"nann/internal/race"
	"nann/item"
)

func TestPoolConcurrentAndAllocationFree(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	n, dim := 3000, 8
	g := randomGraph(rng, n, 2, 16, 8)
	data := randomVectors(rng, n, dim)
	m, _ := NewL2(data, dim)
	pool, err := NewPool(g, Corpus[[]float32](m))
	if err != nil {
		t.Fatal(err)
	}
	queries := randomVectors(rng, 40, dim)
	q := func(i int) []float32 { return queries[i*dim : (i+1)*dim] }
	// Reference answers from a plain Searcher.
	want := make([][]item.Row, 40)
	s, sc := NewSearcher(g), m.NewScorer()
	beam := DefaultServing()
	for i := range want {
		sc.Bind(q(i))
		r, err := s.Search(sc, beam)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = slices.Clone(r.Rows)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			var ans Answer
			for j := range 200 {
				i := (j*7 + w) % 40
				if err := pool.Search(q(i), beam, &ans); err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(ans.Rows, want[i]) {
					t.Errorf("query %d: pooled answer differs", i)
					return
				}
			}
		})
	}
	wg.Wait()
	var ans Answer
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		i++
		if err := pool.Search(q(i%40), beam, &ans); err != nil {
			t.Fatal(err)
		}
	})
	// sync.Pool may drop state at a GC; allow a rare refill but not per-query
	// work. Under -race the pool drops values at random: no count to check.
	if allocs > 0.5 && !race.Enabled {
		t.Fatalf("%g allocations per pooled query", allocs)
	}
	if err := pool.Exact(q(0), 10, &ans); err != nil || len(ans.Rows) != 10 {
		t.Fatalf("exact: %v %v", ans.Rows, err)
	}
	if err := pool.Search([]float32{1}, beam, &ans); err == nil {
		t.Fatal("wrong query dimension accepted")
	}
	small, _ := NewL2(data[:dim*10], dim)
	if _, err := NewPool(g, Corpus[[]float32](small)); err == nil {
		t.Fatal("model/graph size mismatch accepted")
	}
}
