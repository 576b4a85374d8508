package engine

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime/pprof"
	"strings"
	"testing"
	"testing/synctest"

	"nann/internal/vec"
	"nann/item"
)

// testSetup is a small corpus with random weights and random users.
type testSetup struct {
	w     *Weights
	cates []int32
	users [][]float32 // comm_seq per user
	hist  []history
}

// history is a user's behaviours as BindIDs takes them.
type history struct {
	items []item.ID
	cates []int32
}

func newSetup(t testing.TB, numItems, numCates, numUsers int, seed uint64) *testSetup {
	t.Helper()
	w, err := RandomWeights(DefaultConfig(numItems, numCates), seed)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 99))
	ts := &testSetup{w: w, cates: make([]int32, numItems)}
	for i := range ts.cates {
		ts.cates[i] = int32(1 + r.IntN(numCates))
	}
	e := newEngine(w.Config, Float32, StoreHU, 1)
	e.itemEmb, e.cateEmb = w.ItemEmb, w.CateEmb
	for u := 0; u < numUsers; u++ {
		n := 1 + r.IntN(w.SeqLen) // some users have a full history, most are padded
		if u == 0 {
			n = w.SeqLen
		}
		items, cates := randomHistory(r, n, ts.cates)
		if u == 1 && n > 2 {
			items[n/2], cates[n/2] = item.Padding, 0 // a zero row inside the history
		}
		seq := make([]float32, w.CommSeqLen())
		if err := e.CommSeq(items, cates, seq); err != nil {
			t.Fatal(err)
		}
		ts.users = append(ts.users, seq)
		ts.hist = append(ts.hist, history{items, cates})
	}
	return ts
}

// kernelSet is the vec kernel selection named "avx512", "avx2" or "go"
// (each limited to what the CPU has).
func kernelSet(name string) vec.Kernels {
	k := vec.AvailableKernels()
	switch name {
	case "avx2":
		k.AVX512 = false
	case "go":
		k = vec.Kernels{}
	}
	return k
}

// TestMatchesReference is the precision contract: with float32 tables every
// item's engine score is within 1e-4 relative of the plain float64 forward,
// for the AVX-512, AVX2 and plain-Go kernels, serial and split across
// threads, in any row order.
func TestMatchesReference(t *testing.T) {
	ts := newSetup(t, 600, 30, 4, 1)
	ref := newRef(ts.w, ts.cates)
	for _, kern := range []string{"avx512", "avx2", "go"} {
		prev := vec.UseKernels(kernelSet(kern))
		asm := kern
		for _, threads := range []int{1, 2} {
			store := Layout(threads - 1) // hu with one thread, ev with two
			e, err := Compile(ts.w, ts.cates, Options{Threads: threads, Store: store})
			if err != nil {
				t.Fatal(err)
			}
			s := e.NewScorer()
			rows := item.AllRows(e.NumItems())
			rand.New(rand.NewPCG(5, 6)).Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
			out := make([]float32, len(rows))
			for u, seq := range ts.users {
				if err := s.BindSeq(seq); err != nil {
					t.Fatal(err)
				}
				// 29 rows first: a block of 30 padded rows exercises the
				// 6-row remainder after 12-row tiles.
				s.Score(rows[:29], out[:29])
				s.Score(rows[29:], out[29:])
				ref.bind(seq)
				want := make([]float64, len(rows))
				var rms float64
				for i, r := range rows {
					want[i] = ref.score(int(r))
					rms += want[i] * want[i]
				}
				rms = math.Sqrt(rms / float64(len(rows)))
				worst := 0.0
				for i := range rows {
					rel := math.Abs(float64(out[i])-want[i]) / math.Max(math.Abs(want[i]), 0.1*rms)
					worst = math.Max(worst, rel)
					if rel > 1e-4 {
						t.Fatalf("kernels=%v threads=%d store=%v user %d row %d: engine %v, reference %v (rel %.2g)", asm, threads, store, u, rows[i], out[i], want[i], rel)
					}
				}
				if u == 0 {
					t.Logf("kernels=%v threads=%d store=%v: worst relative error %.2g (score rms %.3g)", asm, threads, store, worst, rms)
				}
			}
		}
		vec.UseKernels(prev)
	}
}

// TestPlainBaseline checks the benchmarks' plain forward against the
// float64 reference, so that the speed comparison is between equals.
func TestPlainBaseline(t *testing.T) {
	ts := newSetup(t, 300, 20, 2, 31)
	p := newPlain(ts.w, ts.cates)
	ref := newRef(ts.w, ts.cates)
	rows := item.AllRows(300)
	out := make([]float32, len(rows))
	for _, seq := range ts.users {
		p.bind(seq)
		p.score(rows, out)
		ref.bind(seq)
		for i, r := range rows {
			want := ref.score(int(r))
			if d := math.Abs(float64(out[i]) - want); d > 1e-4*math.Max(1, math.Abs(want)) {
				t.Fatalf("row %d: plain %v, reference %v", r, out[i], want)
			}
		}
	}
}

// TestIndependentOfWeights changes every tensor of the Weights after
// Compile and expects the same scores: the engine keeps no reference.
func TestIndependentOfWeights(t *testing.T) {
	ts := newSetup(t, 200, 10, 1, 61)
	w2, err := RandomWeights(ts.w.Config, 62)
	if err != nil {
		t.Fatal(err)
	}
	w := *w2
	e, err := Compile(&w, ts.cates, Options{Store: StoreEV})
	if err != nil {
		t.Fatal(err)
	}
	rows := item.AllRows(200)
	before, after := make([]float32, 200), make([]float32, 200)
	s := e.NewScorer()
	bind := func() {
		if err := s.BindIDs(ts.hist[0].items, ts.hist[0].cates); err != nil {
			t.Fatal(err)
		}
	}
	bind()
	s.Score(rows, before)
	for _, v := range [][]float32{w.ItemEmb, w.CateEmb, w.KeyAct, w.QueryAct, w.Key[0].W, w.Key[0].B, w.Query[0].W,
		w.Query[0].B, w.ScoreAct[0], w.ScoreAct[1], w.ScoreAct[2], w.Score[3].W, w.Score[0].W, w.Score[0].B} {
		for i := range v {
			v[i] = 0.5
		}
	}
	bind()
	s.Score(rows, after)
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("row %d: score changed from %v to %v after the weights changed", i, before[i], after[i])
		}
	}
}

// TestBindSeqFloat16 binds a half-precision comm_seq and expects the scores of
// binding its float32 widening.
func TestBindSeqFloat16(t *testing.T) {
	ts := newSetup(t, 100, 10, 1, 71)
	e, err := Compile(ts.w, ts.cates, Options{})
	if err != nil {
		t.Fatal(err)
	}
	half := make([]uint16, len(ts.users[0]))
	vec.F32ToF16(half, ts.users[0])
	wide := make([]float32, len(half))
	vec.F16ToF32(wide, half)
	rows := item.AllRows(100)
	a, b := make([]float32, 100), make([]float32, 100)
	s := e.NewScorer()
	if err := s.BindSeqFloat16(half); err != nil {
		t.Fatal(err)
	}
	s.Score(rows, a)
	if err := s.BindSeq(wide); err != nil {
		t.Fatal(err)
	}
	s.Score(rows, b)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("row %d: BindSeqFloat16 %v, BindSeq of the widened values %v", i, a[i], b[i])
		}
	}
	if err := s.BindSeqFloat16(half[:10]); err == nil {
		t.Fatal("BindSeqFloat16 accepted 10 values")
	}
}

// TestConcurrentScorers runs several scorers with large (pool-split)
// batches on one engine at once and compares with a one-thread engine.
func TestConcurrentScorers(t *testing.T) {
	ts := newSetup(t, 3000, 30, 6, 81)
	par, err := Compile(ts.w, ts.cates, Options{Table: Float16, Threads: 3})
	if err != nil {
		t.Fatal(err)
	}
	ser, err := Compile(ts.w, ts.cates, Options{Table: Float16, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	rows := item.AllRows(3000)
	want := make([][]float32, len(ts.users))
	s := ser.NewScorer()
	for u, seq := range ts.users {
		if err := s.BindSeq(seq); err != nil {
			t.Fatal(err)
		}
		want[u] = make([]float32, len(rows))
		s.Score(rows, want[u])
	}
	errc := make(chan error, len(ts.users))
	for u := range ts.users {
		go func() {
			s := par.NewScorer()
			got := make([]float32, len(rows))
			for rep := 0; rep < 5; rep++ {
				if err := s.BindSeq(ts.users[(u+rep)%len(ts.users)]); err != nil {
					errc <- err
					return
				}
				s.Score(rows, got)
				for i := range got {
					if got[i] != want[(u+rep)%len(ts.users)][i] {
						errc <- fmt.Errorf("goroutine %d rep %d row %d: %v, serial engine %v", u, rep, i, got[i], want[(u+rep)%len(ts.users)][i])
						return
					}
				}
			}
			errc <- nil
		}()
	}
	for range ts.users {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// TestClose stops the scoring workers: after Close the goroutines the pool
// started are gone, scoring still gives the same logits (on the caller's
// goroutine) and a second Close is harmless. It runs in a synctest bubble,
// so "gone" is checked once every goroutine of the bubble has exited or
// blocks, not by polling the clock.
// poolWorkers counts the goroutines running a scoring worker of any
// engine. runtime.NumGoroutine would count the whole process, which other
// packages' and the runtime's goroutines change under -race.
func poolWorkers() int {
	var b bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&b, 2)
	return strings.Count(b.String(), "engine.(*Engine).startPool.func1(")
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newSetup(t, 3000, 30, 6, 81)
		before := poolWorkers()
		e, err := Compile(ts.w, ts.cates, Options{Threads: 4})
		if err != nil {
			t.Fatal(err)
		}
		rows := item.AllRows(3000)
		s := e.NewScorer()
		if err := s.BindSeq(ts.users[0]); err != nil {
			t.Fatal(err)
		}
		want := make([]float32, len(rows))
		s.Score(rows, want)
		// A split call no longer waits for workers that have not started
		// (the caller claims their blocks), so let the bubble's new
		// goroutines run until they block before counting them.
		synctest.Wait()
		if n := poolWorkers(); n < before+3 {
			t.Fatalf("%d goroutines after a split batch, %d before: the pool did not start", n, before)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // every goroutine of the bubble has exited or blocks
		if n := poolWorkers(); n > before {
			t.Fatalf("%d goroutines after Close, %d before", n, before)
		}
		got := make([]float32, len(rows))
		s.Score(rows, got)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("row %d after Close: %v, before %v", i, got[i], want[i])
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
