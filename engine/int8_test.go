package engine

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nann/internal/vec"
	"nann/item"
)

// TestInt8TopK is the int8 precision contract on random weights (20 K
// items, 12 users): brute force keeps ≥ 99% of the float32 top-200 on
// average (≥ 95% for every user), and every score is within 3% of the
// users' score RMS of the float32 one.
func TestInt8TopK(t *testing.T) {
	const k = 200
	ts, es := contractSetup(t, Options{Table: Float32}, Options{Table: Int8})
	e32, e8 := es[0], es[1]
	mean, worst := topKOverlap(t, e32, e8, ts.users, k)
	maxErr := scoreErr(t, e32, e8, ts.users)
	t.Logf("int8 vs float32 top-%d overlap: mean %.4f, worst %.3f over %d users; worst |Δscore| %.4f of the score RMS", k, mean, worst, len(ts.users), maxErr)
	if mean < 0.99 || worst < 0.95 {
		t.Fatalf("int8 top-%d overlap mean %.4f (want ≥ 0.99), worst %.3f (want ≥ 0.95)", k, mean, worst)
	}
	if maxErr > 0.03 {
		t.Fatalf("int8 score error %.4f of the RMS, want ≤ 0.03", maxErr)
	}
}

// scoreErr returns the largest |a − b| over every item and user, relative
// to the RMS of a's scores for that user.
func scoreErr(t *testing.T, a, b *Engine, users [][]float32) float64 {
	t.Helper()
	sa, sb := a.NewScorer(), b.NewScorer()
	rows := item.AllRows(a.NumItems())
	oa, ob := make([]float32, len(rows)), make([]float32, len(rows))
	worst := 0.0
	for _, seq := range users {
		if err := sa.BindSeq(seq); err != nil {
			t.Fatal(err)
		}
		if err := sb.BindSeq(seq); err != nil {
			t.Fatal(err)
		}
		sa.Score(rows, oa)
		sb.Score(rows, ob)
		r := rms(oa)
		for i := range oa {
			worst = max(worst, math.Abs(float64(oa[i]-ob[i]))/r)
		}
	}
	return worst
}

// TestInt8Twins scores the same users with the VNNI kernels and with the
// plain-Go twins: the scores agree exactly.
func TestInt8Twins(t *testing.T) {
	if !vec.AvailableKernels().VNNI {
		t.Skip("no AVX-512 VNNI")
	}
	ts := newSetup(t, 3000, 50, 4, 7)
	e, err := Compile(ts.w, ts.cates, Options{Table: Int8, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := e.NewScorer()
	rows := item.AllRows(e.NumItems())
	a, b := make([]float32, len(rows)), make([]float32, len(rows))
	for u, seq := range ts.users {
		if err := s.BindSeq(seq); err != nil {
			t.Fatal(err)
		}
		s.Score(rows[:29], a[:29])
		s.Score(rows[29:], a[29:])
		scoreWith(s, rows, b, func(k *vec.Kernels) { k.VNNI = false })
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("user %d row %d: VNNI %v, Go twin %v", u, i, a[i], b[i])
			}
		}
	}
	// An empty history (no value rows: the weight codes have depth 0)
	// scores like float32.
	e32, err := Compile(ts.w, ts.cates, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	s32 := e32.NewScorer()
	bindIDs(t, nil, nil, s, s32)
	s.Score(rows, a)
	s32.Score(rows, b)
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-2*(1+math.Abs(float64(b[i]))) {
			t.Fatalf("empty history, row %d: int8 %v, float32 %v", i, a[i], b[i])
		}
	}
}

// BenchmarkPrecisions alternates float32, float16 and int8 tables on the
// same 4096 random rows of the 20 K bench corpus, one core, and reports
// each one's items/s and int8's speed relative to float16 and float32
// (ratios measured in the same run, as the machine is shared). It also
// measures this core's peaks (vec.MeasurePeak, best of before and after)
// and reports each engine's fraction of the peak of its precision mix:
// the time its pair arithmetic (pairFLOPs) would take at peak over the
// time of its fastest iteration (best of, like the peaks: a busy machine
// takes time slices from both), the float32 paths at the FMA peak, int8 with the attention
// products (H·L + L·M0 multiply-adds) at the VPDPBUSD peak and the score
// layers (M0·M1 + M1·M2) at the VPDPWSSD peak:
//
//	go test ./engine -run '^$' -bench Precisions -benchtime 200x
func BenchmarkPrecisions(b *testing.B) {
	bm, err := benchModelOnce()
	if err != nil {
		b.Fatal(err)
	}
	precs := []Precision{Float32, Float16, Int8}
	var scorers []*Scorer
	var rows []item.Row
	for _, p := range precs {
		_, s, r := oneCore(b, bm, p)
		scorers, rows = append(scorers, s), r
	}
	out := make([]float32, len(rows))
	took, best := make([]time.Duration, len(precs)), make([]time.Duration, len(precs))
	var peaks [3]float64 // fma32, vnni8, vnni16, before the loop
	if vec.PeakVNNI8.Supported() {
		for i, p := range []vec.PeakOp{vec.PeakFMA32, vec.PeakVNNI8, vec.PeakVNNI16} {
			peaks[i] = vec.MeasurePeak(p, 50*time.Millisecond)
		}
	}
	for b.Loop() {
		for i, s := range scorers {
			t0 := time.Now()
			s.Score(rows, out)
			d := time.Since(t0)
			took[i] += d
			if best[i] == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	for i, p := range precs {
		b.ReportMetric(float64(b.N*len(rows))/took[i].Seconds(), p.String()+"_items/s")
	}
	b.ReportMetric(took[1].Seconds()/took[2].Seconds(), "int8_x_vs_float16")
	b.ReportMetric(took[0].Seconds()/took[2].Seconds(), "int8_x_vs_float32")
	b.ReportMetric(best[1].Seconds()/best[2].Seconds(), "best_int8_x_vs_float16")
	if !vec.PeakVNNI8.Supported() {
		return
	}
	peak := func(p vec.PeakOp) float64 {
		return vec.MeasurePeak(p, 50*time.Millisecond)
	}
	f32, i8, i16 := max(peak(vec.PeakFMA32), peaks[0]), max(peak(vec.PeakVNNI8), peaks[1]), max(peak(vec.PeakVNNI16), peaks[2])
	c := bm.w.Config
	m8 := float64(c.AttnHidden*c.SeqLen + c.SeqLen*c.ScoreHidden[0])
	m16 := float64(c.ScoreHidden[0]*c.ScoreHidden[1] + c.ScoreHidden[1]*c.ScoreHidden[2])
	m32 := pairFLOPs(c)/2 - m8 - m16
	items := float64(len(rows))
	atPeak := []float64{pairFLOPs(c) / 2 / f32, pairFLOPs(c) / 2 / f32, m8/i8 + m16/i16 + m32/f32}
	for i, p := range precs {
		b.ReportMetric(100*atPeak[i]*items/best[i].Seconds(), p.String()+"_%peak")
	}
	b.ReportMetric(2*f32/1e9, "fma32_peak_GFLOP/s")
	b.ReportMetric(2*i8/1e9, "vnni8_peak_Gop/s")
	b.ReportMetric(2*i16/1e9, "vnni16_peak_Gop/s")
}

// TestInt8SaveLoad round-trips an int8 engine (saved as its float16 table,
// re-coded at Load): the loaded engine scores bit for bit like the saved
// one, with every kernel selection; and the int8 option is refused with
// the ev layout.
func TestInt8SaveLoad(t *testing.T) {
	ts := newSetup(t, 500, 20, 3, 23)
	e, err := Compile(ts.w, ts.cates, Options{Table: Int8, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "engine")
	if err := e.Save(dir); err != nil {
		t.Fatal(err)
	}
	l, err := Load(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	if l.Precision() != Int8 || l.TableBytes() != e.TableBytes() {
		t.Fatalf("loaded %v with %d table bytes, saved int8 with %d", l.Precision(), l.TableBytes(), e.TableBytes())
	}
	for _, kern := range []string{"avx512", "go"} {
		prev := vec.UseKernels(kernelSet(kern))
		checkSameScores(t, kern, ts, e, l)
		vec.UseKernels(prev)
	}
	_, err = Compile(ts.w, ts.cates, Options{Table: Int8, Store: StoreEV})
	if err == nil || !strings.Contains(err.Error(), "int8 tables need the hu store layout") {
		t.Fatalf("int8 with ev: %v", err)
	}
}

// TestInt8OddSizes runs the int8 path on sizes that are not multiples of
// the int8 tiles (attention hidden 20, score widths 24, 8, 8, 7
// positions, masked padding), serial and split: the scores agree exactly
// with the VNNI kernels and with their Go twins, and stay within 2%
// of the float32 engine's score RMS; empty and full histories included.
func TestInt8OddSizes(t *testing.T) {
	cfg := Config{NumItems: 700, NumCates: 9, EmbDim: 6, SeqLen: 7, ItemHidden: [2]int{10, 12}, ItemDim: 14,
		AttnHidden: 20, AttnDim: 9, ScoreHidden: [3]int{24, 8, 8}, BNEps: 1e-3, MaskPadding: true}
	w, err := RandomWeights(cfg, 31)
	if err != nil {
		t.Fatal(err)
	}
	cates := make([]int32, cfg.NumItems)
	for i := range cates {
		cates[i] = int32(1 + i%cfg.NumCates)
	}
	e32, err := Compile(w, cates, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	e8, err := Compile(w, cates, Options{Table: Int8, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	rows := item.AllRows(cfg.NumItems)
	want, got, twin := make([]float32, len(rows)), make([]float32, len(rows)), make([]float32, len(rows))
	s32, s8 := e32.NewScorer(), e8.NewScorer()
	for _, n := range []int{0, 1, 3, 7} {
		items, hc := make([]item.ID, n), make([]int32, n)
		for i := range items {
			row := item.Row((i * 37) % cfg.NumItems)
			items[i], hc[i] = row.ID(), cates[row]
		}
		bindIDs(t, items, hc, s32, s8)
		s32.Score(rows, want)
		s8.Score(rows[:13], got[:13])
		s8.Score(rows[13:], got[13:])
		scoreWith(s8, rows, twin, func(k *vec.Kernels) { k.VNNI = false })
		rms := rms(want)
		for i := range want {
			if got[i] != twin[i] {
				t.Fatalf("history %d, row %d: int8 kernels %v, Go twins %v", n, i, got[i], twin[i])
			}
			if d := math.Abs(float64(got[i] - want[i])); d > 0.02*rms || math.IsNaN(float64(got[i])) {
				t.Fatalf("history %d, row %d: int8 %v, float32 %v (rms %.3g)", n, i, got[i], want[i], rms)
			}
		}
	}
}
