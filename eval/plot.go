package eval

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"nann/internal/safefile"
)

// Point is one (beam setting, K) point of a sweep: recall against work.
type Point struct {
	Beam           string   `json:"beam"`
	K              int      `json:"k"`
	Recall         float64  `json:"recall"`
	ExactRecall    *float64 `json:"exact_recall"`
	ScoredMean     float64  `json:"scored_mean"`
	ScoredP50      float64  `json:"scored_p50"`
	ScoredP99      float64  `json:"scored_p99"`
	ScoredFraction float64  `json:"scored_fraction"`
	LatencyP50     float64  `json:"latency_p50_ms"`
	LatencyP99     float64  `json:"latency_p99_ms"`
}

// Points flattens the sweep into one point per beam setting and K, in the
// order of the settings, then of Ks.
func (s *SweepResult) Points() []Point {
	var pts []Point
	for _, r := range s.Reports {
		for _, rc := range r.Recall {
			pts = append(pts, Point{
				Beam: r.Beam, K: rc.K, Recall: rc.Beam, ExactRecall: rc.Exact,
				ScoredMean: r.Scored.Mean, ScoredP50: r.Scored.P50, ScoredP99: r.Scored.P99,
				ScoredFraction: r.ScoredFraction,
				LatencyP50:     r.BeamLatency.P50, LatencyP99: r.BeamLatency.P99,
			})
		}
	}
	return pts
}

var csvHeader = []string{"beam", "k", "recall", "exact_recall", "scored_mean", "scored_p50", "scored_p99",
	"scored_fraction", "latency_p50_ms", "latency_p99_ms"}

// WriteCSV writes the points to w with a header row; exact_recall is empty
// when brute force was skipped.
func (s *SweepResult) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }
	for _, p := range s.Points() {
		exact := ""
		if p.ExactRecall != nil {
			exact = f(*p.ExactRecall)
		}
		rec := []string{p.Beam, strconv.Itoa(p.K), f(p.Recall), exact, f(p.ScoredMean), f(p.ScoredP50),
			f(p.ScoredP99), f(p.ScoredFraction), f(p.LatencyP50), f(p.LatencyP99)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// SaveCSV writes the CSV to path atomically.
func (s *SweepResult) SaveCSV(path string) error {
	if err := safefile.Write(path, s.WriteCSV); err != nil {
		return fmt.Errorf("eval: sweep csv: %w", err)
	}
	return nil
}

// Plot draws Recall@K (y) against the mean items scored per query (x, log
// scale): a point per beam setting and K, a line per K through the frontier
// (the settings that beat every cheaper one), and the brute-force ceiling of
// each K as a dashed horizontal line of the same colour.
func (s *SweepResult) Plot() (*plot.Plot, error) {
	if len(s.Reports) == 0 {
		return nil, errors.New("eval: plot: empty sweep")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Beam retrieval: recall vs items scored (%d queries, %d items)", s.Reports[0].Queries, s.Reports[0].Items)
	p.X.Label.Text = "items scored per query (mean)"
	p.Y.Label.Text = "recall@K"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = ticks125{}
	p.Legend.Top = false
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	ymax := 0.0
	for ki, k := range s.Ks {
		xys := make(plotter.XYs, 0, len(s.Reports))
		var ceiling *float64
		for _, r := range s.Reports {
			rc := r.Recall[ki]
			xys = append(xys, plotter.XY{X: max(r.Scored.Mean, 1), Y: rc.Beam})
			ceiling = rc.Exact
			ymax = max(ymax, rc.Beam)
		}
		slices.SortStableFunc(xys, func(a, b plotter.XY) int {
			switch {
			case a.X < b.X:
				return -1
			case a.X > b.X:
				return 1
			}
			return 0
		})
		col := plotutil.Color(ki)
		pts, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, fmt.Errorf("eval: plot K=%d: %w", k, err)
		}
		line, err := plotter.NewLine(frontier(xys))
		if err != nil {
			return nil, fmt.Errorf("eval: plot K=%d: %w", k, err)
		}
		line.Color, pts.Color = col, col
		pts.Shape = draw.CircleGlyph{}
		p.Add(line, pts)
		p.Legend.Add(fmt.Sprintf("beam R@%d (line: best at that work)", k), line, pts)
		if ceiling != nil {
			c := *ceiling
			fn := plotter.NewFunction(func(float64) float64 { return c })
			fn.Color = col
			fn.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			fn.Width = vg.Points(1.5)
			p.Add(fn)
			p.Legend.Add(fmt.Sprintf("brute force R@%d", k), fn)
			ymax = max(ymax, c)
		}
	}
	p.Y.Min = 0
	p.Y.Max = min(1, ymax*1.1+0.01)
	p.Y.Tick.Marker = linearTicks{}
	return p, nil
}

// SavePNG renders the plot to path atomically as a width×height PNG
// (defaults 8×5 inches when zero).
func (s *SweepResult) SavePNG(path string, width, height vg.Length) error {
	if width == 0 || height == 0 {
		width, height = 8*vg.Inch, 5*vg.Inch
	}
	p, err := s.Plot()
	if err != nil {
		return err
	}
	wt, err := p.WriterTo(width, height, "png")
	if err != nil {
		return fmt.Errorf("eval: plot: %w", err)
	}
	if err := safefile.Write(path, func(w io.Writer) error { _, err := wt.WriteTo(w); return err }); err != nil {
		return fmt.Errorf("eval: sweep png: %w", err)
	}
	return nil
}

// ticks125 labels a log axis at 1, 2 and 5 times each power of ten, with
// unlabelled minor ticks at the other integers.
type ticks125 struct{}

func (ticks125) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0 && hi > lo) {
		return nil
	}
	var ts []plot.Tick
	for dec := math.Pow(10, math.Floor(math.Log10(lo))); dec <= hi; dec *= 10 {
		for m := 1; m <= 9; m++ {
			v := float64(m) * dec
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// linearTicks labels a linear axis every 1, 2 or 5 times a power of ten,
// the step that gives 5 to 10 labels, with an unlabelled minor tick halfway
// between (gonum's default gives as few as two labels on a 0–0.3 axis).
type linearTicks struct{}

func (linearTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return nil
	}
	step := math.Pow(10, math.Floor(math.Log10((hi-lo)/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if (hi-lo)/(m*step) < 10 {
			step *= m
			break
		}
	}
	digits := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	var ts []plot.Tick
	for i := math.Ceil(lo/step*2 - 1e-9); i*step/2 <= hi+1e-9*step; i++ {
		v := i * step / 2
		if v == 0 {
			v = 0 // not -0, which would print as "-0.00"
		}
		t := plot.Tick{Value: v}
		if int64(i)%2 == 0 {
			t.Label = strconv.FormatFloat(v, 'f', digits, 64)
		}
		ts = append(ts, t)
	}
	return ts
}

// frontier keeps the points (sorted by x) whose y beats every point before.
func frontier(xys plotter.XYs) plotter.XYs {
	var out plotter.XYs
	for _, xy := range xys {
		if len(out) == 0 || xy.Y > out[len(out)-1].Y {
			out = append(out, xy)
		}
	}
	return out
}
