package retrieve

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"nann/item"
)

func TestPoolConcurrentAndAllocationFree(t *testing.T) {
	w := newL2World(rand.New(rand.NewPCG(21, 22)), 3000, 8, 16, 8, 40)
	pool := w.pool(t)
	q := w.query
	// Reference answers from a plain Searcher.
	want := make([][]item.Row, 40)
	s, sc := NewSearcher(w.g), w.m.NewScorer()
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
	for g := range 4 {
		wg.Go(func() {
			var ans Answer
			for j := range 200 {
				i := (j*7 + g) % 40
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
	checkPoolAllocs(t, "query", func(i int) {
		if err := pool.Search(q(i), beam, &ans); err != nil {
			t.Fatal(err)
		}
	})
	if err := pool.Exact(q(0), 10, &ans); err != nil || len(ans.Rows) != 10 {
		t.Fatalf("exact: %v %v", ans.Rows, err)
	}
	if err := pool.Search([]float32{1}, beam, &ans); err == nil {
		t.Fatal("wrong query dimension accepted")
	}
	small, _ := NewL2(w.data[:w.dim*10], w.dim)
	if _, err := NewPool(w.g, Corpus[[]float32](small)); err == nil {
		t.Fatal("model/graph size mismatch accepted")
	}
}
