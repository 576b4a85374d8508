package vec

import (
	"testing"
	"time"
)

// TestMeasurePeak checks that each supported peak loop runs and reports a
// positive rate, and an unsupported one 0.
func TestMeasurePeak(t *testing.T) {
	for p := PeakFMA32; p <= PeakVNNI16; p++ {
		r := MeasurePeak(p, time.Millisecond)
		if p.Supported() != (r > 0) {
			t.Fatalf("%v: supported %v but rate %g", p, p.Supported(), r)
		}
		t.Logf("%v: %.1f G multiply-adds/s", p, r/1e9)
	}
}

// BenchmarkKernelEfficiency measures, alternately in one loop, each
// precision's peak (MeasurePeak) and the engine's tile kernel of that
// precision hot in L1 (depth 128, bias and PReLU epilogue), and reports
// both in G op/s (a multiply-add is 2 ops) and the kernel's fraction of
// the peak. Each figure is the best of the iterations: on a shared machine
// the others lose time slices, which would read as a lower peak. bf16 has no engine kernel (its peak is reported to show why:
// see int8.go):
//
//	go test ./internal/vec -run '^$' -bench KernelEfficiency -benchtime 20x
func BenchmarkKernelEfficiency(b *testing.B) {
	const k, reps = 128, 1000
	a32, b32 := make([]float32, TileRows512*k), make([]float32, k*16)
	c := make([]float32, TileRows512*32)
	a8, b8 := make([]uint8, I8TileRows*k), make([]int8, 2*k*16)
	a16, b16 := make([]int16, I8TileRows*k), make([]int16, 2*k*16)
	comp, rs, cs := make([]int32, 32), make([]float32, 32), make([]float32, 32)
	type kern struct {
		name string
		op   PeakOp
		macs int // per call
		f    func()
	}
	kernels := []kern{
		{"fma32_tile12x16", PeakFMA32, 12 * 16 * k, func() { Tile12x16(k, a32, k, b32, c, 16, TileBias|TilePReLU, cs, cs) }},
		{"vnni8_tile12x16", PeakVNNI8, 12 * 16 * k, func() { Tile12x16I8(k, a8, k, b8, c, 16, TileBias|TilePReLU, comp, rs, cs, cs, cs) }},
		{"vnni8_tile12x32", PeakVNNI8, 12 * 32 * k, func() { Tile12x32I8(k, a8, k, b8, c, 32, TileBias|TilePReLU, comp, rs, cs, cs, cs) }},
		{"vnni16_tile12x16", PeakVNNI16, 12 * 16 * k, func() { Tile12x16I16(k, a16, k, b16, c, 16, TileBias|TilePReLU, rs, cs, cs, cs) }},
		{"vnni16_tile12x32", PeakVNNI16, 12 * 32 * k, func() { Tile12x32I16(k, a16, k, b16, c, 32, TileBias|TilePReLU, rs, cs, cs, cs) }},
	}
	ops := []PeakOp{PeakFMA32, PeakBF16, PeakVNNI8, PeakVNNI16}
	peak, got := make([]float64, len(ops)), make([]float64, len(kernels))
	for b.Loop() {
		for i, p := range ops {
			peak[i] = max(peak[i], 2*MeasurePeak(p, 5*time.Millisecond)/1e9)
		}
		for i, kn := range kernels {
			if !kn.op.Supported() {
				continue
			}
			t0 := time.Now()
			for range reps {
				kn.f()
			}
			got[i] = max(got[i], 2*float64(kn.macs*reps)/time.Since(t0).Seconds()/1e9)
		}
	}
	for i, p := range ops {
		if p.Supported() {
			b.ReportMetric(peak[i], p.String()+"_peak_Gop/s")
		}
	}
	for i, kn := range kernels {
		if kn.op.Supported() {
			b.ReportMetric(got[i], kn.name+"_Gop/s")
			b.ReportMetric(100*got[i]/peak[kn.op], kn.name+"_%peak")
		}
	}
}
