package bench

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Report is the outcome of one run. Latencies are in milliseconds and
// cover successful requests due in the measured window, from their due
// time (open loop) or send time (closed loop) to the answer.
type Report struct {
	Target      string  `json:"target"`
	Kind        string  `json:"kind"`
	Mode        string  `json:"mode"` // "closed" or "open"
	Concurrency int     `json:"concurrency"`
	TargetQPS   float64 `json:"target_qps,omitempty"`
	MaxQueue    int     `json:"max_queue,omitempty"`
	WarmupSec   float64 `json:"warmup_s"`
	DurationSec float64 `json:"duration_s"`
	// MeasuredSec is the measured window actually run (shorter than
	// DurationSec when MaxRequests or a cancellation ended the run early).
	MeasuredSec float64 `json:"measured_s"`

	// Requests answered (OK + errors) among those due in the window.
	Requests int64            `json:"requests"`
	OK       int64            `json:"ok"`
	Errors   map[string]int64 `json:"errors"`
	// Dropped: open-loop requests not sent because the queue was full.
	Dropped int64 `json:"dropped"`
	// Unsent: open-loop requests still queued when the run ended.
	Unsent int64 `json:"unsent"`
	// Aborted: requests cut off by the run's cancellation.
	Aborted        int64 `json:"aborted"`
	WarmupRequests int64 `json:"warmup_requests"`

	// Throughput is successful answers received in the window per second.
	Throughput float64 `json:"throughput_qps"`
	Latency    Latency `json:"latency_ms"`
	// ItemsScored per request, nil when neither the answers nor the
	// server's metrics report it.
	ItemsScored *Dist `json:"items_scored"`
	// ItemsScoredFrom is "response" or "server metrics" (mean only).
	ItemsScoredFrom string `json:"items_scored_from,omitempty"`
	// Usage is the CPU time spent in the measured window.
	Usage *Usage `json:"usage,omitempty"`
	// MeanIDs is the mean number of item ids answered.
	MeanIDs float64 `json:"mean_ids"`

	Swaps       []Swap   `json:"swaps,omitempty"`
	SwapLatency *Latency `json:"swap_latency_ms,omitempty"`
	SwapWindow  float64  `json:"swap_window_s,omitempty"`

	Series     []Point `json:"series"`
	SeriesStep float64 `json:"series_step_s"`
}

// ErrorCount is the number of failed requests.
func (rep *Report) ErrorCount() int64 {
	var n int64
	for _, c := range rep.Errors {
		n += c
	}
	return n
}

func (r *runner) report(finished time.Time) *Report {
	rec := r.rec
	rec.mu.Lock()
	defer rec.mu.Unlock()
	last := finished
	if last.After(r.end) {
		last = r.end
	}
	measured := last.Sub(r.windowStart)
	rep := &Report{
		Target: r.t.Name(), Kind: r.t.Kind(), Mode: "closed", Concurrency: r.cfg.Concurrency,
		WarmupSec: r.cfg.Warmup.Seconds(), DurationSec: r.cfg.Duration.Seconds(), MeasuredSec: max(0, measured.Seconds()),
		Requests: rec.ok + rec.errCount, OK: rec.ok, Errors: maps.Clone(rec.errs),
		Dropped: rec.dropped, Unsent: rec.unsent, Aborted: rec.aborted, WarmupRequests: rec.warmup,
		Latency: latencyOf(rec.total), Series: rec.points(), SeriesStep: rec.step.Seconds(),
	}
	if r.cfg.QPS > 0 {
		rep.Mode, rep.TargetQPS, rep.MaxQueue = "open", r.cfg.QPS, r.cfg.MaxQueue
	}
	if measured > 0 {
		rep.Throughput = float64(rec.okInWindow) / measured.Seconds()
	}
	if rec.ok > 0 {
		rep.MeanIDs = float64(rec.idsSum) / float64(rec.ok)
	}
	if h := rec.items; h.TotalCount() > 0 {
		rep.ItemsScored = &Dist{Count: h.TotalCount(), Mean: h.Mean(), P50: h.ValueAtQuantile(50), P99: h.ValueAtQuantile(99), Max: h.Max()}
		rep.ItemsScoredFrom = "response"
	}
	if r.cfg.SwitchEvery > 0 {
		rep.Swaps = slices.Clone(rec.swaps)
		l := latencyOf(rec.swapLat)
		rep.SwapLatency, rep.SwapWindow = &l, r.cfg.SwapWindow.Seconds()
	}
	return rep
}

// String is a human-readable summary.
func (rep *Report) String() string {
	var b strings.Builder
	mode := fmt.Sprintf("closed loop, %d workers", rep.Concurrency)
	if rep.Mode == "open" {
		mode = fmt.Sprintf("open loop at %g QPS, %d workers, queue %s", rep.TargetQPS, rep.Concurrency, queueText(rep.MaxQueue))
	}
	fmt.Fprintf(&b, "%s: %s, %.1f s measured after %.1f s warm-up\n", rep.Target, mode, rep.MeasuredSec, rep.WarmupSec)
	fmt.Fprintf(&b, "  throughput %.1f QPS; %d requests, %d ok, %d errors%s", rep.Throughput, rep.Requests, rep.OK, rep.ErrorCount(), errorsText(rep.Errors))
	if rep.Mode == "open" {
		fmt.Fprintf(&b, "; %d dropped, %d unsent", rep.Dropped, rep.Unsent)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "  latency ms: %s\n", latencyText(rep.Latency))
	items := "unknown (neither the answers nor the server's metrics report it)"
	if d := rep.ItemsScored; d != nil && rep.ItemsScoredFrom == "response" {
		items = fmt.Sprintf("mean %.0f, p50 %d, p99 %d, max %d", d.Mean, d.P50, d.P99, d.Max)
	} else if d != nil {
		items = fmt.Sprintf("mean %.0f (from the server's metrics)", d.Mean)
	}
	fmt.Fprintf(&b, "  items scored per request: %s; ids answered: mean %.1f\n", items, rep.MeanIDs)
	if u := rep.Usage; u != nil {
		server := "server unknown"
		if u.ServerCPUSec != nil {
			server = fmt.Sprintf("server %.2f s", *u.ServerCPUSec)
		}
		fmt.Fprintf(&b, "  CPU: client %.2f s, %s; %.3f ms per request\n", u.ClientCPUSec, server, u.CPUPerRequestMs)
	}
	if rep.SwapLatency != nil {
		failed := 0
		for _, s := range rep.Swaps {
			if s.Error != "" {
				failed++
			}
		}
		fmt.Fprintf(&b, "  %d version switches (%d failed); latency ms within %.1f s after a switch: %s\n", len(rep.Swaps), failed, rep.SwapWindow, latencyText(*rep.SwapLatency))
	}
	return b.String()
}

func queueText(q int) string {
	if q == 0 {
		return "unbounded"
	}
	return fmt.Sprint(q)
}

func latencyText(l Latency) string {
	return fmt.Sprintf("p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (mean %.3f, n=%d)", l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean, l.Count)
}

func errorsText(errs map[string]int64) string {
	if len(errs) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, errs[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// String is a one-line progress report.
func (iv Interval) String() string {
	l := iv.Latency
	return fmt.Sprintf("t=%5.1fs  %8.1f QPS  ok %d  errors %d  dropped %d  latency ms p50 %.3f p99 %.3f max %.3f",
		iv.Elapsed.Seconds(), iv.QPS(), iv.OK, iv.Errors, iv.Dropped, l.P50, l.P99, l.Max)
}

// MarkdownTable renders reports as a markdown table, one row per run, with
// each run's throughput and CPU time per request as ratios of the
// in-process run at the same concurrency and mode ("—" when there is
// none). On a shared machine the CPU ratio is the steadier of the two.
func MarkdownTable(reps []*Report) string {
	var b strings.Builder
	b.WriteString("| target | mode | concurrency | QPS | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors + dropped | items scored | CPU ms / request | QPS / in-process | CPU / in-process |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range reps {
		ratio, cpuRatio := "—", "—"
		base := inprocBaseline(reps, r)
		if base != nil && base.Throughput > 0 {
			ratio = fmt.Sprintf("%.3f", r.Throughput/base.Throughput)
		}
		if c, bc := cpuPerRequest(r), cpuPerRequest(base); c > 0 && bc > 0 {
			cpuRatio = fmt.Sprintf("%.3f", c/bc)
		}
		items := "unknown"
		if r.ItemsScored != nil {
			items = fmt.Sprintf("%.0f", r.ItemsScored.Mean)
		}
		cpu := "unknown"
		if c := cpuPerRequest(r); c > 0 {
			cpu = fmt.Sprintf("%.3f", c)
		}
		mode := r.Mode
		if mode == "open" {
			mode = fmt.Sprintf("open %g QPS", r.TargetQPS)
		}
		l := r.Latency
		fmt.Fprintf(&b, "| %s | %s | %d | %.1f | %.3f | %.3f | %.3f | %.3f | %.3f | %d | %s | %s | %s | %s |\n",
			r.Target, mode, r.Concurrency, r.Throughput, l.P50, l.P90, l.P99, l.P999, l.Max, r.ErrorCount()+r.Dropped, items, cpu, ratio, cpuRatio)
	}
	return b.String()
}

// cpuPerRequest is a run's whole CPU cost per request in ms, or 0 when
// unknown (a remote run whose server's CPU time could not be read).
func cpuPerRequest(r *Report) float64 {
	if r == nil || r.Usage == nil || (r.Usage.ServerCPUSec == nil && r.Kind != "inproc") {
		return 0
	}
	return r.Usage.CPUPerRequestMs
}

// inprocBaseline finds the in-process report matching r's load.
func inprocBaseline(reps []*Report, r *Report) *Report {
	for _, o := range reps {
		if o.Kind == "inproc" && o.Concurrency == r.Concurrency && o.Mode == r.Mode && o.TargetQPS == r.TargetQPS {
			return o
		}
	}
	return nil
}
