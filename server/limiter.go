package server

import (
	"context"
	"sync/atomic"
)

// limiter admits at most cap(slots) concurrent requests and lets at most
// maxQueue more wait; beyond that it rejects at once, so overload is
// answered quickly instead of queueing forever.
type limiter struct {
	slots    chan struct{}
	maxQueue int64
	waiting  atomic.Int64
}

func newLimiter(concurrent, queue int) *limiter {
	return &limiter{slots: make(chan struct{}, concurrent), maxQueue: int64(queue)}
}

// acquire takes a slot, waiting in the queue if there is room, until ctx
// is done. Call release after a nil return.
func (l *limiter) acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	if l.waiting.Add(1) > l.maxQueue {
		l.waiting.Add(-1)
		return errOverloaded
	}
	defer l.waiting.Add(-1)
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *limiter) release() { <-l.slots }

// inFlight returns how many requests hold a slot.
func (l *limiter) inFlight() int { return len(l.slots) }
