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
	"gonum.org/v1/plot/vg/vgimg"

	"nann/internal/safefile"
)

// Point is one (search setting, K) point of a sweep: recall and coverage
// against work, each with its standard error over queries (Recall).
type Point struct {
	Beam           string   `json:"beam"`
	Method         string   `json:"method"`
	K              int      `json:"k"`
	Queries        int      `json:"queries"`
	Items          int      `json:"items"`
	Recall         float64  `json:"recall"`
	RecallSE       float64  `json:"recall_se"`
	ExactRecall    *float64 `json:"exact_recall"`
	ExactRecallSE  *float64 `json:"exact_recall_se"`
	Coverage       *float64 `json:"coverage"`
	CoverageSE     *float64 `json:"coverage_se"`
	GapSE          *float64 `json:"gap_se"`
	ScoredMean     float64  `json:"scored_mean"`
	ScoredP50      float64  `json:"scored_p50"`
	ScoredP99      float64  `json:"scored_p99"`
	ScoredFraction float64  `json:"scored_fraction"`
	LatencyP50     float64  `json:"latency_p50_ms"`
	LatencyP99     float64  `json:"latency_p99_ms"`
}

// Points flattens the sweep into one point per search setting and K, in the
// order of the settings, then of Ks.
func (s *SweepResult) Points() []Point {
	var pts []Point
	for _, r := range s.Reports {
		method := r.Method
		if method == "" {
			method = MethodBeam
		}
		for _, rc := range r.Recall {
			pts = append(pts, Point{
				Beam: r.Beam, Method: method, K: rc.K, Queries: r.Queries, Items: r.Items,
				Recall: rc.Beam, RecallSE: rc.BeamSE, ExactRecall: rc.Exact, ExactRecallSE: rc.ExactSE,
				Coverage: rc.Coverage, CoverageSE: rc.CoverageSE, GapSE: rc.GapSE,
				ScoredMean: r.Scored.Mean, ScoredP50: r.Scored.P50, ScoredP99: r.Scored.P99,
				ScoredFraction: r.ScoredFraction,
				LatencyP50:     r.BeamLatency.P50, LatencyP99: r.BeamLatency.P99,
			})
		}
	}
	return pts
}

var csvHeader = []string{"beam", "method", "k", "queries", "items", "recall", "recall_se", "exact_recall", "exact_recall_se",
	"coverage", "coverage_se", "gap_se", "scored_mean", "scored_p50", "scored_p99",
	"scored_fraction", "latency_p50_ms", "latency_p99_ms"}

// WriteCSV writes the points to w with a header row; the brute-force
// columns (exact_recall, exact_recall_se, coverage, coverage_se, gap_se) are
// empty when brute force was skipped.
func (s *SweepResult) WriteCSV(w io.Writer) error {
	return WritePointsCSV(w, s.Points())
}

// WritePointsCSV writes points as SweepResult.WriteCSV does.
func WritePointsCSV(w io.Writer, pts []Point) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }
	opt := func(x *float64) string {
		if x == nil {
			return ""
		}
		return f(*x)
	}
	for _, p := range pts {
		rec := []string{p.Beam, p.Method, strconv.Itoa(p.K), strconv.Itoa(p.Queries), strconv.Itoa(p.Items),
			f(p.Recall), f(p.RecallSE), opt(p.ExactRecall), opt(p.ExactRecallSE),
			opt(p.Coverage), opt(p.CoverageSE), opt(p.GapSE), f(p.ScoredMean), f(p.ScoredP50),
			f(p.ScoredP99), f(p.ScoredFraction), f(p.LatencyP50), f(p.LatencyP99)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadPointsCSV reads a sweep CSV written by WriteCSV (named name in
// errors), so that sweeps of several runs can be drawn together. Every
// problem names the line and column.
func ReadPointsCSV(r io.Reader, name string) ([]Point, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(csvHeader)
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], csvHeader) {
		return nil, fmt.Errorf("%s:1: header is not a sweep CSV's (want %v)", name, csvHeader)
	}
	var pts []Point
	var errs []error
	for li, rec := range recs[1:] {
		line := li + 2
		col := func(i int) string { return rec[i] }
		bad := func(i int, err error) {
			errs = append(errs, fmt.Errorf("%s:%d: column %s: %q: %w", name, line, csvHeader[i], rec[i], err))
		}
		num := func(i int) float64 {
			v, err := strconv.ParseFloat(col(i), 64)
			if err != nil {
				bad(i, err)
			} else if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				bad(i, errors.New("not a finite non-negative number"))
			}
			return v
		}
		opt := func(i int) *float64 {
			if col(i) == "" {
				return nil
			}
			v := num(i)
			return &v
		}
		integer := func(i int) int {
			v, err := strconv.Atoi(col(i))
			if err != nil || v < 1 {
				bad(i, errors.Join(err, errors.New("want a positive integer")))
			}
			return v
		}
		p := Point{Beam: col(0), Method: col(1), K: integer(2), Queries: integer(3), Items: integer(4),
			Recall: num(5), RecallSE: num(6), ExactRecall: opt(7), ExactRecallSE: opt(8),
			Coverage: opt(9), CoverageSE: opt(10), GapSE: opt(11), ScoredMean: num(12), ScoredP50: num(13),
			ScoredP99: num(14), ScoredFraction: num(15), LatencyP50: num(16), LatencyP99: num(17)}
		if p.Method != MethodBeam && p.Method != MethodSL2G {
			bad(1, fmt.Errorf("method is neither %s nor %s", MethodBeam, MethodSL2G))
		}
		pts = append(pts, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return pts, nil
}

// SaveCSV writes the CSV to path atomically.
func (s *SweepResult) SaveCSV(path string) error {
	if err := safefile.Write(path, s.WriteCSV); err != nil {
		return fmt.Errorf("eval: sweep csv: %w", err)
	}
	return nil
}

// Metrics a sweep plot can draw.
const (
	MetricRecall   = "recall"
	MetricCoverage = "coverage"
)

// Plot draws Recall@K (y) against the mean share of the corpus scored per
// query (x, in %, log scale), for each K and search method: beam retrieval
// as a point per setting with a line through its frontier (the settings that
// beat every cheaper one), SL2G as a dotted line through its ef values; every
// point with ±1 standard error bars; the brute-force ceiling of each K as a
// dashed horizontal line of the same colour.
func (s *SweepResult) Plot() (*plot.Plot, error) { return PlotPoints(s.Points(), MetricRecall, "") }

// PlotCoverage draws coverage@K (the fraction of brute force's top K each
// setting returns) like Plot draws recall; it needs brute force.
func (s *SweepResult) PlotCoverage() (*plot.Plot, error) {
	return PlotPoints(s.Points(), MetricCoverage, "")
}

// PlotPoints draws metric (MetricRecall or MetricCoverage) of the points as
// SweepResult.Plot describes; title "" makes one from the points.
func PlotPoints(pts []Point, metric, title string) (*plot.Plot, error) {
	if len(pts) == 0 {
		return nil, errors.New("eval: plot: empty sweep")
	}
	if metric != MetricRecall && metric != MetricCoverage {
		return nil, fmt.Errorf("eval: plot: unknown metric %q", metric)
	}
	value := func(p Point) (float64, float64, bool) {
		if metric == MetricRecall {
			return p.Recall, p.RecallSE, true
		}
		if p.Coverage == nil || p.CoverageSE == nil {
			return 0, 0, false
		}
		return *p.Coverage, *p.CoverageSE, true
	}
	var ks []int
	for _, pt := range pts {
		if !slices.Contains(ks, pt.K) {
			ks = append(ks, pt.K)
		}
	}
	slices.Sort(ks)
	p := plot.New()
	p.Title.Text = title
	if title == "" {
		what := "Recall@K"
		if metric == MetricCoverage {
			what = "Coverage@K (share of brute force's top K found)"
		}
		p.Title.Text = fmt.Sprintf("%s vs items scored (%d queries, %d items)", what, pts[0].Queries, pts[0].Items)
	}
	p.X.Label.Text = "items scored per query (mean, % of the corpus)"
	p.Y.Label.Text = metric + "@K (±1 s.e.)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = ticks125{}
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.ThumbnailWidth = vg.Points(30)
	p.Add(plotter.NewGrid())
	ymax, drawn := 0.0, 0
	for ki, k := range ks {
		col := plotutil.Color(ki)
		var ceiling, ceilingSE *float64
		for _, method := range []string{MethodBeam, MethodSL2G} {
			var xys plotter.XYs
			var errs plotter.YErrors
			for _, pt := range pts {
				v, se, ok := value(pt)
				if pt.K != k || pt.Method != method || !ok {
					continue
				}
				xys = append(xys, plotter.XY{X: max(100*pt.ScoredFraction, 1e-6), Y: v})
				errs = append(errs, struct{ Low, High float64 }{se, se})
				ymax = max(ymax, v+se)
				if pt.ExactRecall != nil {
					ceiling, ceilingSE = pt.ExactRecall, pt.ExactRecallSE
				}
			}
			if len(xys) == 0 {
				continue
			}
			order := make([]int, len(xys))
			for i := range order {
				order[i] = i
			}
			slices.SortStableFunc(order, func(a, b int) int {
				switch {
				case xys[a].X < xys[b].X:
					return -1
				case xys[a].X > xys[b].X:
					return 1
				}
				return 0
			})
			sx, se := make(plotter.XYs, len(xys)), make(plotter.YErrors, len(xys))
			for i, o := range order {
				sx[i], se[i] = xys[o], errs[o]
			}
			through := sx
			if method == MethodBeam {
				through = frontier(sx)
			}
			pts, err := plotter.NewScatter(sx)
			if err != nil {
				return nil, fmt.Errorf("eval: plot K=%d: %w", k, err)
			}
			line, err := plotter.NewLine(through)
			if err != nil {
				return nil, fmt.Errorf("eval: plot K=%d: %w", k, err)
			}
			bars, err := plotter.NewYErrorBars(struct {
				plotter.XYer
				plotter.YErrorer
			}{sx, se})
			if err != nil {
				return nil, fmt.Errorf("eval: plot K=%d: %w", k, err)
			}
			line.Color, pts.Color, bars.Color = col, col, col
			name := fmt.Sprintf("beam @%d (line: best at that work)", k)
			pts.Shape = draw.CircleGlyph{}
			if method == MethodSL2G {
				name = fmt.Sprintf("SL2G @%d (ef)", k)
				pts.Shape = draw.TriangleGlyph{}
				line.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
			}
			p.Add(line, bars, pts)
			p.Legend.Add(name, line, pts)
			drawn++
		}
		if ceiling != nil && metric == MetricRecall {
			c := *ceiling
			fn := plotter.NewFunction(func(float64) float64 { return c })
			fn.Color = col
			fn.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
			fn.Width = vg.Points(1.5)
			p.Add(fn)
			label := fmt.Sprintf("brute force @%d = %.3f", k, c)
			if ceilingSE != nil {
				label += fmt.Sprintf(" ± %.3f", *ceilingSE)
			}
			p.Legend.Add(label, fn)
			ymax = max(ymax, c)
		}
	}
	if drawn == 0 {
		return nil, fmt.Errorf("eval: plot: no point has %s (coverage needs brute force)", metric)
	}
	p.Y.Min = 0
	p.Y.Max = min(1.02, ymax*1.1+0.01)
	if metric == MetricRecall {
		// Recall rises to the right, under its ceilings: the legend goes top
		// left, above the curves, in headroom made for it.
		p.Legend.Top, p.Legend.Left = true, true
		p.Y.Max = min(1.02, ymax*(1.15+0.055*float64(len(ks)*3))+0.01)
	}
	p.Y.Tick.Marker = linearTicks{}
	return p, nil
}

// SavePNG renders recall and, when brute force ran, coverage side by side
// to path atomically as a width×height PNG (defaults 8×5 inches per panel
// when zero).
func (s *SweepResult) SavePNG(path string, width, height vg.Length) error {
	return SavePointsPNG(path, []LabeledSweep{{Points: s.Points()}}, width, height)
}

// LabeledSweep is one sweep (e.g. of one trained model) to draw in a figure.
type LabeledSweep struct {
	Label  string // e.g. "eps 3e-5"; "" for none
	Points []Point
}

// SavePointsPNG draws one row of panels per run, recall on the left and
// coverage on the right (when the run has it), and writes the PNG to path
// atomically; width and height are per panel (8×5 inches when zero).
func SavePointsPNG(path string, runs []LabeledSweep, width, height vg.Length) error {
	if width == 0 || height == 0 {
		width, height = 8*vg.Inch, 5*vg.Inch
	}
	if len(runs) == 0 {
		return errors.New("eval: plot: no runs")
	}
	var rows [][]*plot.Plot
	cols := 1
	for _, r := range runs {
		title := func(metric string) string {
			if r.Label == "" || len(r.Points) == 0 {
				return ""
			}
			return fmt.Sprintf("%s: %s@K vs items scored (%d queries, %d items)", r.Label, metric, r.Points[0].Queries, r.Points[0].Items)
		}
		rp, err := PlotPoints(r.Points, MetricRecall, title(MetricRecall))
		if err != nil {
			return fmt.Errorf("%s: %w", r.Label, err)
		}
		row := []*plot.Plot{rp}
		if cp, err := PlotPoints(r.Points, MetricCoverage, title(MetricCoverage)); err == nil {
			row = append(row, cp)
			cols = 2
		}
		rows = append(rows, row)
	}
	for i := range rows {
		for len(rows[i]) < cols {
			rows[i] = append(rows[i], nil)
		}
	}
	img := vgimg.New(width*vg.Length(cols), height*vg.Length(len(rows)))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(rows), Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align(rows, tiles, dc)
	for i, row := range rows {
		for j, pl := range row {
			if pl != nil {
				pl.Draw(canvases[i][j])
			}
		}
	}
	if err := safefile.Write(path, func(w io.Writer) error { _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); return err }); err != nil {
		return fmt.Errorf("eval: sweep png: %w", err)
	}
	return nil
}

// ticks125 labels a log axis at 1, 2 and 5 times each power of ten, with
// unlabelled minor ticks at the other integers (all labelled on an axis
// shorter than a decade).
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
			if m == 1 || m == 2 || m == 5 || hi < 10*lo { // a short axis labels every tick
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
