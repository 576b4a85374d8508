// Package parallel runs the iterations of a loop on a bounded number of
// goroutines: the one fan-out pattern of the module.
package parallel

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Workers is w, or GOMAXPROCS if w <= 0.
func Workers(w int) int {
	if w <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return w
}

// For calls fn(ctx, i) for every i in [0, n) on min(Workers(workers), n)
// goroutines, each taking the next unclaimed index, so the iterations of
// one goroutine run in increasing order. fn gets a context that is
// cancelled as soon as an iteration fails or ctx is done; iterations not yet
// started are then skipped. For returns the error of the lowest failing
// index (so a run that fails reports the same error whatever the
// scheduling, provided fn fails deterministically), else ctx's error if it
// ended the loop early, else nil. A panic in fn is not recovered.
func For(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	return ForEach(ctx, n, workers, func() struct{} { return struct{}{} },
		func(ctx context.Context, _ struct{}, i int) error { return fn(ctx, i) })
}

// ForEach is For with per-goroutine state: each goroutine calls newState
// once, before its first iteration, and passes the result to each of its
// iterations (scratch buffers, a scorer bound to one query at a time).
func ForEach[S any](ctx context.Context, n, workers int, newState func() S, fn func(ctx context.Context, s S, i int) error) error {
	if n <= 0 {
		return ctx.Err()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next   atomic.Int64
		mu     sync.Mutex
		failed = -1
		first  error
		wg     sync.WaitGroup
	)
	for range min(Workers(workers), n) {
		wg.Go(func() {
			var s S
			started := false
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if !started {
					s, started = newState(), true
				}
				if err := fn(ctx, s, i); err != nil {
					mu.Lock()
					if failed < 0 || i < failed {
						failed, first = i, err
					}
					mu.Unlock()
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return context.Cause(ctx)
}
