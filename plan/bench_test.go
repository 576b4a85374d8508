package plan

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"nann/engine"
	"nann/item"
	"nann/onnx"
)

// The speed benchmarks of issue 14, in one run so that their ratios mean
// something on a shared machine:
//
//	go test ./plan -run '^$' -bench . -benchtime 2s
//
// Each reports items/s. BenchmarkReference* need /usr/bin/python3 with torch
// and onnx (the SPEC-size reference network is exported on the fly); the DIN
// benchmarks run on the committed din17 fixture with full 50-long
// histories.

const benchCorpus = 20000

var refFull struct {
	once sync.Once
	g    func() *onnx.Graph
	err  error
	seq  *onnx.Tensor
}

// referenceFull exports the SPEC-size reference network once per process
// and returns a fresh copy of its graph each call.
func referenceFull(b *testing.B) (*onnx.Graph, *onnx.Tensor) {
	refFull.once.Do(func() {
		if out, err := exec.Command("/usr/bin/python3", "-c", "import torch, onnx").CombinedOutput(); err != nil {
			refFull.err = &skipErr{string(out)}
			return
		}
		dir, err := os.MkdirTemp("", "nann-plan-bench")
		if err != nil {
			refFull.err = err
			return
		}
		if out, err := exec.Command("/usr/bin/python3", "../onnx/testdata/make_fixtures.py", "--full", dir).CombinedOutput(); err != nil {
			refFull.err = &skipErr{string(out)}
			return
		}
		path := filepath.Join(dir, "reference_full.onnx")
		data, err := os.ReadFile(path)
		if err != nil {
			refFull.err = err
			return
		}
		arrs, err := onnx.ReadNPZ(filepath.Join(dir, "reference_full.npz"))
		if err != nil {
			refFull.err = err
			return
		}
		os.RemoveAll(dir)
		refFull.g = func() *onnx.Graph {
			m, err := onnx.Parse(data, onnx.ReadOptions{})
			if err != nil {
				panic(err)
			}
			return m.Graph
		}
		seq := userRow(arrs["user.comm_seq"], 0)
		seq = &onnx.Tensor{DType: seq.DType, Shape: seq.Shape, Data: append([]float64{}, seq.Data...)}
		rng := rand.New(rand.NewPCG(8, 9))
		for i := range seq.Data {
			if seq.Data[i] == 0 { // a full 50-long history
				seq.Data[i] = rng.NormFloat64()
			}
		}
		refFull.seq = seq
	})
	if refFull.err != nil {
		if s, ok := refFull.err.(*skipErr); ok {
			b.Skipf("reference_full needs /usr/bin/python3 with torch and onnx: %s", s.msg)
		}
		b.Fatal(refFull.err)
	}
	return refFull.g(), refFull.seq
}

type skipErr struct{ msg string }

func (e *skipErr) Error() string { return e.msg }

func randomTable(n, w int, seed uint64) *onnx.Tensor {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	t := &onnx.Tensor{DType: onnx.Float32, Shape: []int{n, w}, Data: make([]float64, n*w)}
	for i := range t.Data {
		t.Data[i] = rng.NormFloat64()
	}
	return t
}

func benchRows(n, k int) []item.Row {
	rng := rand.New(rand.NewPCG(10, 11))
	rows := make([]item.Row, k)
	for i := range rows {
		rows[i] = item.Row(rng.IntN(n))
	}
	return rows
}

// referenceEngine is the hand engine over a benchCorpus of random weights
// and categories, one thread, bound to the reference sequence seq.
func referenceEngine(b *testing.B, seq *onnx.Tensor) *engine.Scorer {
	es := randomEngine(b, benchCorpus, rand.New(rand.NewPCG(5, 6))).NewScorer()
	cs := make([]float32, seq.Len())
	for i := range cs {
		cs[i] = float32(seq.Data[i])
	}
	if err := es.BindSeq(cs); err != nil {
		b.Fatal(err)
	}
	return es
}

// randomEngine is the hand engine with random weights (seed 7) over n
// items of 100 categories drawn from rng, one thread.
func randomEngine(tb testing.TB, n int, rng *rand.Rand) *engine.Engine {
	w, err := engine.RandomWeights(engine.DefaultConfig(n, 100), 7)
	if err != nil {
		tb.Fatal(err)
	}
	cates := make([]int32, n)
	for i := range cates {
		cates[i] = int32(1 + rng.IntN(100))
	}
	e, err := engine.Compile(w, cates, engine.Options{Threads: 1})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// referencePlan is the reference network g compiled over a benchCorpus of
// random item features, one thread, bound to seq.
func referencePlan(b *testing.B, g *onnx.Graph, seq *onnx.Tensor) *Scorer {
	p, err := Compile(g, Contract{UserInputs: []string{"comm_seq"}, ItemInput: "item_feat"}, randomTable(benchCorpus, 64, 1), Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	s := p.NewScorer()
	if err := s.Bind(map[string]*onnx.Tensor{"comm_seq": seq}); err != nil {
		b.Fatal(err)
	}
	return s
}

// scoreItems runs score over rows b.N times and reports items/s (wall
// clock) and items per second of the process's CPU time (items/cpu-s: on a
// busy machine, where the wall clock also counts other processes' turns,
// the fairer measure of the code's own cost; for a run on k cores, k times
// it is the rate those cores would reach alone).
func scoreItems(b *testing.B, rows []item.Row, score func(rows []item.Row, out []float32)) {
	out := make([]float32, len(rows))
	score(rows, out)
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		score(rows, out)
	}
	cpu := cpuTime() - c0
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "items/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N*len(rows))/cpu.Seconds(), "items/cpu-s")
	}
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkReferenceEngine(b *testing.B) {
	_, seq := referenceFull(b)
	es := referenceEngine(b, seq)
	scoreItems(b, benchRows(benchCorpus, 4096), func(rows []item.Row, out []float32) { es.Score(rows, out) })
}

func BenchmarkReferencePlan(b *testing.B) {
	g, seq := referenceFull(b)
	s := referencePlan(b, g, seq)
	scoreItems(b, benchRows(benchCorpus, 4096), func(rows []item.Row, out []float32) {
		if err := s.Score(rows, out); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkReferenceInterpreter(b *testing.B) {
	g, seq := referenceFull(b)
	items := randomTable(benchCorpus, 64, 1)
	const k = 256
	rows := benchRows(benchCorpus, k)
	in := map[string]*onnx.Tensor{"item_feat": gatherRows(items, rows), "comm_seq": repeatTensor(seq, k)}
	scoreItems(b, rows, func([]item.Row, []float32) {
		if _, err := g.Run(in); err != nil {
			b.Fatal(err)
		}
	})
}

// dinBench compiles din17 over a random corpus and binds a user with a full
// 50-long history.
func dinBench(b *testing.B, threads int) (*Scorer, map[string]*onnx.Tensor) {
	f := loadFixture(b, "din17")
	p, err := Compile(f.g, f.c, randomTable(benchCorpus, 16, 2), Options{Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	in := fixtureUser(f, 0)
	s := p.NewScorer()
	if err := s.Bind(in); err != nil {
		b.Fatal(err)
	}
	return s, in
}

func BenchmarkDINPlan(b *testing.B) {
	s, _ := dinBench(b, 1)
	scoreItems(b, benchRows(benchCorpus, 4096), func(rows []item.Row, out []float32) {
		if err := s.Score(rows, out); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkDINPlan2Cores(b *testing.B) {
	s, _ := dinBench(b, 2)
	scoreItems(b, benchRows(benchCorpus, 4096), func(rows []item.Row, out []float32) {
		if err := s.Score(rows, out); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkDINPlan2Queries: two queries at a time on a two-thread plan, as
// a server at concurrency 2 scores them (each goroutine its own Scorer).
func BenchmarkDINPlan2Queries(b *testing.B) {
	s0, in := dinBench(b, 2)
	s1 := s0.p.NewScorer()
	if err := s1.Bind(in); err != nil {
		b.Fatal(err)
	}
	rows := benchRows(benchCorpus, 4096)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for _, s := range []*Scorer{s0, s1} {
		wg.Go(func() {
			out := make([]float32, len(rows))
			for i := 0; i < b.N; i++ {
				if err := s.Score(rows, out); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(2*len(rows)*b.N)/time.Since(start).Seconds(), "items/s")
}

func BenchmarkDINBind(b *testing.B) {
	s, in := dinBench(b, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Bind(in); err != nil {
			b.Fatal(err)
		}
	}
}

// threadCPU is the calling thread's CPU time (the caller holds its OS
// thread).
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// BenchmarkInterleaved scores the same 4096 random rows with the hand
// engine, the compiled reference plan and the compiled DIN plan in turn,
// one core, each call timed by the thread's CPU clock (what a busy machine
// disturbs least), and reports each one's items per CPU-second and the
// ratios: plan/engine (issue 14 wants ≥ 0.8) and DIN/engine (times the
// engine's rate on a quiet machine, an estimate of DIN's).
func BenchmarkInterleaved(b *testing.B) {
	g, seq := referenceFull(b)
	es := referenceEngine(b, seq)
	ps := referencePlan(b, g, seq)
	ds, _ := dinBench(b, 1)
	rows := benchRows(benchCorpus, 4096)
	out := make([]float32, len(rows))
	runs := []func(){
		func() { es.Score(rows, out) },
		func() { _ = ps.Score(rows, out) },
		func() { _ = ds.Score(rows, out) },
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpu [3]time.Duration
	for _, f := range runs {
		f()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, f := range runs {
			t0 := threadCPU()
			f()
			cpu[j] += threadCPU() - t0
		}
	}
	rate := func(j int) float64 { return float64(b.N*len(rows)) / cpu[j].Seconds() }
	b.ReportMetric(rate(0), "engine-items/cpu-s")
	b.ReportMetric(rate(1), "plan-items/cpu-s")
	b.ReportMetric(rate(2), "din-items/cpu-s")
	b.ReportMetric(rate(1)/rate(0), "plan/engine")
	b.ReportMetric(rate(2)/rate(0), "din/engine")
	b.ReportMetric(0, "ns/op")
}
