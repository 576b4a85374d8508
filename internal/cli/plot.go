package cli

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"gonum.org/v1/plot/vg"

	"nann/eval"
)

// PlotCmd draws the sweeps of several runs (each `nann eval --sweep`'s
// sweep.csv, e.g. one per adversarial eps) in one figure: a row per run,
// recall and coverage against items scored, beam retrieval vs SL2G vs the
// brute-force ceiling, with standard errors.
type PlotCmd struct {
	CSV   []string `name:"csv" required:"" sep:"none" help:"LABEL=PATH of a sweep.csv (nann eval --sweep), once per run, in the order of the rows; PATH alone labels the row with the path."`
	Out   string   `required:"" help:"PNG to write (atomically)."`
	K     int      `help:"Draw only this K (0: every K in the CSVs)."`
	MinPc float64  `name:"min-pct" help:"Leave out settings that score less than this % of the corpus (0: none)."`
	MaxPc float64  `name:"max-pct" help:"Leave out settings that score more than this % of the corpus (0: none)."`
}

// Run reads the CSVs and writes the figure.
func (c *PlotCmd) Run(g *Globals) error {
	// Replace only a PNG: --out naming some other file of the user's is refused.
	if b, err := os.ReadFile(c.Out); err == nil && !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		return fmt.Errorf("--out %s: refusing to replace a file that is not a PNG", c.Out)
	}
	var runs []eval.LabeledSweep
	for _, arg := range c.CSV {
		label, path, ok := strings.Cut(arg, "=")
		if !ok {
			label, path = arg, arg
		}
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("--csv %s: %w", arg, err)
		}
		pts, err := eval.ReadPointsCSV(f, path)
		f.Close()
		if err != nil {
			return fmt.Errorf("--csv %s: %w", arg, err)
		}
		var keep []eval.Point
		for _, p := range pts {
			pct := 100 * p.ScoredFraction
			if (c.K == 0 || p.K == c.K) && (c.MinPc == 0 || pct >= c.MinPc) && (c.MaxPc == 0 || pct <= c.MaxPc) {
				keep = append(keep, p)
			}
		}
		if len(keep) == 0 {
			return fmt.Errorf("--csv %s: no point left at k %d between %g%% and %g%% of the corpus", arg, c.K, c.MinPc, c.MaxPc)
		}
		runs = append(runs, eval.LabeledSweep{Label: label, Points: keep})
	}
	if err := eval.SavePointsPNG(c.Out, runs, 8*vg.Inch, 5*vg.Inch); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout(), "wrote %s: %d runs\n", c.Out, len(runs))
	return nil
}
