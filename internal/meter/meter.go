// Package meter counts the units of work a library has done and reports
// them through the library's progress callback (func(stage, done, total)),
// so that libraries report progress without drawing it; Logger gives a
// library the logger it reports to.
package meter

import (
	"log/slog"
	"sync/atomic"
)

// Logger is the logger a library reports to: l, or a logger that discards
// everything if l is nil (an Options.Log left unset).
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// Func is a library's progress callback: stage names the job, done is the
// count so far and total the count in all (0 if unknown). It may be called
// from several goroutines at once, so done values can arrive out of order.
type Func = func(stage string, done, total int64)

// Meter counts towards a total for one stage. A Meter with a nil Func does
// nothing. It is safe for concurrent use.
type Meter struct {
	fn    Func
	stage string
	total int64
	done  atomic.Int64
}

// New returns a Meter for stage reporting to fn (which may be nil).
func New(fn Func, stage string, total int64) *Meter {
	return &Meter{fn: fn, stage: stage, total: total}
}

// Add records n more units done and reports the new count.
func (m *Meter) Add(n int64) {
	if m == nil || m.fn == nil {
		return
	}
	m.fn(m.stage, m.done.Add(n), m.total)
}

// Set records the absolute count done and reports it.
func (m *Meter) Set(done int64) {
	if m == nil || m.fn == nil {
		return
	}
	m.done.Store(done)
	m.fn(m.stage, done, m.total)
}
