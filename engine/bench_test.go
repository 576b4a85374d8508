package engine

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"nann/item"
	"nann/model"
	"nann/retrieve"
)

// Benchmarks. Each reports ratios measured in the same run (the machine is
// shared and noisy), alternating the contenders inside one loop:
//
//	go test ./engine -run '^$' -bench . -benchtime 20x
//
// BenchmarkVsPlain: the engine (one core) against the model's plain
// inference Scorer (one core, GEMM-based, e_v precomputed) and against the
// float64 reference forward of the tests, on random rows of a 20 K corpus.
// BenchmarkPerCore: items/s and GFLOP/s of one core, float32 and float16.
// BenchmarkBruteForce1M: exact top-200 over 1 M random items on all cores.

// pairFLOPs is the arithmetic of one (user, item) pair after the rewrite:
// 2·(H·L + L·M0 + M0·M1 + M1·M2 + M2) with the reference sizes.
func pairFLOPs(c Config) float64 {
	return 2 * float64(c.AttnHidden*c.SeqLen+c.SeqLen*c.ScoreHidden[0]+c.ScoreHidden[0]*c.ScoreHidden[1]+c.ScoreHidden[1]*c.ScoreHidden[2]+c.ScoreHidden[2])
}

// corePeak is the float32 FMA peak of one core: 32 FLOP/cycle at 2.6 GHz.
const corePeak = 32 * 2.6e9

type benchModel struct {
	m     *model.Model
	w     *Weights
	cates []int32
	table []float32
	seqs  [][]float32
}

var benchModelOnce = sync.OnceValues(func() (*benchModel, error) {
	const numItems, numCates = 20000, 500
	cfg := model.Default()
	cfg.NumItems, cfg.NumCates = numItems, numCates
	m, err := model.New(cfg, 3)
	if err != nil {
		return nil, err
	}
	w, err := FromModel(m)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(1, 1))
	bm := &benchModel{m: m, w: w, cates: make([]int32, numItems)}
	for i := range bm.cates {
		bm.cates[i] = int32(1 + r.IntN(numCates))
	}
	if bm.table, err = m.AllItemEmbeddings(bm.cates); err != nil {
		return nil, err
	}
	for u := 0; u < 8; u++ {
		items, hc := randomHistory(r, 50, bm.cates)
		seq := make([]float32, w.CommSeqLen())
		if err := m.SequenceEmbedding(items, hc, seq); err != nil {
			return nil, err
		}
		bm.seqs = append(bm.seqs, seq)
	}
	return bm, nil
})

// BenchmarkVsPlain alternates, on the same user and the same random rows,
// the engine (one core), the plain float32 forward of SPEC §2 (plainScorer,
// about 84 K multiply-adds per pair, one core) and the model package's
// inference Scorer (one core; since commit fbf6580 it computes q·k through
// Wq2·Wk2ᵀ, about 44 K multiply-adds per pair); every 8th iteration it also
// scores 64 of the rows with the float64 reference. Bind is included in
// every contender's time (once per batch).
func BenchmarkVsPlain(b *testing.B) {
	bm, err := benchModelOnce()
	if err != nil {
		b.Fatal(err)
	}
	plain := newPlain(bm.w, bm.cates)
	for _, batch := range []int{256, 4096} {
		for _, p := range []Precision{Float32, Float16} {
			b.Run(fmt.Sprintf("batch=%d/%v", batch, p), func(b *testing.B) {
				e, err := Compile(bm.w, bm.cates, Options{Table: p, Threads: 1})
				if err != nil {
					b.Fatal(err)
				}
				es := e.NewScorer()
				ms, err := bm.m.NewScorer(bm.table)
				if err != nil {
					b.Fatal(err)
				}
				ref := newRef(bm.w, bm.cates)
				rows := randRows(rand.New(rand.NewPCG(2, 2)), batch, e.NumItems())
				out := make([]float32, batch)
				var tEng, tPlain, tModel, tRef time.Duration
				var nRef int
				i := 0
				for b.Loop() {
					seq := bm.seqs[i%len(bm.seqs)]
					t0 := time.Now()
					if err := es.BindSeq(seq); err != nil {
						b.Fatal(err)
					}
					es.Score(rows, out)
					t1 := time.Now()
					plain.bind(seq)
					plain.score(rows, out)
					t2 := time.Now()
					if err := ms.BindSeq(seq); err != nil {
						b.Fatal(err)
					}
					ms.Score(rows, out)
					t3 := time.Now()
					tEng += t1.Sub(t0)
					tPlain += t2.Sub(t1)
					tModel += t3.Sub(t2)
					if i%8 == 0 {
						ref.bind(seq)
						for _, r := range rows[:64] {
							ref.score(int(r))
						}
						tRef += time.Since(t3)
						nRef += 64
					}
					i++
				}
				rate := func(d time.Duration) float64 { return float64(i*batch) / d.Seconds() }
				b.ReportMetric(rate(tEng), "engine_items/s")
				b.ReportMetric(rate(tPlain), "plain_items/s")
				b.ReportMetric(rate(tEng)/rate(tPlain), "x_vs_plain")
				b.ReportMetric(rate(tEng)/rate(tModel), "x_vs_model")
				b.ReportMetric(rate(tEng)/(float64(nRef)/tRef.Seconds()), "x_vs_ref64")
			})
		}
	}
}

// BenchmarkPerCore scores 4096 random rows per iteration on one core and
// reports items/s, GFLOP/s of the rewritten arithmetic and its fraction of
// the core's FMA peak.
func BenchmarkPerCore(b *testing.B) {
	bm, err := benchModelOnce()
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []Precision{Float32, Float16, Int8} {
		b.Run(p.String(), func(b *testing.B) {
			e, s, rows := oneCore(b, bm, p)
			out := make([]float32, len(rows))
			for b.Loop() {
				s.Score(rows, out)
			}
			rate := float64(b.N*len(rows)) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "items/s")
			b.ReportMetric(rate*pairFLOPs(e.cfg)/1e9, "GFLOP/s")
			b.ReportMetric(rate*pairFLOPs(e.cfg)/corePeak*100, "%peak")
		})
	}
}

// oneCore compiles bm's weights with p tables for one thread and returns
// the engine, a scorer bound to bm's first history and 4096 random rows.
func oneCore(b *testing.B, bm *benchModel, p Precision) (*Engine, *Scorer, []item.Row) {
	b.Helper()
	e, err := Compile(bm.w, bm.cates, Options{Table: p, Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	s := e.NewScorer()
	if err := s.BindSeq(bm.seqs[0]); err != nil {
		b.Fatal(err)
	}
	return e, s, randRows(rand.New(rand.NewPCG(4, 4)), 4096, e.NumItems())
}

// bigSet is 1 M items with random weights compiled in three variants.
type bigSet struct {
	seq     []float32
	engines []*Engine // float32/hu, float16/hu, float16/ev, int8/hu
	compile []time.Duration
}

var bigOnce = sync.OnceValues(func() (*bigSet, error) {
	const numItems, numCates = 1_000_000, 10_000
	w, err := RandomWeights(DefaultConfig(numItems, numCates), 8)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(8, 8))
	cates := make([]int32, numItems)
	for i := range cates {
		cates[i] = int32(1 + r.IntN(numCates))
	}
	bs := &bigSet{seq: make([]float32, w.CommSeqLen())}
	items, hc := randomHistory(r, w.SeqLen, cates)
	for _, o := range []Options{{Table: Float32}, {Table: Float16}, {Table: Float16, Store: StoreEV}, {Table: Int8}} {
		t0 := time.Now()
		e, err := Compile(w, cates, o)
		if err != nil {
			return nil, err
		}
		bs.compile = append(bs.compile, time.Since(t0))
		bs.engines = append(bs.engines, e)
	}
	if err := bs.engines[0].CommSeq(items, hc, bs.seq); err != nil {
		return nil, err
	}
	return bs, nil
})

func engineName(e *Engine) string { return e.Precision().String() + "_" + e.Layout().String() }

// BenchmarkBruteForce1M runs exact top-200 brute force over 1 M random items
// (retrieve.Exact: 4096-row chunks, each split across all cores) for one
// user per iteration, for each table variant. Needs about 3.5 GB.
func BenchmarkBruteForce1M(b *testing.B) {
	bs, err := bigOnce()
	if err != nil {
		b.Fatal(err)
	}
	for i, e := range bs.engines {
		b.Run(engineName(e), func(b *testing.B) {
			s := e.NewScorer()
			x := retrieve.NewExact(e.NumItems())
			if err := s.BindSeq(bs.seq); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := x.TopK(s, 200); err != nil {
					b.Fatal(err)
				}
			}
			rate := float64(b.N*e.NumItems()) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "items/s")
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/query")
			b.ReportMetric(rate*pairFLOPs(e.cfg)/1e9, "GFLOP/s")
			b.ReportMetric(bs.compile[i].Seconds(), "compile_s")
			b.ReportMetric(float64(e.TableBytes())/(1<<20), "table_MiB")
		})
	}
}

// BenchmarkLayouts1M alternates the three table variants on the same
// batches of 384 random rows of the 1 M corpus (the access pattern of beam
// retrieval), one core, and reports each one's items/s and its speed
// relative to float16/hu.
func BenchmarkLayouts1M(b *testing.B) {
	bs, err := bigOnce()
	if err != nil {
		b.Fatal(err)
	}
	var scorers []*Scorer
	for _, e := range bs.engines {
		s := e.NewScorer()
		if err := s.BindSeq(bs.seq); err != nil {
			b.Fatal(err)
		}
		scorers = append(scorers, s)
	}
	r := rand.New(rand.NewPCG(9, 9))
	const batch = 384 // below 2·minParallel: scored serially on one core
	rows, out := make([]item.Row, batch), make([]float32, batch)
	took := make([]time.Duration, len(scorers))
	n := 0
	for b.Loop() {
		for i := range rows {
			rows[i] = item.Row(r.IntN(bs.engines[0].NumItems()))
		}
		for i, s := range scorers {
			t0 := time.Now()
			s.Score(rows, out)
			took[i] += time.Since(t0)
		}
		n += batch
	}
	for i, e := range bs.engines {
		b.ReportMetric(float64(n)/took[i].Seconds(), engineName(e)+"_items/s")
		if i != 1 {
			b.ReportMetric(took[1].Seconds()/took[i].Seconds(), engineName(e)+"_x_vs_float16_hu")
		}
	}
}

// BenchmarkHistoryLength alternates users with 5, 20 and 50 real behaviours
// (the rest padding) on the same 4096 random rows, one core, float16: Bind
// merges the padding positions, so shorter histories cost less attention
// work. Reports items/s per length and the speed relative to 50.
func BenchmarkHistoryLength(b *testing.B) {
	bm, err := benchModelOnce()
	if err != nil {
		b.Fatal(err)
	}
	e, err := Compile(bm.w, bm.cates, Options{Table: Float16, Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	lengths := []int{5, 20, 50}
	var scorers []*Scorer
	sw := bm.w.SeqWidth()
	for _, n := range lengths {
		seq := append([]float32(nil), bm.seqs[0]...)
		clear(seq[n*sw:])
		s := e.NewScorer()
		if err := s.BindSeq(seq); err != nil {
			b.Fatal(err)
		}
		scorers = append(scorers, s)
	}
	rows := randRows(rand.New(rand.NewPCG(6, 6)), 4096, e.NumItems())
	out := make([]float32, len(rows))
	took := make([]time.Duration, len(lengths))
	for b.Loop() {
		for i, s := range scorers {
			t0 := time.Now()
			s.Score(rows, out)
			took[i] += time.Since(t0)
		}
	}
	last := len(lengths) - 1
	for i, n := range lengths {
		b.ReportMetric(float64(b.N*len(rows))/took[i].Seconds(), fmt.Sprintf("len%d_items/s", n))
		if i != last {
			b.ReportMetric(took[last].Seconds()/took[i].Seconds(), fmt.Sprintf("len%d_x_vs_len50", n))
		}
	}
}
