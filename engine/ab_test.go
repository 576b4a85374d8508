package engine

import (
	"math/rand/v2"
	"testing"
	"time"

	"nann/internal/vec"
)

// BenchmarkPrefetch alternates scoring random rows with and without
// software prefetching of the next block and reports the speed-up.
func BenchmarkPrefetch(b *testing.B) {
	bm, err := benchModelOnce()
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []Precision{Float32, Float16} {
		b.Run(p.String(), func(b *testing.B) {
			e, err := Compile(bm.w, bm.cates, Options{Table: p, Threads: 1})
			if err != nil {
				b.Fatal(err)
			}
			s := e.NewScorer()
			if err := s.BindSeq(bm.seqs[0]); err != nil {
				b.Fatal(err)
			}
			rows := randRows(rand.New(rand.NewPCG(4, 4)), 4096, e.NumItems())
			out := make([]float32, len(rows))
			var on, off time.Duration
			with := vec.AvailableKernels()
			without := with
			without.Prefetch = false
			defer vec.UseKernels(vec.UseKernels(with))
			for b.Loop() {
				vec.UseKernels(with)
				t0 := time.Now()
				s.Score(rows, out)
				t1 := time.Now()
				vec.UseKernels(without)
				s.Score(rows, out)
				on += t1.Sub(t0)
				off += time.Since(t1)
			}
			b.ReportMetric(off.Seconds()/on.Seconds(), "x_speedup")
		})
	}
}

// BenchmarkAVX512 alternates scoring the same random rows with the AVX-512
// 12-row tile kernel and with the AVX2 6-row kernels only (one core).
func BenchmarkAVX512(b *testing.B) {
	if !vec.Engine512() {
		b.Skip("no AVX-512")
	}
	bm, err := benchModelOnce()
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []Precision{Float32, Float16} {
		b.Run(p.String(), func(b *testing.B) {
			e, err := Compile(bm.w, bm.cates, Options{Table: p, Threads: 1})
			if err != nil {
				b.Fatal(err)
			}
			s := e.NewScorer()
			if err := s.BindSeq(bm.seqs[0]); err != nil {
				b.Fatal(err)
			}
			rows := randRows(rand.New(rand.NewPCG(4, 4)), 4096, e.NumItems())
			out := make([]float32, len(rows))
			var on, off time.Duration
			defer vec.UseKernels(vec.UseKernels(kernelSet("avx512")))
			for b.Loop() {
				vec.UseKernels(kernelSet("avx512"))
				t0 := time.Now()
				s.Score(rows, out)
				t1 := time.Now()
				vec.UseKernels(kernelSet("avx2"))
				s.Score(rows, out)
				on += t1.Sub(t0)
				off += time.Since(t1)
			}
			n := float64(b.N * len(rows))
			b.ReportMetric(n/on.Seconds(), "avx512_items/s")
			b.ReportMetric(n/off.Seconds(), "avx2_items/s")
			b.ReportMetric(off.Seconds()/on.Seconds(), "x_avx512")
		})
	}
}
