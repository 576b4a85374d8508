package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ServerSample is a reading of a server's cumulative counters.
type ServerSample struct {
	// CPUSeconds is the server process's user+system CPU time.
	CPUSeconds float64
	// ItemsScoredSum and ItemsScoredCount are the server's running totals
	// of items scored and of request rows (zero when it has none).
	ItemsScoredSum, ItemsScoredCount float64
}

// ServerStats is implemented by targets that can read their server's
// counters; runs then report the server's CPU time and, when answers do
// not carry items_scored, the mean items scored from the server's totals.
type ServerStats interface {
	ServerSample(ctx context.Context) (ServerSample, error)
}

// Prometheus series read from a nann server's /metrics.
const (
	metricCPU        = "process_cpu_seconds_total"
	metricItemsSum   = "nann_serve_items_scored_sum"
	metricItemsCount = "nann_serve_items_scored_count"
	maxMetricsBytes  = 8 << 20
)

// scrapeMetrics reads the series above from a Prometheus text endpoint.
func scrapeMetrics(ctx context.Context, client *http.Client, url string) (ServerSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ServerSample{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return ServerSample{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ServerSample{}, fmt.Errorf("metrics %s: HTTP %d", url, resp.StatusCode)
	}
	return parseMetrics(io.LimitReader(resp.Body, maxMetricsBytes))
}

// parseMetrics picks the unlabelled series it knows from Prometheus text
// exposition; the CPU series is required.
func parseMetrics(r io.Reader) (ServerSample, error) {
	var s ServerSample
	found := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		var dst *float64
		switch name {
		case metricCPU:
			dst, found = &s.CPUSeconds, true
		case metricItemsSum:
			dst = &s.ItemsScoredSum
		case metricItemsCount:
			dst = &s.ItemsScoredCount
		default:
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(val + " ")[0], 64)
		if err != nil {
			return s, fmt.Errorf("metrics line %d: %s: %w", line, name, err)
		}
		*dst = v
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if !found {
		return s, fmt.Errorf("metrics: no %s series", metricCPU)
	}
	return s, nil
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// usageMark is a reading at one end of the measured window.
type usageMark struct {
	client    time.Duration
	server    ServerSample
	serverErr error
	taken     bool
}

func (r *runner) mark(ctx context.Context) usageMark {
	m := usageMark{client: cpuTime(), taken: true}
	if ss, ok := r.t.(ServerStats); ok {
		m.server, m.serverErr = ss.ServerSample(ctx)
	} else {
		m.serverErr = errNoStats
	}
	return m
}

var errNoStats = fmt.Errorf("target has no server statistics")

// Usage is the CPU time spent over the measured window.
type Usage struct {
	// ClientCPUSec is this process's CPU time: the whole cost of an
	// in-process run, the client's share of a gRPC or REST run.
	ClientCPUSec float64 `json:"client_cpu_s"`
	// ServerCPUSec is the server process's CPU time, when its metrics
	// could be read.
	ServerCPUSec *float64 `json:"server_cpu_s,omitempty"`
	// CPUPerRequestMs is (client + server) CPU per successful request.
	CPUPerRequestMs float64 `json:"cpu_ms_per_request"`
	// ServerStatsError says why the server's CPU time is missing.
	ServerStatsError string `json:"server_stats_error,omitempty"`
}

// fillUsage adds CPU use and, if the answers carried none, the server's
// mean items scored to rep.
func fillUsage(rep *Report, a, b usageMark) {
	if !a.taken || !b.taken {
		return
	}
	u := &Usage{ClientCPUSec: (b.client - a.client).Seconds()}
	total := u.ClientCPUSec
	switch {
	case a.serverErr == errNoStats:
	case a.serverErr != nil || b.serverErr != nil:
		u.ServerStatsError = fmt.Sprint(firstErr(a.serverErr, b.serverErr))
	default:
		s := b.server.CPUSeconds - a.server.CPUSeconds
		u.ServerCPUSec, total = &s, total+s
		n := b.server.ItemsScoredCount - a.server.ItemsScoredCount
		if rep.ItemsScored == nil && n > 0 {
			rep.ItemsScored = &Dist{Count: int64(n), Mean: (b.server.ItemsScoredSum - a.server.ItemsScoredSum) / n}
			rep.ItemsScoredFrom = "server metrics"
		}
	}
	if rep.OK > 0 {
		u.CPUPerRequestMs = total * 1e3 / float64(rep.OK)
	}
	rep.Usage = u
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
