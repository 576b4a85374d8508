package cli

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"nann/dataset"
	"nann/internal/safefile"
	"nann/train"
)

// ExtractCmd runs the trained item network over every item.
type ExtractCmd struct {
	RunDir   string `name:"run" help:"Trained run directory." required:""`
	Out      string `help:"Output directory (default: the run directory); an existing one must be empty or hold an earlier extraction."`
	NoVerify bool   `name:"no-verify" help:"Skip the dataset's payload checksums when opening it (checked by default)."`
	JSON     bool   `name:"json" help:"Print the summary as JSON."`
}

// extractKind recognises a directory extract may write into: one holding
// an earlier extraction, or a run directory.
var extractKind = safefile.Kind{Name: "embeddings", Markers: []string{train.ItemEmbsFile, train.ItemIDsFile, train.ConfigFile}}

// Run extracts the embeddings.
func (c *ExtractCmd) Run(g *Globals) error {
	if c.Out != "" {
		if err := safefile.CheckOut(filepath.Clean(c.Out), extractKind); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	start := time.Now()
	run, err := train.OpenRun(c.RunDir)
	if err != nil {
		return err
	}
	run.Log = slog.Default()
	m, err := run.LoadModel()
	if err != nil {
		return err
	}
	ds, err := run.OpenDataset("", dataset.OpenOptions{NoVerify: c.NoVerify})
	if err != nil {
		return err
	}
	defer ds.Close()
	mc := run.Model
	out := c.Out
	if out == "" {
		out = c.RunDir
	}
	for _, name := range []string{train.ItemIDsFile, train.ItemEmbsFile} {
		if _, err := safefile.CleanStale(out, name, slog.Default()); err != nil {
			slog.Warn("extract: cannot remove stale temporaries", "err", err)
		}
	}
	bars := newBars()
	defer bars.finish()
	n, err := train.Extract(g.Context(), m, ds.ItemCate, mc.ItemDim, out, bars.update)
	if err != nil {
		return err
	}
	sum := struct {
		Out     string  `json:"out"`
		Items   int     `json:"items"`
		Dim     int     `json:"dim"`
		Seconds float64 `json:"seconds"`
	}{out, n, mc.ItemDim, time.Since(start).Seconds()}
	if c.JSON {
		return json.NewEncoder(g.Stdout()).Encode(sum)
	}
	_, err = fmt.Fprintf(g.Stdout(), "wrote %s/%s and %s/%s: %d items × %d (%.1fs)\n", out, train.ItemIDsFile, out, train.ItemEmbsFile, n, sum.Dim, sum.Seconds)
	return err
}
