package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one benchmark run. Start from DefaultConfig.
type Config struct {
	// Concurrency is the number of workers: in the closed loop each sends
	// its next request when the previous one is answered; in the open
	// loop it bounds the requests in flight.
	Concurrency int
	// QPS, when positive, selects the open loop: requests are due at
	// exact 1/QPS intervals and latency runs from the due time. Zero
	// selects the closed loop (as fast as the workers go).
	QPS float64
	// Warmup is run first and not recorded; Duration is measured.
	Warmup, Duration time.Duration
	// MaxQueue bounds, in the open loop, the requests due but waiting for
	// a free worker; requests due while it is full are dropped and
	// counted. Zero leaves the queue unbounded (up to 1M entries, 32 MB).
	MaxQueue int
	// MaxRequests, when positive, stops the run after that many requests
	// (warm-up included), even before the duration has passed.
	MaxRequests int64
	// Timeout bounds each request.
	Timeout time.Duration
	// ReportEvery is the period of OnInterval calls (0: none).
	ReportEvery time.Duration
	// OnInterval, if set, receives periodic progress reports.
	OnInterval func(Interval)
	// SwitchEvery, when positive, calls Switch every SwitchEvery during
	// the measured part, with n = 1, 2, ...; requests due within
	// SwapWindow after each switch are summarised separately.
	SwitchEvery time.Duration
	Switch      func(ctx context.Context, n int) error
	SwapWindow  time.Duration
}

// Limits of a Config.
const (
	MaxConcurrency = 4096
	MaxQPS         = 1e7
	MaxDuration    = 24 * time.Hour
	maxOpenQueue   = 1 << 20
)

// DefaultConfig returns a 10 s closed-loop run with one worker after a
// 2 s warm-up.
func DefaultConfig() Config {
	return Config{
		Concurrency: 1,
		Warmup:      2 * time.Second,
		Duration:    10 * time.Second,
		Timeout:     10 * time.Second,
		ReportEvery: 5 * time.Second,
		SwapWindow:  2 * time.Second,
	}
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Concurrency < 1 || c.Concurrency > MaxConcurrency {
		bad("concurrency %d outside [1, %d]", c.Concurrency, MaxConcurrency)
	}
	if math.IsNaN(c.QPS) || c.QPS < 0 || c.QPS > MaxQPS {
		bad("target QPS %v outside [0, %g] (0 = closed loop)", c.QPS, MaxQPS)
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		bad("duration %v outside (0, %v]", c.Duration, MaxDuration)
	}
	if c.Warmup < 0 || c.Warmup > MaxDuration {
		bad("warm-up %v outside [0, %v]", c.Warmup, MaxDuration)
	}
	if c.MaxQueue < 0 || c.MaxQueue > maxOpenQueue {
		bad("max queue %d outside [0, %d]", c.MaxQueue, maxOpenQueue)
	}
	if c.MaxQueue > 0 && c.QPS == 0 {
		bad("max queue %d needs an open loop (a target QPS); the closed loop has no queue", c.MaxQueue)
	}
	if c.MaxRequests < 0 {
		bad("max requests %d is negative", c.MaxRequests)
	}
	if c.Timeout <= 0 || c.Timeout > time.Hour {
		bad("request timeout %v outside (0, 1h]", c.Timeout)
	}
	if c.ReportEvery < 0 {
		bad("report interval %v is negative", c.ReportEvery)
	}
	if c.SwitchEvery < 0 {
		bad("switch interval %v is negative", c.SwitchEvery)
	}
	if (c.SwitchEvery > 0) != (c.Switch != nil) {
		bad("version switching needs both an interval (%v) and a switch function", c.SwitchEvery)
	}
	if c.SwitchEvery > 0 && c.SwapWindow <= 0 {
		bad("swap window %v must be positive when switching versions", c.SwapWindow)
	}
	return errors.Join(errs...)
}

// Run benchmarks t with the inputs, sent in turn, and returns the report.
// It stops by itself after Warmup+Duration (plus the time in-flight
// requests take, at most Timeout), after MaxRequests, or when ctx is
// cancelled, in which case it returns the partial report and ctx's error.
func Run(ctx context.Context, cfg Config, t Target, inputs []Input) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("benchmark config: %w", err)
	}
	if len(inputs) == 0 {
		return nil, errors.New("benchmark: no inputs")
	}
	prepared := make([]any, len(inputs))
	for i := range inputs {
		p, err := t.Prepare(&inputs[i])
		if err != nil {
			return nil, fmt.Errorf("benchmark %s: input %d: %w", t.Name(), i, err)
		}
		prepared[i] = p
	}
	r := &runner{cfg: cfg, t: t, prepared: prepared}
	r.start = time.Now()
	r.windowStart = r.start.Add(cfg.Warmup)
	r.end = r.windowStart.Add(cfg.Duration)
	r.rec = newRecorder(r.windowStart, cfg.Duration, cfg.SwapWindow)
	runCtx, cancel := context.WithDeadline(ctx, r.end.Add(cfg.Timeout+time.Second))
	defer cancel()

	stop := make(chan struct{})
	var bg sync.WaitGroup
	if cfg.Warmup == 0 {
		r.startMark = r.mark(runCtx)
	} else {
		bg.Go(func() { r.markAtWindowStart(runCtx, stop) })
	}
	if cfg.ReportEvery > 0 && cfg.OnInterval != nil {
		bg.Go(func() { r.reportLoop(stop) })
	}
	if cfg.SwitchEvery > 0 {
		bg.Go(func() { r.switchLoop(runCtx, stop) })
	}
	if cfg.QPS > 0 {
		r.openLoop(runCtx)
	} else {
		r.closedLoop(runCtx)
	}
	finished := time.Now()
	close(stop)
	bg.Wait()
	endMark := r.mark(context.WithoutCancel(ctx))
	rep := r.report(finished)
	fillUsage(rep, r.startMark, endMark)
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("benchmark %s interrupted: %w", t.Name(), err)
	}
	return rep, nil
}

type runner struct {
	cfg                     Config
	t                       Target
	prepared                []any
	rec                     *recorder
	start, windowStart, end time.Time
	seq                     atomic.Int64
	startMark               usageMark // CPU and server counters at the window start
}

// markAtWindowStart takes the start usage mark when the warm-up ends.
func (r *runner) markAtWindowStart(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTimer(time.Until(r.windowStart))
	defer t.Stop()
	select {
	case <-stop:
	case <-ctx.Done():
	case <-t.C:
		r.startMark = r.mark(ctx)
	}
}

// send runs request i, due at intended, and records it.
func (r *runner) send(ctx context.Context, i int64, intended time.Time) {
	reqCtx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	res, err := r.t.Do(reqCtx, r.prepared[i%int64(len(r.prepared))])
	cancel()
	done := time.Now()
	if err != nil && ctx.Err() != nil {
		r.rec.abort() // the run was cancelled or overran its hard deadline
		return
	}
	r.rec.record(intended, done, res, err)
}

// closedLoop runs Concurrency workers, each sending back to back.
func (r *runner) closedLoop(ctx context.Context) {
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				now := time.Now()
				if !now.Before(r.end) {
					return
				}
				i := r.seq.Add(1) - 1
				if r.cfg.MaxRequests > 0 && i >= r.cfg.MaxRequests {
					return
				}
				r.send(ctx, i, now)
			}
		})
	}
	wg.Wait()
}

// job is an open-loop request: its number and due time.
type job struct {
	i  int64
	at time.Time
}

// openLoop schedules request i at start + i/QPS into a bounded queue that
// Concurrency workers drain; a request due while the queue is full is
// dropped. Requests still queued at the end are counted as unsent.
func (r *runner) openLoop(ctx context.Context) {
	capacity := r.cfg.MaxQueue
	if capacity == 0 {
		total := math.Ceil(r.cfg.QPS*(r.cfg.Warmup+r.cfg.Duration).Seconds()) + 1
		capacity = int(min(total, maxOpenQueue))
	}
	queue := make(chan job, capacity)
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() {
			for j := range queue {
				if ctx.Err() != nil || !time.Now().Before(r.end) {
					r.rec.leftover(j.at)
					continue
				}
				r.send(ctx, j.i, j.at)
			}
		})
	}
	r.dispatch(ctx, queue)
	close(queue)
	wg.Wait()
}

// dispatch enqueues requests at their due times until the end.
func (r *runner) dispatch(ctx context.Context, queue chan<- job) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	perReq := float64(time.Second) / r.cfg.QPS
	for i := int64(0); r.cfg.MaxRequests == 0 || i < r.cfg.MaxRequests; i++ {
		at := r.start.Add(time.Duration(float64(i) * perReq))
		if !at.Before(r.end) {
			return
		}
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		select {
		case queue <- job{i: i, at: at}:
		default:
			r.rec.drop(at)
		}
	}
}

// reportLoop calls OnInterval every ReportEvery after the warm-up.
func (r *runner) reportLoop(stop <-chan struct{}) {
	wait := time.NewTimer(time.Until(r.windowStart))
	defer wait.Stop()
	select {
	case <-stop:
		return
	case <-wait.C:
	}
	r.rec.interval(time.Now()) // discard anything filed before the window
	tick := time.NewTicker(r.cfg.ReportEvery)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			r.cfg.OnInterval(r.rec.interval(now))
		}
	}
}

// switchLoop triggers a version switch every SwitchEvery after the
// warm-up, until the end.
func (r *runner) switchLoop(ctx context.Context, stop <-chan struct{}) {
	timer := time.NewTimer(time.Until(r.windowStart.Add(r.cfg.SwitchEvery)))
	defer timer.Stop()
	for n := 1; ; n++ {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if !time.Now().Before(r.end) {
			return
		}
		began := time.Now()
		err := r.cfg.Switch(ctx, n)
		r.rec.swap(n, began, time.Now(), err)
		timer.Reset(r.cfg.SwitchEvery)
	}
}
