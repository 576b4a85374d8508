package engine

import (
	"math"
	"testing"

	"nann/internal/vec"
	"nann/item"
	"nann/retrieve"
)

// TestFloat16TopK is the float16 precision contract: brute force with half
// precision item tables keeps at least 99% of the float32 top-200, on
// average over random users (random weights, 20 K items). It also checks
// that F16C and its Go twin agree.
func TestFloat16TopK(t *testing.T) {
	const k = 200
	ts, es := contractSetup(t, Options{Table: Float32}, Options{Table: Float16}, Options{Table: Float16, Store: StoreEV})
	e32, e16, ev16 := es[0], es[1], es[2]
	if e16.TableBytes()*2 != e32.TableBytes() {
		t.Fatalf("float16 table holds %d bytes, float32 %d", e16.TableBytes(), e32.TableBytes())
	}
	for _, e := range []*Engine{e16, ev16} {
		mean, worst := topKOverlap(t, e32, e, ts.users, k)
		t.Logf("float16 (store %v) vs float32 top-%d overlap: mean %.4f, worst %.3f over %d users", e.Layout(), k, mean, worst, len(ts.users))
		if mean < 0.99 || worst < 0.95 {
			t.Fatalf("store %v: float16 top-%d overlap mean %.4f (want ≥ 0.99), worst %.3f (want ≥ 0.95)", e.Layout(), k, mean, worst)
		}
	}
	s16 := e16.NewScorer()
	if err := s16.BindSeq(ts.users[0]); err != nil {
		t.Fatal(err)
	}

	// F16C against the plain-Go conversion, on the same half-precision table.
	rows := item.AllRows(2000)
	a, b := make([]float32, len(rows)), make([]float32, len(rows))
	s16.Score(rows, a)
	scoreWith(s16, rows, b, func(k *vec.Kernels) { k.F16C = false })
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("row %d: F16C gives %v, Go twin %v", i, a[i], b[i])
		}
	}
}

// TestZeroAllocs checks that steady-state Bind, BindIDs and Score (small
// serial batches and large split ones, short and full histories) do not
// allocate, for every table precision.
func TestZeroAllocs(t *testing.T) {
	ts := newSetup(t, 5000, 50, 3, 9)
	for _, p := range []Precision{Float32, Float16, Int8} {
		e, err := Compile(ts.w, ts.cates, Options{Table: p, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		s := e.NewScorer()
		small, large := item.AllRows(100), item.AllRows(5000)
		out := make([]float32, len(large))
		run := func() {
			for u, h := range ts.hist {
				if err := s.BindSeq(ts.users[u]); err != nil {
					t.Fatal(err)
				}
				s.Score(small, out)
				bindIDs(t, h.items, h.cates, s)
				s.Score(large, out)
			}
		}
		run()
		if n := testing.AllocsPerRun(10, run); n != 0 {
			t.Errorf("%v: %v allocations per round, want 0", p, n)
		}
		for _, v := range out {
			if math.IsNaN(float64(v)) {
				t.Fatal("NaN score")
			}
		}
	}
}

// topKOverlap returns the mean and worst fraction of a's brute-force top-k
// that b's top-k contains, over users.
func topKOverlap(t *testing.T, a, b *Engine, users [][]float32, k int) (mean, worst float64) {
	t.Helper()
	sa, sb := a.NewScorer(), b.NewScorer()
	xa, xb := retrieve.NewExact(a.NumItems()), retrieve.NewExact(b.NumItems())
	worst = 1
	for _, seq := range users {
		if err := sa.BindSeq(seq); err != nil {
			t.Fatal(err)
		}
		if err := sb.BindSeq(seq); err != nil {
			t.Fatal(err)
		}
		ra, err := xa.TopK(sa, k)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := xb.TopK(sb, k)
		if err != nil {
			t.Fatal(err)
		}
		o := float64(common(ra.Rows, rb.Rows)) / float64(k)
		mean += o / float64(len(users))
		worst = min(worst, o)
	}
	return mean, worst
}
