package parallel

import "runtime"

// IdlePolls is the poll count the scoring pools (engine, plan) give Recv:
// about 110 µs on an idle 2-vCPU VM, where waking a parked thread takes
// 100–170 µs (p50), more in the tail, and a query's scoring rounds often
// come closer together than that, so a worker that polls joins the next
// round at once. Measured on a 1 M-item int8 bundle (BENCHMARKS.md, issue
// 17): in process +5–8% QPS at concurrency 1 for +5–9% CPU per request,
// unchanged at 2 and 8 (busy cores do not split, so their workers get no
// jobs to poll for). Longer polls also sped up a server at concurrency 1
// but cost 1–9% at 2.
const IdlePolls = 1000

// Parts is how many parts a batch of n items is split into when free cores
// (counting the caller's) are not busy with other batches: 1 (score it on
// the caller) unless at least two parts of minPart items fit, else as many
// parts of at least minPart as there are free cores. A batch that finds
// every core busy is not split: the parts would only wait for each other.
func Parts(free, n, minPart int) int {
	if free <= 1 || n < 2*minPart {
		return 1
	}
	return min(free, n/minPart)
}

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
