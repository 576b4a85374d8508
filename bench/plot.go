package bench

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"nann/internal/safefile"
)

// minPlotMs is the floor of the log-scaled latency axis.
const minPlotMs = 0.001

// WritePlot writes a PNG of the report's latency over time (p50, p99 and
// max per series step, log scale) with each version switch as a vertical
// line. The file is written atomically.
func WritePlot(path string, rep *Report) error {
	if len(rep.Series) == 0 {
		return errors.New("plot: the report has no latency series (no request was answered)")
	}
	p, err := latencyPlot(rep)
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	wt, err := p.WriterTo(9*vg.Inch, 4.5*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return safefile.Write(path, func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	})
}

func latencyPlot(rep *Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, %s loop, concurrency %d: latency over time", rep.Target, rep.Mode, rep.Concurrency)
	p.X.Label.Text = "seconds after warm-up (request due time)"
	p.Y.Label.Text = "latency, ms (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	series := []struct {
		name string
		get  func(Point) float64
		c    color.RGBA
	}{
		{"p50", func(pt Point) float64 { return pt.P50 }, color.RGBA{B: 200, A: 255}},
		{"p99", func(pt Point) float64 { return pt.P99 }, color.RGBA{R: 230, G: 120, A: 255}},
		{"max", func(pt Point) float64 { return pt.Max }, color.RGBA{R: 200, A: 255}},
	}
	lo, top := math.Inf(1), minPlotMs
	for _, s := range series {
		var xys plotter.XYs
		for _, pt := range rep.Series {
			if pt.OK == 0 {
				continue
			}
			y := max(s.get(pt), minPlotMs)
			lo, top = min(lo, y), max(top, y)
			xys = append(xys, plotter.XY{X: pt.T + rep.SeriesStep/2, Y: y})
		}
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.Color = s.c
		l.Width = vg.Points(1.2)
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	// Room below the lowest line and above the highest, for the legend.
	p.Y.Min, p.Y.Max = max(lo/2, minPlotMs), top*4
	p.X.Min, p.X.Max = 0, max(rep.MeasuredSec, rep.SeriesStep*float64(len(rep.Series)))
	for i, sw := range rep.Swaps {
		l, err := plotter.NewLine(plotter.XYs{{X: sw.At, Y: p.Y.Min}, {X: sw.At, Y: top}})
		if err != nil {
			return nil, err
		}
		l.Color = color.RGBA{G: 150, A: 255}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		if i == 0 {
			p.Legend.Add("version switch", l)
		}
	}
	p.Add(plotter.NewGrid())
	return p, nil
}
