package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"nann/internal/vec"
	"nann/item"
)

// gemmProbe times one 2048×256×128 GEMM (the shape of a wide Dense layer) as
// the in-run baseline: the machine is shared, so Step's rate is reported
// as a ratio to the kernel's rate measured interleaved with it.
type gemmProbe struct {
	a, b, c []float32
	w       vec.GemmWork
	flops   float64
	elapsed time.Duration
}

func newGemmProbe() *gemmProbe {
	r := rand.New(rand.NewPCG(1, 1))
	p := &gemmProbe{a: make([]float32, 2048*128), b: make([]float32, 128*256), c: make([]float32, 2048*256)}
	for i := range p.a {
		p.a[i] = float32(r.NormFloat64())
	}
	for i := range p.b {
		p.b[i] = float32(r.NormFloat64())
	}
	return p
}

// probed runs f b.N times, each followed by a run of a fresh GEMM probe, and
// returns the time f took in all and the probe.
func probed(b *testing.B, f func()) (time.Duration, *gemmProbe) {
	probe := newGemmProbe()
	var d time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		f()
		d += time.Since(t)
		probe.run()
	}
	return d, probe
}

func (p *gemmProbe) run() {
	t := time.Now()
	vec.Gemm(&p.w, false, false, 2048, 256, 128, 1, p.a, 128, p.b, 256, 0, p.c, 256)
	p.elapsed += time.Since(t)
	p.flops += 2 * 2048 * 256 * 128
}

func (p *gemmProbe) gflops() float64 { return p.flops / p.elapsed.Seconds() / 1e9 }

// BenchmarkStep measures Worker.Step on the reference shapes (L = 50,
// reference layer sizes) for a few (B, C), one worker on one goroutine.
// Reported: samples/s (positives), pairs/s (positive × candidate),
// model_GFLOP/s (Config.TrainFLOPs: the reference formulation's matrix
// products per second), exec_GFLOP/s (the matrix products this code
// actually runs, which the attention rewrite makes fewer), gemm_GFLOP/s
// (the 2048×256×128 GEMM timed between steps) and exec/gemm.
func BenchmarkStep(b *testing.B) {
	cfg := Default()
	cfg.NumItems, cfg.NumCates = 100000, 1000
	m, err := New(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range []struct{ B, C int }{{8, 201}, {32, 21}, {128, 21}, {64, 51}} {
		for _, adv := range []bool{true, false} {
			b.Run(fmt.Sprintf("B=%d/C=%d/adv=%v", s.B, s.C, adv), func(b *testing.B) {
				bt := randBatch(rand.New(rand.NewPCG(1, 2)), cfg, s.B, cfg.SeqLen, s.C)
				o := LossOptions{}
				if adv {
					o = LossOptions{AdvEps: 3e-5, AdvWeight: 1}
				}
				w := m.NewWorker()
				w.Step(bt, o)
				w.gw.FLOPs = 0
				stepTime, probe := probed(b, func() { w.Step(bt, o) })
				sec := stepTime.Seconds()
				exec := w.gw.FLOPs / sec / 1e9
				b.ReportMetric(float64(s.B*b.N)/sec, "samples/s")
				b.ReportMetric(float64(s.B*s.C*b.N)/sec, "pairs/s")
				b.ReportMetric(cfg.TrainFLOPs(s.B, cfg.SeqLen, s.C, adv)*float64(b.N)/sec/1e9, "model_GFLOP/s")
				b.ReportMetric(exec, "exec_GFLOP/s")
				b.ReportMetric(probe.gflops(), "gemm_GFLOP/s")
				b.ReportMetric(exec/probe.gflops(), "exec/gemm")
			})
		}
	}
}

// BenchmarkScorer measures Scorer.Score over 4096 random items for a bound
// user (items/s), reference sizes.
func BenchmarkScorer(b *testing.B) {
	cfg := Default()
	cfg.NumItems, cfg.NumCates = 20000, 100
	m, _ := New(cfg, 1)
	r := rand.New(rand.NewPCG(3, 3))
	cates := make([]int32, cfg.NumItems)
	for i := range cates {
		cates[i] = int32(1 + r.IntN(cfg.NumCates))
	}
	table, _ := m.AllItemEmbeddings(cates)
	s, _ := m.NewScorer(table)
	hi, hc := make([]int32, 30), make([]int32, 30)
	for i := range hi {
		hi[i], hc[i] = int32(1+r.IntN(cfg.NumItems)), int32(1+r.IntN(cfg.NumCates))
	}
	if err := s.BindIDs(item.IDs(hi), hc); err != nil {
		b.Fatal(err)
	}
	rows := make([]item.Row, 4096)
	for i := range rows {
		rows[i] = item.Row(r.IntN(cfg.NumItems))
	}
	out := make([]float32, len(rows))
	scoreTime, probe := probed(b, func() { s.Score(rows, out) })
	b.ReportMetric(float64(len(rows)*b.N)/scoreTime.Seconds(), "items/s")
	b.ReportMetric(probe.gflops(), "gemm_GFLOP/s")
}

// BenchmarkStepParallel runs two workers concurrently, each on its own
// batch of B positives (as the trainer's data-parallel step does on the two
// cores), and reports the combined samples/s and executed GFLOP/s, beside
// two GEMM probes run concurrently between steps (gemm_GFLOP/s, both
// cores) and their ratio.
func BenchmarkStepParallel(b *testing.B) {
	cfg := Default()
	cfg.NumItems, cfg.NumCates = 100000, 1000
	m, err := New(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range []struct{ B, C int }{{128, 21}, {64, 51}, {8, 201}} {
		b.Run(fmt.Sprintf("2x/B=%d/C=%d/adv=true", s.B, s.C), func(b *testing.B) {
			o := LossOptions{AdvEps: 3e-5, AdvWeight: 1}
			ws := []*Worker{m.NewWorker(), m.NewWorker()}
			bts := []*Batch{randBatch(rand.New(rand.NewPCG(1, 2)), cfg, s.B, cfg.SeqLen, s.C),
				randBatch(rand.New(rand.NewPCG(3, 4)), cfg, s.B, cfg.SeqLen, s.C)}
			probes := []*gemmProbe{newGemmProbe(), newGemmProbe()}
			both := func(f func(i int)) time.Duration {
				t := time.Now()
				done := make(chan struct{})
				go func() { f(1); close(done) }()
				f(0)
				<-done
				return time.Since(t)
			}
			both(func(i int) { ws[i].Step(bts[i], o) })
			for _, w := range ws {
				w.gw.FLOPs = 0
			}
			var stepTime, probeTime time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				stepTime += both(func(i int) { ws[i].Step(bts[i], o) })
				probeTime += both(func(i int) { probes[i].run() })
			}
			sec := stepTime.Seconds()
			exec := (ws[0].gw.FLOPs + ws[1].gw.FLOPs) / sec / 1e9
			gemm := (probes[0].flops + probes[1].flops) / probeTime.Seconds() / 1e9
			b.ReportMetric(float64(2*s.B*b.N)/sec, "samples/s")
			b.ReportMetric(2*cfg.TrainFLOPs(s.B, cfg.SeqLen, s.C, true)*float64(b.N)/sec/1e9, "model_GFLOP/s")
			b.ReportMetric(exec, "exec_GFLOP/s")
			b.ReportMetric(gemm, "gemm_GFLOP/s")
			b.ReportMetric(exec/gemm, "exec/gemm")
		})
	}
}

// BenchmarkStepKernels interleaves steps with the AVX-512 and the AVX2 GEMM
// kernel (adversarial term on) and reports each one's
// samples/s and their ratio, which is robust to the shared machine's load.
func BenchmarkStepKernels(b *testing.B) {
	cfg := Default()
	cfg.NumItems, cfg.NumCates = 100000, 1000
	m, _ := New(cfg, 1)
	for _, s := range []struct{ B, C int }{{128, 21}, {64, 51}} {
		b.Run(fmt.Sprintf("B=%d/C=%d", s.B, s.C), func(b *testing.B) {
			bt := randBatch(rand.New(rand.NewPCG(1, 2)), cfg, s.B, cfg.SeqLen, s.C)
			o := LossOptions{AdvEps: 3e-5, AdvWeight: 1}
			w := m.NewWorker()
			avx512, avx2 := vec.AvailableKernels(), vec.AvailableKernels()
			avx2.AVX512 = false
			defer vec.UseKernels(vec.UseKernels(avx512))
			w.Step(bt, o)
			var t512, t256 time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				vec.UseKernels(avx512)
				t := time.Now()
				w.Step(bt, o)
				t512 += time.Since(t)
				vec.UseKernels(avx2)
				t = time.Now()
				w.Step(bt, o)
				t256 += time.Since(t)
			}
			b.ReportMetric(float64(s.B*b.N)/t512.Seconds(), "avx512_samples/s")
			b.ReportMetric(float64(s.B*b.N)/t256.Seconds(), "avx2_samples/s")
			b.ReportMetric(t256.Seconds()/t512.Seconds(), "speedup")
		})
	}
}
