package eval

import (
	"context"
	"nann/item"
	"strings"
	"testing"

	"nann/retrieve"
)

// Popularity ranks rows by weight, ties by lower row, whatever the query;
// BruteForce's recall counts a truth at rank r as a hit for every K > r.
func TestPopularityBruteForce(t *testing.T) {
	weight := []int64{3, 9, 3, 0, 9, 1} // order: 1, 4, 0, 2, 5, 3
	m := Popularity[int](weight)
	rankOfRow := map[item.Row]int{1: 0, 4: 1, 0: 2, 2: 3, 5: 4, 3: 5}
	var queries []Query[int]
	for row := range item.Row(6) {
		queries = append(queries, Query[int]{Input: int(row), Truth: row})
	}
	cfg := Config{Ks: []int{1, 2, 3, 5, 6}, Workers: 3}
	got, err := BruteForce(context.Background(), cfg, queries, m)
	if err != nil {
		t.Fatal(err)
	}
	for j, k := range cfg.Ks {
		hits := 0
		for _, r := range rankOfRow {
			if r < k {
				hits++
			}
		}
		if want := float64(hits) / 6; got[j] != want {
			t.Errorf("Recall@%d = %v, want %v", k, got[j], want)
		}
	}
	cfg.Ks = []int{7}
	if _, err := BruteForce(context.Background(), cfg, queries, m); err == nil || !strings.Contains(err.Error(), "exceeds the corpus") {
		t.Errorf("k above the corpus: %v", err)
	}
	bad := []Query[int]{{Truth: 6}}
	if _, err := BruteForce(context.Background(), Config{Ks: []int{1}}, bad, m); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("truth outside the corpus: %v", err)
	}
}

var _ retrieve.Corpus[int] = Popularity[int](nil)
