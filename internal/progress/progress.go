// Package progress reports the advance of long jobs: a bar with an ETA when
// stderr is a terminal, periodic slog lines otherwise.
package progress

import (
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Bar tracks progress towards a total. It is safe for concurrent use.
type Bar struct {
	mu       sync.Mutex
	what     string
	total    int64
	done     int64
	start    time.Time
	last     time.Time
	interval time.Duration
	bar      *progressbar.ProgressBar
}

// LogInterval is how often a Bar logs when stderr is not a terminal.
var LogInterval = 10 * time.Second

// New starts a progress report for a job of total units (0 if unknown).
func New(what string, total int64) *Bar {
	b := &Bar{what: what, total: total, start: time.Now(), interval: LogInterval}
	b.last = b.start
	if term.IsTerminal(int(os.Stderr.Fd())) {
		b.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetDescription(what),
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return b
}

// Add records n more units done.
func (b *Bar) Add(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	if b.bar != nil {
		b.bar.Add64(n)
		return
	}
	if now := time.Now(); now.Sub(b.last) >= b.interval {
		b.last = now
		b.log(now)
	}
}

// Set records the absolute number of units done.
func (b *Bar) Set(done int64) {
	b.mu.Lock()
	d := done - b.done
	b.mu.Unlock()
	b.Add(d)
}

func (b *Bar) log(now time.Time) {
	el := now.Sub(b.start)
	attrs := []any{"done", b.done, "elapsed", el.Round(time.Second)}
	if b.total > 0 {
		attrs = append(attrs, "total", b.total, "pct", float64(int(1000*float64(b.done)/float64(b.total)))/10)
		if b.done > 0 {
			eta := time.Duration(float64(el) * float64(b.total-b.done) / float64(b.done))
			attrs = append(attrs, "eta", eta.Round(time.Second))
		}
	}
	if s := el.Seconds(); s > 0 {
		attrs = append(attrs, "per_s", int64(float64(b.done)/s))
	}
	slog.Info(b.what, attrs...)
}

// Finish ends the report.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar != nil {
		b.bar.Finish()
		return
	}
	b.log(time.Now())
}
