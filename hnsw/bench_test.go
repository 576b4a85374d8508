package hnsw

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time: on a shared, loaded
// machine it is a steadier measure than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBuild inserts 30 K clustered 64-d vectors (M 32, efC 40).
func BenchmarkBuild(b *testing.B) {
	x := Clustered(30000, 64, 150, 0.5, 42)
	cfg := DefaultConfig()
	c0 := cpuTime()
	for b.Loop() {
		if _, err := Build(context.Background(), x, 64, cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/30000, "ns/insert")
	b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(b.N)/30000, "cpu-ns/insert")
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
	s := ix.NewKNNSearcher()
	i := 0
	c0 := cpuTime()
	for b.Loop() {
		s.Search(q[(i%1000)*64:(i%1000+1)*64], 10, 64)
		i++
	}
	b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
