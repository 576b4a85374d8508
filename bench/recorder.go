package bench

import (
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram ranges: latencies in nanoseconds up to an hour, items scored
// up to 10^10.
const (
	maxLatencyNS   = int64(time.Hour)
	maxItemsScored = int64(1e10)
	// maxSeriesPoints bounds the latency time series.
	maxSeriesPoints = 400
	minSeriesStep   = 50 * time.Millisecond
)

// newLatencyHist returns a histogram of nanoseconds, resolving values
// below lowest ns only coarsely.
func newLatencyHist(lowest int64, sigFigs int) *hdr.Histogram {
	return hdr.New(lowest, maxLatencyNS, sigFigs)
}

// Latency summarises a latency histogram, in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
}

// latencyOf reads a histogram of nanoseconds.
func latencyOf(h *hdr.Histogram) Latency {
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	return Latency{
		Count: h.TotalCount(),
		Mean:  h.Mean() / 1e6,
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}

// durationNS clamps d to the histogram range.
func durationNS(d time.Duration) int64 {
	return min(max(int64(d), 0), maxLatencyNS)
}

// Dist summarises a distribution of counts. P50, P99 and Max are absent
// when only the mean is known (from a server's metrics).
type Dist struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	P50   int64   `json:"p50,omitempty"`
	P99   int64   `json:"p99,omitempty"`
	Max   int64   `json:"max,omitempty"`
}

// bucket is one step of the latency time series.
type bucket struct {
	lat                    *hdr.Histogram
	errors, dropped, total int64
}

// Point is one step of the latency time series: requests intended to be
// sent in [T, T+step) seconds after the warm-up.
type Point struct {
	T       float64 `json:"t"`
	OK      int64   `json:"ok"`
	Errors  int64   `json:"errors"`
	Dropped int64   `json:"dropped"`
	P50     float64 `json:"p50_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
}

// Interval is a periodic progress report over the last interval.
type Interval struct {
	Elapsed time.Duration // since the warm-up ended
	Length  time.Duration // of this interval
	OK      int64
	Errors  int64
	Dropped int64
	Latency Latency
}

// QPS is the interval's throughput of successful requests.
func (iv Interval) QPS() float64 {
	if iv.Length <= 0 {
		return 0
	}
	return float64(iv.OK) / iv.Length.Seconds()
}

// Swap is one version switch triggered during the run.
type Swap struct {
	N     int     `json:"n"`
	At    float64 `json:"at_s"`    // when the switch finished, seconds after the warm-up
	Took  float64 `json:"took_ms"` // how long the switch callback ran
	Error string  `json:"error,omitempty"`
}

// recorder collects the outcome of every request. It is safe for
// concurrent use. Requests intended before the window start (the warm-up)
// are counted but not recorded.
type recorder struct {
	mu          sync.Mutex
	windowStart time.Time
	windowEnd   time.Time
	step        time.Duration
	swapWindow  time.Duration

	total, swapLat, iv *hdr.Histogram
	items              *hdr.Histogram
	series             []bucket
	errs               map[string]int64
	swaps              []Swap
	swapTimes          []time.Time

	ok, okInWindow, idsSum  int64
	errCount, dropped       int64
	unsent, warmup, aborted int64
	ivOK, ivErrs, ivDropped int64
	ivStart                 time.Time
}

func newRecorder(windowStart time.Time, duration, swapWindow time.Duration) *recorder {
	step := max(minSeriesStep, duration/maxSeriesPoints)
	n := int((duration + step - 1) / step)
	return &recorder{
		windowStart: windowStart,
		windowEnd:   windowStart.Add(duration),
		step:        step,
		swapWindow:  swapWindow,
		total:       newLatencyHist(1, 3),
		swapLat:     newLatencyHist(1, 3),
		iv:          newLatencyHist(1, 3),
		items:       hdr.New(1, maxItemsScored, 3),
		series:      make([]bucket, n),
		errs:        map[string]int64{},
		ivStart:     windowStart,
	}
}

// bucketOf returns the series bucket of an intended send time, or nil.
func (r *recorder) bucketOf(intended time.Time) *bucket {
	i := int(intended.Sub(r.windowStart) / r.step)
	if i < 0 || i >= len(r.series) {
		return nil
	}
	b := &r.series[i]
	if b.lat == nil {
		b.lat = newLatencyHist(1000, 2)
	}
	return b
}

// record files one answered request: latency runs from the intended send
// time to the answer.
func (r *recorder) record(intended, done time.Time, res Result, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if intended.Before(r.windowStart) {
		r.warmup++
		return
	}
	b := r.bucketOf(intended)
	if b != nil {
		b.total++
	}
	if err != nil {
		r.errs[ErrorCode(err)]++
		r.errCount++
		r.ivErrs++
		if b != nil {
			b.errors++
		}
		return
	}
	ns := durationNS(done.Sub(intended))
	r.ok++
	r.ivOK++
	if !done.After(r.windowEnd) {
		r.okInWindow++
	}
	r.total.RecordValue(ns)
	r.iv.RecordValue(ns)
	if b != nil {
		b.lat.RecordValue(ns)
	}
	if r.inSwapWindow(intended) {
		r.swapLat.RecordValue(ns)
	}
	r.idsSum += int64(res.IDs)
	if res.ItemsScored >= 0 {
		r.items.RecordValue(min(int64(res.ItemsScored), maxItemsScored))
	}
}

func (r *recorder) inSwapWindow(t time.Time) bool {
	for i := len(r.swapTimes) - 1; i >= 0; i-- {
		s := r.swapTimes[i]
		if !t.Before(s) && t.Before(s.Add(r.swapWindow)) {
			return true
		}
	}
	return false
}

// drop files an open-loop request dropped because the queue was full.
func (r *recorder) drop(intended time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if intended.Before(r.windowStart) {
		r.warmup++
		return
	}
	r.dropped++
	r.ivDropped++
	if b := r.bucketOf(intended); b != nil {
		b.dropped++
	}
}

// leftover files an open-loop request still queued when the run ended.
func (r *recorder) leftover(intended time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !intended.Before(r.windowStart) {
		r.unsent++
	}
}

// abort files a request cut off because the run itself was cancelled.
func (r *recorder) abort() {
	r.mu.Lock()
	r.aborted++
	r.mu.Unlock()
}

// swap files a version switch that finished at done.
func (r *recorder) swap(n int, began, done time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Swap{N: n, At: done.Sub(r.windowStart).Seconds(), Took: float64(done.Sub(began).Microseconds()) / 1e3}
	if err != nil {
		s.Error = err.Error()
	} else {
		r.swapTimes = append(r.swapTimes, done)
	}
	r.swaps = append(r.swaps, s)
}

// interval returns the counts since the last call and starts a new interval.
func (r *recorder) interval(now time.Time) Interval {
	r.mu.Lock()
	defer r.mu.Unlock()
	iv := Interval{
		Elapsed: now.Sub(r.windowStart), Length: now.Sub(r.ivStart),
		OK: r.ivOK, Errors: r.ivErrs, Dropped: r.ivDropped, Latency: latencyOf(r.iv),
	}
	r.iv.Reset()
	r.ivOK, r.ivErrs, r.ivDropped, r.ivStart = 0, 0, 0, now
	return iv
}

// points returns the latency time series, up to the last non-empty step.
func (r *recorder) points() []Point {
	last := -1
	for i, b := range r.series {
		if b.total+b.dropped > 0 {
			last = i
		}
	}
	pts := make([]Point, 0, last+1)
	for i, b := range r.series[:last+1] {
		l := latencyOf(b.lat)
		pts = append(pts, Point{
			T: (time.Duration(i) * r.step).Seconds(), OK: l.Count, Errors: b.errors, Dropped: b.dropped,
			P50: l.P50, P99: l.P99, Max: l.Max,
		})
	}
	return pts
}
