package train

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"nann/dataset"
	"nann/model"
)

// benchTrainer builds a trainer over NANN_BENCH_DATA (a prepared dataset;
// default the tiny test dataset) with the reference batch settings, or
// NANN_BENCH_BATCH×NANN_BENCH_NEG when the corpus is too small.
func benchTrainer(b *testing.B) *trainer {
	data := os.Getenv("NANN_BENCH_DATA")
	cfg := Default()
	if data == "" {
		data = testData
		cfg.Batch, cfg.Negatives = 64, 4
	}
	cfg.Data, cfg.RunDir = data, filepath.Join(b.TempDir(), "run")
	rf, err := openRun(cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ds, err := dataset.Open(data, dataset.OpenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ds.Close() })
	t, err := newTrainer(rf, ds, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	return t
}

// BenchmarkStep compares a whole training step (batch assembly, unique
// negative sampling, parallel Worker.Step, gradient sum + AdamW, BN
// update) with the bare parallel Worker.Step on the same batch, the
// model's share. Run on the medium world with
//
//	NANN_BENCH_DATA=/path/to/medium go test -run '^$' -bench Step ./train
func BenchmarkStep(b *testing.B) {
	t := benchTrainer(b)
	flop := t.rf.Model.TrainFLOPs(t.cfg.Batch, t.batch.L, t.batch.C, true)
	b.Run("trainer", func(b *testing.B) {
		t.timeFill, t.timeWorkers, t.timeUpdate = 0, 0, 0
		for range b.N {
			if _, err := t.step(); err != nil {
				b.Fatal(err)
			}
		}
		all := (t.timeFill + t.timeWorkers + t.timeUpdate).Seconds()
		b.ReportMetric(t.timeFill.Seconds()/all, "fill_frac")
		b.ReportMetric(t.timeUpdate.Seconds()/all, "update_frac")
		b.ReportMetric(float64(b.N*t.cfg.Batch)/b.Elapsed().Seconds(), "samples/s")
		b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("workers-only", func(b *testing.B) {
		lo := model.LossOptions{AdvEps: float32(t.cfg.AdvEps), AdvWeight: float32(t.cfg.AdvWeight)}
		for range b.N {
			var wg sync.WaitGroup
			for r, w := range t.workers {
				wg.Add(1)
				go func() { defer wg.Done(); w.Step(&t.shards[r], lo) }()
			}
			wg.Wait()
		}
		b.ReportMetric(float64(b.N*t.cfg.Batch)/b.Elapsed().Seconds(), "samples/s")
		b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("fill-batch", func(b *testing.B) {
		for i := range b.N {
			if err := t.fillBatch(int64(i) % t.stepsPerEpoch); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("adamw", func(b *testing.B) {
		grads := make([][][]float32, len(t.workers))
		for r, w := range t.workers {
			grads[r] = w.Grads()
		}
		for range b.N {
			t.opt.Apply(t.m.Params(), grads, runtime.GOMAXPROCS(0))
		}
	})
}
