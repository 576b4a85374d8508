package engine

import (
	"testing"
	"time"

	"nann/internal/vec"
)

// abKernels scores rows on one core with the kernels a and then with the
// kernels c, alternately in each iteration, and returns the time each
// selection took in all; the selection before it stands again after.
func abKernels(b *testing.B, p Precision, a, c vec.Kernels) (ta, tc time.Duration, items float64) {
	bm, err := benchModelOnce()
	if err != nil {
		b.Fatal(err)
	}
	_, s, rows := oneCore(b, bm, p)
	out := make([]float32, len(rows))
	defer vec.UseKernels(vec.UseKernels(a))
	for b.Loop() {
		vec.UseKernels(a)
		t0 := time.Now()
		s.Score(rows, out)
		t1 := time.Now()
		vec.UseKernels(c)
		s.Score(rows, out)
		ta += t1.Sub(t0)
		tc += time.Since(t1)
	}
	return ta, tc, float64(b.N * len(rows))
}

// BenchmarkPrefetch alternates scoring random rows with and without
// software prefetching of the next block and reports the speed-up.
func BenchmarkPrefetch(b *testing.B) {
	for _, p := range []Precision{Float32, Float16} {
		b.Run(p.String(), func(b *testing.B) {
			with := vec.AvailableKernels()
			without := with
			without.Prefetch = false
			on, off, _ := abKernels(b, p, with, without)
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
	for _, p := range []Precision{Float32, Float16} {
		b.Run(p.String(), func(b *testing.B) {
			on, off, n := abKernels(b, p, kernelSet("avx512"), kernelSet("avx2"))
			b.ReportMetric(n/on.Seconds(), "avx512_items/s")
			b.ReportMetric(n/off.Seconds(), "avx2_items/s")
			b.ReportMetric(off.Seconds()/on.Seconds(), "x_avx512")
		})
	}
}
