package engine

import (
	"math"
	"testing"

	"nann/internal/vec"
	"nann/retrieve"
)

// TestFloat16TopK is the float16 precision contract: brute force with half
// precision item tables keeps at least 99% of the float32 top-200, on
// average over random users (random weights, 20 K items). It also checks
// that F16C and its Go twin agree.
func TestFloat16TopK(t *testing.T) {
	const numItems, k = 20000, 200
	ts := newSetup(t, numItems, 200, 12, 5)
	e32, err := Compile(ts.w, ts.cates, Options{Table: Float32})
	if err != nil {
		t.Fatal(err)
	}
	e16, err := Compile(ts.w, ts.cates, Options{Table: Float16})
	if err != nil {
		t.Fatal(err)
	}
	if e16.TableBytes()*2 != e32.TableBytes() {
		t.Fatalf("float16 table holds %d bytes, float32 %d", e16.TableBytes(), e32.TableBytes())
	}
	s32, s16 := e32.NewEngineScorer(), e16.NewEngineScorer()
	x32, x16 := retrieve.NewExact(numItems), retrieve.NewExact(numItems)
	var sum float64
	worst := 1.0
	for u, seq := range ts.users {
		if err := s32.Bind(seq); err != nil {
			t.Fatal(err)
		}
		if err := s16.Bind(seq); err != nil {
			t.Fatal(err)
		}
		r32, err := x32.TopK(s32, k)
		if err != nil {
			t.Fatal(err)
		}
		r16, err := x16.TopK(s16, k)
		if err != nil {
			t.Fatal(err)
		}
		in := map[int32]bool{}
		for _, r := range r32.Rows {
			in[r] = true
		}
		hit := 0
		for _, r := range r16.Rows {
			if in[r] {
				hit++
			}
		}
		o := float64(hit) / k
		sum += o
		worst = min(worst, o)
		if o < 0.95 {
			t.Errorf("user %d: float16 top-%d overlaps float32 by only %.3f", u, k, o)
		}
	}
	mean := sum / float64(len(ts.users))
	t.Logf("float16 vs float32 top-%d overlap: mean %.4f, worst %.3f over %d users", k, mean, worst, len(ts.users))
	if mean < 0.99 {
		t.Fatalf("mean float16 top-%d overlap %.4f < 0.99", k, mean)
	}

	// F16C against the plain-Go conversion, on the same half-precision table.
	rows := allRows(2000)
	a, b := make([]float32, len(rows)), make([]float32, len(rows))
	s16.Score(rows, a)
	prev := vec.SetF16C(false)
	s16.Score(rows, b)
	vec.SetF16C(prev)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("row %d: F16C gives %v, Go twin %v", i, a[i], b[i])
		}
	}
}

// TestZeroAllocs checks that steady-state Bind, BindIDs and Score (small
// serial batches and large parallel ones) do not allocate.
func TestZeroAllocs(t *testing.T) {
	ts := newSetup(t, 5000, 50, 2, 9)
	for _, p := range []Precision{Float32, Float16} {
		e, err := Compile(ts.w, ts.cates, Options{Table: p, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		s := e.NewEngineScorer()
		small, large := allRows(100), allRows(5000)
		out := make([]float32, len(large))
		run := func() {
			if err := s.Bind(ts.users[0]); err != nil {
				t.Fatal(err)
			}
			s.Score(small, out)
			if err := s.BindIDs(ts.hist[1][0], ts.hist[1][1]); err != nil {
				t.Fatal(err)
			}
			s.Score(large, out)
		}
		run()
		if n := testing.AllocsPerRun(20, run); n != 0 {
			t.Errorf("%v: %v allocations per query, want 0", p, n)
		}
		for _, v := range out {
			if math.IsNaN(float64(v)) {
				t.Fatal("NaN score")
			}
		}
	}
}
