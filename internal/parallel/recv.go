package parallel

import "runtime"

// Recv receives from ch like `v, ok := <-ch`, but first polls ch up to
// polls times, yielding the processor between polls, before it blocks.
//
// A pool worker that blocks on its job channel as soon as it is idle must
// be woken (a futex wake of its thread, then the scheduler finding the
// goroutine) for the next job, tens of microseconds later; a query that
// splits each of its scoring rounds over the cores pays that on every
// round, and pays more when other goroutines (a server's transport) run in
// the same process. A worker that polls briefly is already running when
// the next round's job arrives. runtime.Gosched between polls lets any
// other runnable goroutine of the process go first, so polling takes only
// a processor nothing else in the process wants; polls bounds what it can
// cost another process (a poll is ~0.1–0.3 µs on an otherwise idle
// processor). The bound is a count, not a deadline, so that Recv also stops
// polling under a fake clock (testing/synctest), where time does not pass
// while a goroutine runs.
func Recv[T any](ch <-chan T, polls int) (T, bool) {
	select {
	case v, ok := <-ch:
		return v, ok
	default:
	}
	for range polls {
		runtime.Gosched()
		select {
		case v, ok := <-ch:
			return v, ok
		default:
		}
	}
	v, ok := <-ch
	return v, ok
}
