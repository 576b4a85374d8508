package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkStep measures Worker.Step on the reference shapes (L = 50,
// reference layer sizes) for a few (B, C): samples/s counts positives,
// GFLOP/s the matrix-product FLOPs of forward, backward and the adversarial
// pass (Config.TrainFLOPs). One worker, one goroutine.
func BenchmarkStep(b *testing.B) {
	cfg := Default()
	cfg.NumItem, cfg.NumCate = 100000, 1000
	m, err := New(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range []struct{ B, C int }{{8, 201}, {32, 21}, {64, 51}} {
		for _, adv := range []bool{true, false} {
			b.Run(fmt.Sprintf("B=%d/C=%d/adv=%v", s.B, s.C, adv), func(b *testing.B) {
				bt := randBatch(rand.New(rand.NewPCG(1, 2)), cfg, s.B, cfg.MaxLen, s.C)
				o := LossOptions{}
				if adv {
					o = LossOptions{AdvEps: 3e-5, AdvWeight: 1}
				}
				w := m.NewWorker()
				w.Step(bt, o)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					w.Step(bt, o)
				}
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(s.B*b.N)/sec, "samples/s")
				b.ReportMetric(float64(s.B*s.C*b.N)/sec, "pairs/s")
				b.ReportMetric(cfg.TrainFLOPs(s.B, cfg.MaxLen, s.C, adv)*float64(b.N)/sec/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkScorer measures Scorer.Score over 4096 random items for a bound
// user (items/s), reference sizes.
func BenchmarkScorer(b *testing.B) {
	cfg := Default()
	cfg.NumItem, cfg.NumCate = 20000, 100
	m, _ := New(cfg, 1)
	r := rand.New(rand.NewPCG(3, 3))
	cates := make([]int32, cfg.NumItem)
	for i := range cates {
		cates[i] = int32(1 + r.IntN(cfg.NumCate))
	}
	table, _ := m.AllItemEmbeddings(cates)
	s, _ := m.NewScorer(table)
	hi, hc := make([]int32, 30), make([]int32, 30)
	for i := range hi {
		hi[i], hc[i] = int32(1+r.IntN(cfg.NumItem)), int32(1+r.IntN(cfg.NumCate))
	}
	if err := s.Bind(hi, hc); err != nil {
		b.Fatal(err)
	}
	rows := make([]int32, 4096)
	for i := range rows {
		rows[i] = int32(r.IntN(cfg.NumItem))
	}
	out := make([]float32, len(rows))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Score(rows, out)
	}
	b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "items/s")
}
