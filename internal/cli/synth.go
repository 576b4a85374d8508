package cli

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"time"

	"nann/internal/progress"
	"nann/internal/safefile"
	"nann/synth"
)

// SynthCmd writes a synthetic data set in the UserBehavior format.
type SynthCmd struct {
	Preset     string  `help:"World size: tiny (~100 K rows), small (demo, ~1.5 M), medium (~10 M), large (1 M items, ~40 M), full (real size, ~100 M)." default:"small" enum:"tiny,small,medium,large,full"`
	Out        string  `help:"Output CSV file, written atomically ('-' for stdout)." required:""`
	Users      int     `help:"Number of users (0: the preset's)."`
	Items      int     `help:"Number of items (0: the preset's)."`
	Categories int     `help:"Number of categories (0: the preset's)."`
	Interests  int     `help:"Number of latent interests (0: the preset's)."`
	MeanEvents float64 `help:"Mean behaviours per user (0: the preset's)."`
	Seed       int64   `help:"Random seed (negative: the preset's)." default:"-1"`
	Workers    int     `help:"Generating goroutines (0: all cores); does not change the output."`
	JSON       bool    `name:"json" help:"Print the summary as JSON."`
}

// synthReport is the --json summary.
type synthReport struct {
	Out       string       `json:"out"`
	Preset    string       `json:"preset"`
	Config    synth.Config `json:"config"`
	Stats     synth.Stats  `json:"stats"`
	Seconds   float64      `json:"seconds"`
	RowsPerS  float64      `json:"rows_per_s"`
	BytesPerS float64      `json:"bytes_per_s"`
}

func (c *SynthCmd) config() (synth.Config, error) {
	cfg, err := synth.Preset(c.Preset)
	if err != nil {
		return cfg, err
	}
	for _, o := range []struct {
		v   int
		dst *int
	}{{c.Users, &cfg.Users}, {c.Items, &cfg.Items}, {c.Categories, &cfg.Categories}, {c.Interests, &cfg.Interests}} {
		if o.v != 0 {
			*o.dst = o.v
		}
	}
	if c.MeanEvents != 0 {
		cfg.MeanEvents = c.MeanEvents
	}
	if c.Seed >= 0 {
		cfg.Seed = uint64(c.Seed)
	}
	cfg.Workers = c.Workers
	return cfg, cfg.Validate()
}

// Run generates the file.
func (c *SynthCmd) Run(g *Globals) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	slog.Info("synth", "preset", c.Preset, "users", cfg.Users, "items", cfg.Items,
		"categories", cfg.Categories, "interests", cfg.Interests, "mean_events", cfg.MeanEvents, "seed", cfg.Seed)
	bar := progress.New("synth rows", cfg.ExpectedRows())
	var st synth.Stats
	fill := func(w io.Writer) error {
		var err error
		st, err = synth.GenerateProgress(g.Context(), cfg, w, func(_, rows int64) { bar.Set(rows) })
		return err
	}
	start := time.Now()
	if c.Out == "-" {
		bw := bufio.NewWriterSize(g.Stdout(), 1<<20)
		if err = fill(bw); err == nil {
			err = bw.Flush()
		}
	} else {
		err = safefile.Write(c.Out, fill)
	}
	bar.Finish()
	if err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	rep := synthReport{Out: c.Out, Preset: c.Preset, Config: cfg, Stats: st, Seconds: el,
		RowsPerS: float64(st.Rows) / el, BytesPerS: float64(st.Bytes) / el}
	return c.report(g, rep)
}

func (c *SynthCmd) report(g *Globals, r synthReport) error {
	if c.Out == "-" { // stdout carries the data: summary to the log only
		slog.Info("synth done", "rows", r.Stats.Rows, "users", r.Stats.Users, "items_used", r.Stats.ItemsUsed,
			"seconds", r.Seconds, "rows_per_s", int64(r.RowsPerS))
		return nil
	}
	if c.JSON {
		return writeJSON(g.Stdout(), r)
	}
	st := r.Stats
	pct := func(n int64) float64 { return 100 * float64(n) / float64(max(st.Rows, 1)) }
	_, err := fmt.Fprintf(g.Stdout(),
		"wrote %s: %d rows, %d users, %d of %d items, %d of %d categories\n"+
			"behaviours: pv %.2f%%, cart %.2f%%, fav %.2f%%, buy %.2f%%\n"+
			"%.1f MB in %.2f s: %.2f M rows/s\n",
		r.Out, st.Rows, st.Users, st.ItemsUsed, r.Config.Items, st.CategoriesUsed, r.Config.Categories,
		pct(st.Behaviors.PV), pct(st.Behaviors.Cart), pct(st.Behaviors.Fav), pct(st.Behaviors.Buy),
		float64(st.Bytes)/1e6, r.Seconds, r.RowsPerS/1e6)
	return err
}
