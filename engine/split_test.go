package engine

import (
	"nann/item"
	"testing"
)

// TestSplitDoesNotWaitForIdleWorkers: a split Score call hands blocks to
// the pool but never waits for a worker that has not started (in a server
// its core may be taken by another process). Here the pool's workers are
// never started at all: the call must still finish, on the caller alone,
// with the logits of an unsplit call. The jobs left in the queue are then
// served by a worker started late, while the same Scorer scores another
// user: the stale jobs must claim nothing of the new call, whose logits
// must again match the unsplit ones.
func TestSplitDoesNotWaitForIdleWorkers(t *testing.T) {
	ts := newSetup(t, 3000, 30, 6, 82)
	e, err := Compile(ts.w, ts.cates, Options{Threads: 4})
	if err != nil {
		t.Fatal(err)
	}
	serial, err := Compile(ts.w, ts.cates, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	stalled := make(chan job, 4*e.threads)
	e.pool.once.Do(func() { e.pool.jobs = stalled }) // a pool whose workers never run
	rows := item.AllRows(3000)
	want := func(user int) []float32 {
		s := serial.NewScorer()
		if err := s.BindSeq(ts.users[user]); err != nil {
			t.Fatal(err)
		}
		out := make([]float32, len(rows))
		s.Score(rows, out)
		return out
	}
	check := func(what string, got, want []float32) {
		t.Helper()
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: row %d scored %v, unsplit %v", what, i, got[i], want[i])
			}
		}
	}
	s := e.NewScorer()
	if err := s.BindSeq(ts.users[0]); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, len(rows))
	s.Score(rows, got) // would block forever if it waited for the workers
	check("workers stalled", got, want(0))
	if len(stalled) == 0 {
		t.Fatal("the batch was not offered to the pool: the test does not exercise the split")
	}

	// Late workers pick up the stale jobs while a new call runs.
	done := make(chan struct{})
	defer close(done)
	for range e.threads - 1 {
		go func() {
			b := newBlock(e.cfg, e.width, e.lpad)
			for {
				select {
				case j := <-stalled:
					if j.s.sh.scoreClaimed(j.s, b, j.gen, j.blocks) {
						j.s.sh.fin <- struct{}{}
					}
				case <-done:
					return
				}
			}
		}()
	}
	for user := 1; user < len(ts.users); user++ {
		if err := s.BindSeq(ts.users[user]); err != nil {
			t.Fatal(err)
		}
		s.Score(rows, got)
		check("late workers", got, want(user))
	}
}
