package cli

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"nann/dataset"
	"nann/internal/safefile"
)

// PrepareCmd converts a UserBehavior CSV into a prepared dataset.
type PrepareCmd struct {
	Input          string  `arg:"" help:"UserBehavior CSV (user,item,category,behavior,timestamp)." type:"existingfile"`
	Out            string  `short:"o" required:"" help:"Output dataset directory, replaced atomically when complete; an existing one must be a prepared dataset or empty."`
	MaxLength      int     `default:"${prepare_max_length}" help:"History length per sample."`
	TrainMinLength int     `default:"${prepare_train_min_length}" help:"First training position: samples at positions [train-min-length, len-1)."`
	TestMinLength  int     `default:"${prepare_test_min_length}" help:"Users with more events are eligible for test/validation; test position = this + floor((len-this)/2)."`
	NumTest        int     `default:"${prepare_num_test}" help:"Test users to draw (fewer if fewer are eligible)."`
	NumValid       int     `default:"${prepare_num_valid}" help:"Validation users to draw (fewer if fewer are eligible)."`
	Seed           uint64  `default:"${prepare_seed}" help:"Seed of the test/validation draw."`
	MaxHeldOut     float64 `name:"max-heldout" default:"${prepare_max_heldout}" help:"Cap on test+validation users as a fraction of the eligible users."`
	SkipBad        bool    `help:"Count and skip malformed lines instead of stopping at the first."`
	Workers        int     `default:"${prepare_workers}" help:"Parser goroutines (0 = all cores)."`
	TFRecord       string  `name:"tfrecord" help:"Also write the samples and items as TFRecord tf.train.Example files (reference feature names) into this directory."`
	JSON           bool    `help:"Print the dataset's meta.json and timing as JSON."`
}

// Run prepares the dataset and prints a summary.
func (c *PrepareCmd) Run(g *Globals) error {
	opt := dataset.Options{
		MaxLength: c.MaxLength, TrainMinLength: c.TrainMinLength, TestMinLength: c.TestMinLength,
		NumTest: c.NumTest, NumValid: c.NumValid, Seed: c.Seed, MaxHeldOut: c.MaxHeldOut, SkipBad: c.SkipBad, Workers: c.Workers,
		Log: slog.Default(),
	}
	bars := newBars()
	defer bars.finish()
	opt.Progress = bars.update
	if c.TFRecord != "" {
		if err := safefile.CheckOut(filepath.Clean(c.TFRecord), tfrecordKind); err != nil {
			return fmt.Errorf("--tfrecord: %w", err)
		}
	}
	start := time.Now()
	m, err := dataset.Prepare(g.Context(), c.Input, c.Out, opt)
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	if c.TFRecord != "" {
		if err := writeTFRecords(g, c.Out, c.TFRecord); err != nil {
			return err
		}
	}
	if c.JSON {
		return json.NewEncoder(g.Stdout()).Encode(struct {
			Meta       dataset.Meta `json:"meta"`
			Dir        string       `json:"dir"`
			Seconds    float64      `json:"seconds"`
			RowsPerSec float64      `json:"rows_per_sec"`
		}{m, c.Out, secs, float64(m.NumRows) / secs})
	}
	w := g.Stdout()
	fmt.Fprintf(w, "prepared %s -> %s in %.2fs (%.0f rows/s)\n", c.Input, c.Out, secs, float64(m.NumRows)/secs)
	fmt.Fprintf(w, "  rows %d (skipped bad lines %d), users %d, items %d, categories %d\n", m.NumRows, m.SkippedBad, m.NumUser, m.NumItems, m.NumCates)
	fmt.Fprintf(w, "  eligible users %d: test %d, validation %d; training users %d\n", m.NumEligibleUsers, m.NumTestUsers, m.NumValidUsers, m.NumTrainUsers)
	fmt.Fprintf(w, "  samples: train %d, test %d, validation %d\n", m.NumTrainSamples, m.NumTestSamples, m.NumValidSamples)
	return nil
}

// tfrecordKind recognises a directory of an earlier TFRecord export.
var tfrecordKind = safefile.Kind{Name: "TFRecord export", Markers: []string{"items.tfrecord", "train.tfrecord"}}

func writeTFRecords(g *Globals, dsDir, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if _, err := safefile.CleanStale(out, "", slog.Default()); err != nil {
		slog.Warn("prepare --tfrecord: cannot remove stale temporaries", "err", err)
	}
	d, err := dataset.Open(dsDir, dataset.OpenOptions{})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.WriteTFRecords(g.Context(), out); err != nil {
		return fmt.Errorf("tfrecord export to %s: %w", out, err)
	}
	return nil
}
