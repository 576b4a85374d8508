package cli

import (
	"sync"

	"nann/internal/progress"
)

// bars draws the progress the libraries report through their Progress
// callbacks: one progress.Bar per stage, started at the stage's first call
// and finished when it reports done = total (or by finish).
type bars struct {
	mu sync.Mutex
	m  map[string]*stageBar
}

type stageBar struct {
	bar      *progress.Bar
	done     int64
	finished bool
}

func newBars() *bars { return &bars{m: map[string]*stageBar{}} }

// update is a library Progress callback. It is safe for concurrent use and
// ignores counts that arrive after a larger one.
func (b *bars) update(stage string, done, total int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.m[stage]
	if st == nil {
		st = &stageBar{bar: progress.New(stage, total)}
		b.m[stage] = st
	}
	if st.finished || done <= st.done {
		return
	}
	st.bar.Set(done)
	st.done = done
	if total > 0 && done >= total {
		st.bar.Finish()
		st.finished = true
	}
}

// finish ends the bars of stages that stopped before their total.
func (b *bars) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, st := range b.m {
		if !st.finished {
			st.bar.Finish()
			st.finished = true
		}
	}
}
