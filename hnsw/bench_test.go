package hnsw

import (
	"context"
	"testing"
)

// BenchmarkBuild inserts 30 K clustered 64-d vectors (M 32, efC 40).
func BenchmarkBuild(b *testing.B) {
	x := Clustered(30000, 64, 150, 0.5, 42)
	cfg := DefaultConfig()
	for b.Loop() {
		if _, err := Build(context.Background(), x, 64, cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/30000, "ns/insert")
}

// BenchmarkSearch runs ef-64 queries on a 30 K graph.
func BenchmarkSearch(b *testing.B) {
	x := Clustered(30000, 64, 150, 0.5, 42)
	g, err := Build(context.Background(), x, 64, DefaultConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	ix, _ := NewIndex(g, x, 64)
	q := NoisyQueries(x, 64, 1000, 0.1, 1)
	s := ix.NewSearcher()
	i := 0
	for b.Loop() {
		s.Search(q[(i%1000)*64:(i%1000+1)*64], 10, 64)
		i++
	}
}
