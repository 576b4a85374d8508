package bench

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// sleepTarget answers every request after d, like a server of known
// service time with unlimited parallelism.
func sleepTarget(d time.Duration) Target {
	return NewInProcess("sleep", PredictorFunc(func(ctx context.Context, in *Input) (Result, error) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return Result{IDs: int(in.LevelTopN[5]), ItemsScored: 1000}, nil
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}))
}

// serialTarget serves one request at a time, each taking d: a server of
// capacity 1/d QPS whatever the client's concurrency.
func serialTarget(d time.Duration) Target {
	sem := make(chan struct{}, 1)
	return NewInProcess("serial", PredictorFunc(func(ctx context.Context, in *Input) (Result, error) {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
		defer func() { <-sem }()
		time.Sleep(d)
		return Result{IDs: 1, ItemsScored: -1}, nil
	}))
}

func mockInputs(t *testing.T, n int) []Input {
	t.Helper()
	in, err := MockInputs(n, 8, DefaultLevelTopN, 1)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func quickConfig(conc int, d time.Duration) Config {
	cfg := DefaultConfig()
	cfg.Concurrency, cfg.Duration, cfg.Warmup, cfg.ReportEvery = conc, d, 50*time.Millisecond, 0
	return cfg
}

func TestRecorderPercentiles(t *testing.T) {
	start := time.Now()
	rec := newRecorder(start, 10*time.Second, time.Second)
	// 1000 requests of 1..1000 ms, plus warm-up ones that must not count.
	for i := 1; i <= 1000; i++ {
		at := start.Add(time.Duration(i) * time.Millisecond)
		rec.record(at, at.Add(time.Duration(i)*time.Millisecond), Result{IDs: 5, ItemsScored: i}, nil)
	}
	rec.record(start.Add(-time.Second), start.Add(time.Hour), Result{}, nil)
	l := latencyOf(rec.total)
	want := map[string][2]float64{"p50": {l.P50, 500}, "p90": {l.P90, 900}, "p99": {l.P99, 990}, "p99.9": {l.P999, 999}, "max": {l.Max, 1000}, "mean": {l.Mean, 500.5}}
	for name, g := range want {
		if math.Abs(g[0]-g[1]) > g[1]*0.002 {
			t.Errorf("%s = %.3f ms, want %.1f (±0.2%%)", name, g[0], g[1])
		}
	}
	if l.Count != 1000 || rec.warmup != 1 {
		t.Errorf("count %d warm-up %d, want 1000 and 1", l.Count, rec.warmup)
	}
	if m := rec.items.Mean(); math.Abs(m-500.5) > 1 {
		t.Errorf("items scored mean %.1f, want 500.5", m)
	}
}

// In a closed loop every worker always has one request outstanding, so by
// Little's law throughput × mean latency = workers. The open- and
// closed-loop tests run in a synctest bubble: the targets' sleeps and the
// schedule's timers use its fake clock, so they take no wall time and a
// busy machine cannot stretch them.
func TestClosedLoopThroughputScalesWithWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const service = 2 * time.Millisecond
		qps := map[int]float64{}
		for _, n := range []int{1, 4} {
			rep, err := Run(context.Background(), quickConfig(n, 600*time.Millisecond), sleepTarget(service), mockInputs(t, 4))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("c=%d: %.0f QPS (ideal %.0f), mean %.3f ms, p50 %.3f ms", n, rep.Throughput, float64(n)/service.Seconds(), rep.Latency.Mean, rep.Latency.P50)
			if little := rep.Throughput * rep.Latency.Mean / 1000; little < 0.85*float64(n) || little > 1.05*float64(n) {
				t.Errorf("c=%d: throughput × mean latency = %.2f, want about %d", n, little, n)
			}
			if rep.Latency.P50 < 2 {
				t.Errorf("c=%d: p50 %.3f ms, below the 2 ms service time", n, rep.Latency.P50)
			}
			if rep.ErrorCount() != 0 || rep.MeanIDs != 200 || rep.ItemsScored == nil || rep.ItemsScored.Mean != 1000 {
				t.Errorf("c=%d: errors %v, mean ids %.1f, items %+v", n, rep.Errors, rep.MeanIDs, rep.ItemsScored)
			}
			qps[n] = rep.Throughput
		}
		if r := qps[4] / qps[1]; r < 2 {
			t.Errorf("4 workers give %.2f× the throughput of 1, want about 4", r)
		}
	})
}

func TestOpenLoopBelowCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := quickConfig(4, time.Second)
		cfg.QPS = 200
		rep, err := Run(context.Background(), cfg, sleepTarget(2*time.Millisecond), mockInputs(t, 4))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s", rep)
		if math.Abs(rep.Throughput-200) > 20 {
			t.Errorf("throughput %.1f QPS, want 200", rep.Throughput)
		}
		// Below capacity there is no backlog: p50 stays near the service time
		// (the margins are from the wall-clock days of this test).
		if rep.Latency.P50 < 2 || rep.Latency.P50 > 25 {
			t.Errorf("p50 %.3f ms, want a bit over the 2 ms service time", rep.Latency.P50)
		}
		if rep.Dropped != 0 || rep.Mode != "open" {
			t.Errorf("dropped %d mode %q", rep.Dropped, rep.Mode)
		}
	})
}

// Above capacity, latency measured from the due time grows as the backlog
// does; a tool timing from the actual send would report ≈ 2 ms throughout.
func TestOpenLoopOverloadLatencyGrows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := quickConfig(1, time.Second)
		cfg.Warmup, cfg.QPS = 0, 1000 // capacity is 500 QPS
		rep, err := Run(context.Background(), cfg, serialTarget(2*time.Millisecond), mockInputs(t, 4))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s", rep)
		s := rep.Series
		if len(s) < 4 {
			t.Fatalf("series has %d points", len(s))
		}
		early, late := s[0].P50, s[len(s)-1].P50
		// The backlog grows by ~0.55 ms per ms: ~40 ms of queueing near the
		// start, ~500 ms near the end (margins from the wall-clock days of this test).
		if late < early+200 || late < 2*early {
			t.Errorf("p50 went from %.1f ms to %.1f ms; want it to grow with the backlog", early, late)
		}
		if rep.Latency.P99 < 200 {
			t.Errorf("p99 %.1f ms; at twice the capacity for 1 s requests wait hundreds of ms", rep.Latency.P99)
		}
		if rep.Unsent < 200 {
			t.Errorf("%d requests left queued at the end, want hundreds", rep.Unsent)
		}
		if got := rep.Requests + rep.Dropped + rep.Unsent + rep.Aborted; got != 1000 {
			t.Errorf("answered+dropped+unsent+aborted = %d, want the 1000 due", got)
		}
	})
}

func TestOpenLoopQueueBoundDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := quickConfig(1, time.Second)
		cfg.Warmup, cfg.QPS, cfg.MaxQueue = 0, 1000, 5
		rep, err := Run(context.Background(), cfg, serialTarget(2*time.Millisecond), mockInputs(t, 4))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s", rep)
		if rep.Dropped < 300 || rep.Dropped > 750 {
			t.Errorf("dropped %d, want about half of 1000", rep.Dropped)
		}
		// A request waits for at most 5 queued ones and the one in service.
		if rep.Latency.P99 > 80 {
			t.Errorf("p99 %.1f ms, want near (5+1)×2 ms with the queue bound, not hundreds", rep.Latency.P99)
		}
		if got := rep.Requests + rep.Dropped + rep.Unsent + rep.Aborted; got != 1000 {
			t.Errorf("answered+dropped+unsent+aborted = %d, want the 1000 due", got)
		}
	})
}

func TestErrorsCountedByCode(t *testing.T) {
	var calls atomic.Int64
	tg := NewInProcess("errors", PredictorFunc(func(ctx context.Context, in *Input) (Result, error) {
		calls.Add(1)
		switch in.LevelTopN[0] {
		case 1:
			return Result{}, status.Error(codes.ResourceExhausted, "overloaded")
		case 2:
			return Result{}, &HTTPError{Status: 429, Msg: "slow down"}
		case 3:
			return Result{}, &BadResponseError{Msg: "no top_k"}
		case 4:
			<-ctx.Done() // the per-request timeout
			return Result{}, ctx.Err()
		case 5:
			return Result{}, errors.New("boom")
		}
		return Result{IDs: 3, ItemsScored: -1}, nil
	}))
	var inputs []Input
	for c := range 6 {
		inputs = append(inputs, Input{ItemIDs: []int64{1, 2}, LevelTopN: [6]int32{int32(c), 1, 1, 1, 1, 1}})
	}
	inputs[0].LevelTopN[0] = 100
	cfg := quickConfig(1, 10*time.Second)
	cfg.Warmup, cfg.MaxRequests, cfg.Timeout = 0, 60, 5*time.Millisecond
	rep, err := Run(context.Background(), cfg, tg, inputs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"ResourceExhausted": 10, "HTTP 429": 10, "BadResponse": 10, "DeadlineExceeded": 10, "Unknown": 10}
	if len(rep.Errors) != len(want) {
		t.Errorf("errors %v, want %v", rep.Errors, want)
	}
	for k, v := range want {
		if rep.Errors[k] != v {
			t.Errorf("errors[%q] = %d, want %d (all: %v)", k, rep.Errors[k], v, rep.Errors)
		}
	}
	if rep.OK != 10 || rep.Requests != 60 || calls.Load() != 60 || rep.ItemsScored != nil {
		t.Errorf("ok %d requests %d calls %d items %v; want 10, 60, 60, unknown", rep.OK, rep.Requests, calls.Load(), rep.ItemsScored)
	}
	if rep.MeasuredSec > 5 {
		t.Errorf("a 60-request run measured %.1f s; MaxRequests should end it early", rep.MeasuredSec)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	rep, err := Run(ctx, quickConfig(2, time.Hour), sleepTarget(time.Millisecond), mockInputs(t, 2))
	if !errors.Is(err, context.DeadlineExceeded) || rep == nil {
		t.Fatalf("err %v, report %v", err, rep)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("took %v to stop", d)
	}
	if rep.ErrorCount() != 0 {
		t.Errorf("cancellation recorded as request errors: %v", rep.Errors)
	}
}

func TestVersionSwitchCallback(t *testing.T) {
	var n atomic.Int64
	cfg := quickConfig(2, 800*time.Millisecond)
	cfg.SwitchEvery, cfg.SwapWindow = 200*time.Millisecond, 100*time.Millisecond
	cfg.Switch = func(ctx context.Context, i int) error {
		if int64(i) != n.Add(1) {
			t.Errorf("switch %d out of order", i)
		}
		if i == 2 {
			return errors.New("disk full")
		}
		return nil
	}
	rep, err := Run(context.Background(), cfg, sleepTarget(time.Millisecond), mockInputs(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Swaps) != 3 || rep.Swaps[1].Error != "disk full" {
		t.Fatalf("swaps %+v, want 3 with the second failed", rep.Swaps)
	}
	for i, s := range rep.Swaps {
		if want := 0.2 * float64(i+1); s.At < want || s.At > want+0.1 {
			t.Errorf("switch %d at %.3f s, want %.1f", i+1, s.At, want)
		}
	}
	// Two good switches × 100 ms windows out of 800 ms: about 1/4 of the answers.
	frac := float64(rep.SwapLatency.Count) / float64(rep.OK)
	if frac < 0.15 || frac > 0.4 {
		t.Errorf("%.2f of the answers fall in swap windows, want about 0.25", frac)
	}
}

func TestConfigValidateReportsAll(t *testing.T) {
	cfg := Config{Concurrency: 0, QPS: -1, Duration: 0, MaxQueue: 3, Timeout: 0, SwitchEvery: time.Second}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"concurrency", "QPS", "duration", "timeout", "switch function"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
}

func TestMarkdownTableRatio(t *testing.T) {
	reps := []*Report{
		{Target: "inproc", Kind: "inproc", Mode: "closed", Concurrency: 1, Throughput: 1000, Usage: &Usage{CPUPerRequestMs: 1.5}},
		{Target: "grpc a", Kind: "grpc", Mode: "closed", Concurrency: 1, Throughput: 500, ItemsScored: &Dist{Mean: 17000}, Usage: &Usage{CPUPerRequestMs: 2.25, ServerCPUSec: new(1.0)}},
		{Target: "grpc a", Kind: "grpc", Mode: "closed", Concurrency: 2, Throughput: 900, Errors: map[string]int64{"Unavailable": 3}},
	}
	tab := MarkdownTable(reps)
	lines := strings.Split(strings.TrimSpace(tab), "\n")
	if len(lines) != 5 {
		t.Fatalf("table:\n%s", tab)
	}
	for i, want := range []string{"| 1.500 | 1.000 | 1.000 |", "| 17000 | 2.250 | 0.500 | 1.500 |", "| 3 | unknown | unknown | — | — |"} {
		if !strings.HasSuffix(lines[2+i], want) {
			t.Errorf("row %d %q does not end with %q", i, lines[2+i], want)
		}
	}
}
