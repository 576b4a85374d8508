package plan

import (
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"

	"nann/internal/numtest"
	"nann/item"
	"nann/onnx"
)

// bigCorpus is the fixture's network over n random items (ids for "ids").
func bigCorpus(f *fixture, n int) *onnx.Tensor {
	rng := rand.New(rand.NewPCG(3, 4))
	t := &onnx.Tensor{DType: f.items.DType, Shape: append([]int{n}, f.items.Shape[1:]...)}
	w := f.items.Len() / f.items.Shape[0]
	t.Data = make([]float64, n*w)
	for i := range t.Data {
		if f.items.DType.IsFloat() {
			t.Data[i] = rng.NormFloat64()
		} else {
			t.Data[i] = f.items.Data[rng.IntN(f.items.Len())]
		}
	}
	return t
}

// A batch split across threads gives the serial scores, the plan matches
// the interpreter on a large corpus, and Score does not allocate.
func TestThreadsAndAllocs(t *testing.T) {
	for _, name := range []string{"reference", "din17", "ids"} {
		f := loadFixture(t, name)
		items := bigCorpus(f, 1500)
		one, err := Compile(f.g, f.c, items, Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		f = loadFixture(t, name)
		four, err := Compile(f.g, f.c, items, Options{Threads: 4})
		if err != nil {
			t.Fatal(err)
		}
		rows := make([]item.Row, 1500)
		for i := range rows {
			rows[i] = item.Row((i * 7) % 1500)
		}
		in := fixtureUser(f, 2)
		a, b := make([]float32, len(rows)), make([]float32, len(rows))
		s1, s4 := one.NewScorer(), four.NewScorer()
		for _, s := range []*Scorer{s1, s4} {
			if err := s.Bind(in); err != nil {
				t.Fatal(err)
			}
		}
		if err := s1.Score(rows, a); err != nil {
			t.Fatal(err)
		}
		if err := s4.Score(rows, b); err != nil {
			t.Fatal(err)
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s: row %d: 1 thread %v, 4 threads %v", name, rows[i], a[i], b[i])
			}
		}
		// Against the interpreter on the first 300 rows.
		full := map[string]*onnx.Tensor{f.c.ItemInput: gatherRows(items, rows[:300])}
		for k, v := range in {
			full[k] = repeatTensor(v, 300)
		}
		ref, err := f.g.Run(full)
		if err != nil {
			t.Fatal(err)
		}
		if e := numtest.RelErr(a[:300], ref[f.g.Outputs[0].Name].Data); e > 1e-4 {
			t.Errorf("%s: plan vs interpreter on a large corpus: %.3g", name, e)
		}
		for _, s := range []*Scorer{s1, s4} {
			if allocs := testing.AllocsPerRun(5, func() { _ = s.Score(rows, a) }); allocs != 0 {
				t.Errorf("%s: Score allocates %.0f times per call", name, allocs)
			}
		}
	}
}

func gatherRows(t *onnx.Tensor, rows []item.Row) *onnx.Tensor {
	w := t.Len() / t.Shape[0]
	out := &onnx.Tensor{DType: t.DType, Shape: append([]int{len(rows)}, t.Shape[1:]...)}
	for _, r := range rows {
		out.Data = append(out.Data, t.Data[int(r)*w:int(r+1)*w]...)
	}
	return out
}

func repeatTensor(t *onnx.Tensor, n int) *onnx.Tensor {
	out := &onnx.Tensor{DType: t.DType, Shape: append([]int{n * t.Shape[0]}, t.Shape[1:]...)}
	for i := 0; i < n; i++ {
		out.Data = append(out.Data, t.Data...)
	}
	return out
}

// Float16 tables keep ≥ 99% of the float32 plan's top-200 on every
// fixture network, over a 5000-item corpus, for every fixture user. (The
// ids network has only 200 distinct items, and a larger corpus of repeats
// would make the top-k a matter of ties: there, the top-20 of its 200.)
func TestFloat16TablesTop200(t *testing.T) {
	for _, name := range fixtureNames {
		f := loadFixture(t, name)
		n, k := 5000, 200
		items := bigCorpus(f, n)
		if !f.items.DType.IsFloat() {
			n, k, items = f.items.Shape[0], 20, f.items
		}
		p32, err := Compile(f.g, f.c, items, Options{})
		if err != nil {
			t.Fatal(err)
		}
		f = loadFixture(t, name)
		p16, err := Compile(f.g, f.c, items, Options{Float16Tables: true})
		if err != nil {
			t.Fatal(err)
		}
		if b32, b16 := p32.Stats().TableBytes, p16.Stats().TableBytes; b16*2 != b32 {
			t.Errorf("%s: float16 tables hold %d bytes, float32 %d", name, b16, b32)
		}
		rows := item.AllRows(n)
		a, b := make([]float32, n), make([]float32, n)
		worst := 1.0
		for u := 0; u < f.scores.Shape[0]; u++ {
			in := fixtureUser(f, u)
			for _, c := range []struct {
				p   *Plan
				out []float32
			}{{p32, a}, {p16, b}} {
				s := c.p.NewScorer()
				if err := s.Bind(in); err != nil {
					t.Fatal(err)
				}
				if err := s.Score(rows, c.out); err != nil {
					t.Fatal(err)
				}
			}
			top := func(s []float32) map[int]bool {
				idx := make([]int, len(s))
				for i := range idx {
					idx[i] = i
				}
				sort.Slice(idx, func(i, j int) bool { return s[idx[i]] > s[idx[j]] })
				m := map[int]bool{}
				for _, i := range idx[:k] {
					m[i] = true
				}
				return m
			}
			ta, tb := top(a), top(b)
			common := 0
			for i := range ta {
				if tb[i] {
					common++
				}
			}
			worst = min(worst, float64(common)/float64(k))
		}
		t.Logf("%s: float16 tables keep %.1f%% of the float32 top-%d (worst user)", name, 100*worst, k)
		if worst < 0.99 {
			t.Errorf("%s: float16 tables keep only %.1f%% of the top-%d", name, 100*worst, k)
		}
	}
}

// Scorers of one multi-thread plan scoring at the same time (each split
// over the cores the others leave free, or serially when none is) give the
// serial scores, and the plan's count of Score calls in progress returns
// to zero.
func TestConcurrentScorers(t *testing.T) {
	f := loadFixture(t, "din17")
	items := bigCorpus(f, 1500)
	one, err := Compile(f.g, f.c, items, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	f = loadFixture(t, "din17")
	two, err := Compile(f.g, f.c, items, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	rows := item.AllRows(1500)
	want := make([][]float32, 3)
	for u := range want {
		s := one.NewScorer()
		if err := s.Bind(fixtureUser(f, u)); err != nil {
			t.Fatal(err)
		}
		want[u] = make([]float32, len(rows))
		if err := s.Score(rows, want[u]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for u := range want {
		s := two.NewScorer()
		if err := s.Bind(fixtureUser(f, u)); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			out := make([]float32, len(rows))
			for rep := 0; rep < 20; rep++ {
				if err := s.Score(rows, out); err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(out, want[u]) {
					t.Errorf("user %d, repetition %d: concurrent scores differ from serial ones", u, rep)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := two.scoring.Load(); n != 0 {
		t.Errorf("%d Score calls still counted in progress", n)
	}
}
