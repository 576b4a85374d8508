package synth

import (
	"context"
	"io"
	"strconv"
	"testing"
)

// BenchmarkGenerate measures rows/s for the small preset written to
// io.Discard (world building included). Compare with BenchmarkFormatOnly,
// which only formats rows of the same shape, run in the same session.
func BenchmarkGenerate(b *testing.B) { benchGenerate(b, 0) }

// BenchmarkGenerateOneWorker is BenchmarkGenerate on one goroutine.
func BenchmarkGenerateOneWorker(b *testing.B) { benchGenerate(b, 1) }

// benchGenerate runs the small preset with workers goroutines (0: the
// preset's own number) and reports rows/s.
func benchGenerate(b *testing.B, workers int) {
	cfg, err := Preset("small")
	if err != nil {
		b.Fatal(err)
	}
	if workers > 0 {
		cfg.Workers = workers
	}
	var rows int64
	for b.Loop() {
		st, err := Generate(context.Background(), cfg, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		rows += st.Rows
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkFormatOnly is the baseline: formatting rows with
// strconv.AppendInt on one goroutine, no generation.
func BenchmarkFormatOnly(b *testing.B) {
	buf := make([]byte, 0, 1<<20)
	var rows int64
	for b.Loop() {
		buf = buf[:0]
		for i := range int64(20000) {
			buf = strconv.AppendInt(buf, 1+i/75, 10)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, 1000003+i*7919%150000, 10)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, 2000003+i%250, 10)
			buf = append(buf, ",pv,"...)
			buf = strconv.AppendInt(buf, 1511539200+i, 10)
			buf = append(buf, '\n')
			if len(buf) > 1<<20-64 {
				buf = buf[:0]
			}
		}
		rows += 20000
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
