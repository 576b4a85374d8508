package engine

import (
	"math"
	"math/rand/v2"
	"testing"

	"nann/internal/vec"
	"nann/item"
)

// Test helpers shared by the engine tests.

// randRows is n random rows of a corpus of numItems.
func randRows(r *rand.Rand, n, numItems int) []item.Row {
	rows := make([]item.Row, n)
	for i := range rows {
		rows[i] = item.Row(r.IntN(numItems))
	}
	return rows
}

// randomHistory is n random behaviours over the corpus whose row r has
// category cates[r]: the items' dense ids and their categories.
func randomHistory(r *rand.Rand, n int, cates []int32) ([]item.ID, []int32) {
	items, hc := make([]item.ID, n), make([]int32, n)
	for i := range items {
		row := item.Row(r.IntN(len(cates)))
		items[i], hc[i] = row.ID(), cates[row]
	}
	return items, hc
}

// compile compiles ts's weights once per options, in order.
func (ts *testSetup) compile(t testing.TB, opts ...Options) []*Engine {
	t.Helper()
	es := make([]*Engine, len(opts))
	for i, o := range opts {
		e, err := Compile(ts.w, ts.cates, o)
		if err != nil {
			t.Fatal(err)
		}
		es[i] = e
	}
	return es
}

// bindIDs binds every scorer to the history items, cates.
func bindIDs(t testing.TB, items []item.ID, cates []int32, scorers ...*Scorer) {
	t.Helper()
	for _, s := range scorers {
		if err := s.BindIDs(items, cates); err != nil {
			t.Fatal(err)
		}
	}
}

// scoreWith scores rows into out with the active kernels changed by edit
// (a kernel family turned off, to compare with its plain-Go twin).
func scoreWith(s *Scorer, rows []item.Row, out []float32, edit func(k *vec.Kernels)) {
	k := vec.ActiveKernels()
	edit(&k)
	prev := vec.UseKernels(k)
	defer vec.UseKernels(prev)
	s.Score(rows, out)
}

// rms is the root mean square of v.
func rms(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s / float64(len(v)))
}

// common is the number of rows of b that a holds.
func common(a, b []item.Row) int {
	in := make(map[item.Row]bool, len(a))
	for _, r := range a {
		in[r] = true
	}
	n := 0
	for _, r := range b {
		if in[r] {
			n++
		}
	}
	return n
}

// contractSetup is the corpus of the precision contracts (random weights,
// 20 K items, 200 categories, 12 users) compiled once per options.
func contractSetup(t *testing.T, opts ...Options) (*testSetup, []*Engine) {
	t.Helper()
	ts := newSetup(t, 20000, 200, 12, 5)
	return ts, ts.compile(t, opts...)
}

// checkSameScores fails unless a and b score every row bit for bit alike,
// and not NaN, for each user of ts (bound by ids); what names the case.
func checkSameScores(t *testing.T, what string, ts *testSetup, a, b *Engine) {
	t.Helper()
	rows := item.AllRows(a.NumItems())
	oa, ob := make([]float32, len(rows)), make([]float32, len(rows))
	for u, h := range ts.hist {
		sa, sb := a.NewScorer(), b.NewScorer()
		bindIDs(t, h.items, h.cates, sa, sb)
		sa.Score(rows, oa)
		sb.Score(rows, ob)
		for i := range oa {
			if math.Float32bits(oa[i]) != math.Float32bits(ob[i]) || math.IsNaN(float64(oa[i])) {
				t.Fatalf("%s user %d row %d: %v and %v", what, u, i, oa[i], ob[i])
			}
		}
	}
}
