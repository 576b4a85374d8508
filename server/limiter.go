package server

import (
	"context"
	"sync"
	"sync/atomic"
)

// limiter admits at most concurrent+queue requests at a time, of which at
// most concurrent run (hold a slot) while the rest wait for one; beyond
// that it refuses at once, so overload is answered quickly instead of
// queueing forever. Admission is a ticket taken before the request's body
// is read: a refused request costs no memory, and a queued one holds its
// unread body in the transport, not decoded.
type limiter struct {
	slots     chan struct{}
	maxAdmit  int64
	admitted  atomic.Int64 // tickets outstanding
	waitCount atomic.Int64 // tickets waiting for a slot
}

func newLimiter(concurrent, queue int) *limiter {
	return &limiter{slots: make(chan struct{}, concurrent), maxAdmit: int64(concurrent) + int64(queue)}
}

// ticket is one admitted request. It is released exactly once, whoever
// calls release first (the handler, or the end of a gRPC stream whose
// handler never ran).
type ticket struct {
	l        *limiter
	mu       sync.Mutex
	slot     bool // holds a slot
	released bool
}

// reserve admits a request without waiting, or returns errOverloaded.
func (l *limiter) reserve() (*ticket, error) {
	if l.admitted.Add(1) > l.maxAdmit {
		l.admitted.Add(-1)
		return nil, errOverloaded
	}
	return &ticket{l: l}, nil
}

// run takes a slot, waiting for one until ctx is done.
func (t *ticket) run(ctx context.Context) error {
	select {
	case t.l.slots <- struct{}{}:
	default:
		t.l.waitCount.Add(1)
		select {
		case t.l.slots <- struct{}{}:
			t.l.waitCount.Add(-1)
		case <-ctx.Done():
			t.l.waitCount.Add(-1)
			return ctx.Err()
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.released { // released meanwhile (stream ended): give the slot back
		<-t.l.slots
		return context.Canceled
	}
	t.slot = true
	return nil
}

// release gives back the slot (if held) and the admission; later calls do
// nothing.
func (t *ticket) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.released {
		return
	}
	t.released = true
	if t.slot {
		<-t.l.slots
	}
	t.l.admitted.Add(-1)
}

// acquire admits a request and waits for its slot; call release on the
// returned ticket after a nil error.
func (l *limiter) acquire(ctx context.Context) (*ticket, error) {
	t, err := l.reserve()
	if err != nil {
		return nil, err
	}
	if err := t.run(ctx); err != nil {
		t.release()
		return nil, err
	}
	return t, nil
}

// inFlight returns how many requests hold a slot.
func (l *limiter) inFlight() int { return len(l.slots) }

// waiting returns how many admitted requests wait for a slot.
func (l *limiter) waiting() int64 { return l.waitCount.Load() }
