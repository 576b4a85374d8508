package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"time"

	"nann/bench"
	"nann/bundle"
	"nann/dataset"
	"nann/internal/safefile"
	"nann/serving"
)

// BenchCmd is `nann bench`. It runs every target at every concurrency in
// turn and prints each run's summary and a markdown table (or, with
// --json, one JSON document).
type BenchCmd struct {
	Target      []string      `help:"Targets, comma-separated: inproc:DIR (a bundle version directory or a base path), grpc:HOST:PORT, rest:http://HOST:PORT." required:"" sep:","`
	Model       string        `help:"Model name (model_spec.name, and the REST URL)." default:"nann"`
	Label       string        `name:"version-label" help:"Ask gRPC and REST targets for the version this label names (model_spec.version_label, /v1/models/NAME/labels/LABEL) instead of the newest."`
	Signature   string        `help:"Signature name." default:"serving_default"`
	Concurrency []int         `help:"Worker counts to run, comma-separated." default:"1" sep:","`
	QPS         float64       `name:"qps" help:"Open loop at this many requests per second, latency measured from each request's due time (0: closed loop, as fast as the workers go)." default:"0"`
	Duration    time.Duration `help:"Measured duration of each run." default:"10s"`
	Warmup      time.Duration `help:"Unrecorded warm-up before each run." default:"2s"`
	MaxQueue    int           `help:"Open loop: most requests waiting for a worker; more are dropped and counted (0: unbounded)." default:"0"`
	MaxRequests int64         `help:"Stop a run after this many requests, warm-up included (0: no limit)." default:"0"`
	Timeout     time.Duration `help:"Per-request timeout." default:"10s"`
	ReportEvery time.Duration `help:"Progress report period (0: none)." default:"5s"`

	Inputs     string  `help:"Request source: mock (random float16 comm_seq), dataset:DIR (real test users of a prepared dataset, sent as original item_ids/cate_ids, or as comm_seq with --embed-with), or npz:FILE (for an imported model: the users of a users.npz, one array per user-side input as nann score --users reads, sent as named inputs)." default:"mock"`
	EmbedWith  string  `help:"With dataset inputs: send comm_seq computed with the embedding tables of the bundle in this directory (a version directory or a model base path) instead of raw ids." type:"path"`
	InputCount int     `help:"Distinct inputs, sent in turn." default:"1000"`
	Seed       uint64  `help:"Seed for mock inputs and the choice of test users." default:"1"`
	CommSeqLen int     `name:"seq-dim" help:"comm_seq width of mock inputs." default:"3200"`
	LevelTopN  []int32 `name:"level-topn" help:"The 6 beam widths sent as level_topn." default:"100,200,200,200,200,200" sep:","`
	K          int     `help:"Answer size K (replaces level_topn[5]; 0 keeps it)." default:"0"`

	SwitchBase  string        `help:"Model base path of the server under test; with --switch-every, a new version (a hard-linked clone of the newest) is published there periodically." type:"path"`
	SwitchEvery time.Duration `help:"Version switch period during gRPC/REST runs (0: none)." default:"0"`
	SwapWindow  time.Duration `help:"Requests due within this time after a switch are summarised separately." default:"2s"`

	GRPCConns int    `name:"grpc-conns" help:"gRPC connections per target." default:"1"`
	Metrics   string `help:"Prometheus endpoint of the gRPC targets' server (e.g. http://127.0.0.1:8501/metrics), read for its CPU time and items scored; REST targets use their own /metrics."`
	JSON      bool   `help:"Print the reports as one JSON document."`
	Table     string `help:"Also write the markdown table to this file." type:"path"`
	Plot      string `help:"Write a PNG of latency over time to this file (suffixed -RUN-KIND-cN when there are several runs)." type:"path"`
}

// targetSpec is one parsed --target entry.
type targetSpec struct{ kind, addr string }

func parseTargets(list []string) ([]targetSpec, error) {
	var specs []targetSpec
	var errs []error
	for _, s := range list {
		kind, addr, ok := strings.Cut(strings.TrimSpace(s), ":")
		switch {
		case !ok || addr == "":
			errs = append(errs, fmt.Errorf("target %q: want inproc:DIR, grpc:HOST:PORT or rest:URL", s))
		case kind == "rest" && !strings.Contains(addr, "://"):
			specs = append(specs, targetSpec{kind, "http://" + addr})
		case kind == "inproc" || kind == "grpc" || kind == "rest":
			specs = append(specs, targetSpec{kind, addr})
		default:
			errs = append(errs, fmt.Errorf("target %q: unknown kind %q (inproc, grpc, rest)", s, kind))
		}
	}
	if len(specs) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no target"))
	}
	return specs, errors.Join(errs...)
}

// validate reports every problem with the flags at once.
func (c *BenchCmd) validate() ([]targetSpec, bench.Config, error) {
	specs, err := parseTargets(c.Target)
	errs := []error{err}
	if len(c.Concurrency) == 0 {
		errs = append(errs, errors.New("--concurrency: no value"))
	}
	cfg := c.config(1)
	for _, n := range c.Concurrency {
		cfg.Concurrency = n
		if err := cfg.Validate(); err != nil {
			errs = append(errs, err)
			break
		}
	}
	if len(c.LevelTopN) != 6 {
		errs = append(errs, fmt.Errorf("--level-topn: %d values, want 6", len(c.LevelTopN)))
	}
	for i, v := range c.LevelTopN {
		if v < 1 {
			errs = append(errs, fmt.Errorf("--level-topn: value %d at [%d] must be ≥ 1", v, i))
		}
	}
	if c.K < 0 {
		errs = append(errs, fmt.Errorf("--k %d is negative", c.K))
	}
	if (c.SwitchEvery > 0) != (c.SwitchBase != "") {
		errs = append(errs, errors.New("--switch-every and --switch-base go together"))
	}
	if c.SwitchEvery < 0 || c.SwapWindow <= 0 {
		errs = append(errs, fmt.Errorf("--switch-every %v must be ≥ 0 and --swap-window %v positive", c.SwitchEvery, c.SwapWindow))
	}
	return specs, cfg, errors.Join(errs...)
}

func (c *BenchCmd) config(concurrency int) bench.Config {
	cfg := bench.DefaultConfig()
	cfg.Concurrency = concurrency
	cfg.QPS = c.QPS
	cfg.Duration, cfg.Warmup = c.Duration, c.Warmup
	cfg.MaxQueue, cfg.MaxRequests = c.MaxQueue, c.MaxRequests
	cfg.Timeout, cfg.ReportEvery = c.Timeout, c.ReportEvery
	cfg.SwapWindow = c.SwapWindow
	return cfg
}

func (c *BenchCmd) levelTopN() [6]int32 {
	var t [6]int32
	copy(t[:], c.LevelTopN)
	if c.K > 0 {
		t[5] = int32(c.K)
	}
	return t
}

// inputs builds the request pool.
func (c *BenchCmd) inputs(ctx context.Context) ([]bench.Input, error) {
	topn := c.levelTopN()
	if path, ok := strings.CutPrefix(c.Inputs, "npz:"); ok {
		return npzInputs(path, c.InputCount, topn, c.EmbedWith)
	}
	if c.Inputs == "mock" {
		if c.EmbedWith != "" {
			return nil, errors.New("--embed-with needs --inputs dataset:DIR")
		}
		return bench.MockInputs(c.InputCount, c.CommSeqLen, topn, c.Seed)
	}
	dir, ok := strings.CutPrefix(c.Inputs, "dataset:")
	if !ok || dir == "" {
		return nil, fmt.Errorf("--inputs %q: want mock, dataset:DIR or npz:FILE", c.Inputs)
	}
	ds, err := dataset.Open(dir, dataset.OpenOptions{})
	if err != nil {
		return nil, fmt.Errorf("--inputs: %w", err)
	}
	defer ds.Close()
	if c.EmbedWith == "" {
		return bench.DatasetInputs(ds, c.InputCount, topn, c.Seed)
	}
	vdir, err := bench.VersionDir(c.EmbedWith)
	if err != nil {
		return nil, fmt.Errorf("--embed-with: %w", err)
	}
	b, err := bundle.Open(ctx, vdir)
	if err != nil {
		return nil, fmt.Errorf("--embed-with: %w", err)
	}
	defer b.Close()
	e := bundleEmbedder{b}
	return bench.EmbeddedInputs(ds, e, c.InputCount, topn, c.Seed)
}

// Run benchmarks every target at every concurrency.
func (c *BenchCmd) Run(g *Globals) error {
	specs, _, err := c.validate()
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	inputs, err := c.inputs(g.Context())
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	var sw *bench.VersionSwitcher
	if c.SwitchEvery > 0 {
		if sw, err = bench.NewVersionSwitcher(c.SwitchBase); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer func() {
			if err := sw.Cleanup(); err != nil {
				slog.Warn("removing the versions published for switching", "err", err)
			}
		}()
	}
	var reps []*bench.Report
	var runErr error
	for _, spec := range specs {
		var r []*bench.Report
		r, runErr = c.runTarget(g.Context(), spec, inputs, sw, g.Loader())
		reps = append(reps, r...)
		if runErr != nil {
			break
		}
	}
	return errors.Join(runErr, c.output(g, reps))
}

func (c *BenchCmd) openTarget(ctx context.Context, spec targetSpec, load serving.Loader) (bench.Target, error) {
	sc := bench.ServerConfig{Addr: spec.addr, Model: c.Model, VersionLabel: c.Label, Signature: c.Signature, Conns: c.GRPCConns}
	switch spec.kind {
	case "grpc":
		sc.MetricsURL = c.Metrics
		return bench.DialGRPC(sc)
	case "rest":
		return bench.DialREST(sc)
	}
	return bench.OpenBundle(ctx, spec.addr, load)
}

// runTarget runs one target at every concurrency; in-process targets
// load their model with load.
func (c *BenchCmd) runTarget(ctx context.Context, spec targetSpec, inputs []bench.Input, sw *bench.VersionSwitcher, load serving.Loader) ([]*bench.Report, error) {
	t, err := c.openTarget(ctx, spec, load)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	var reps []*bench.Report
	for _, n := range c.Concurrency {
		cfg := c.config(n)
		label := fmt.Sprintf("%s c=%d", t.Name(), n)
		cfg.OnInterval = func(iv bench.Interval) {
			slog.Info("bench progress", "run", label, "t_s", iv.Elapsed.Round(time.Millisecond).Seconds(), "qps", math.Round(iv.QPS()*10)/10,
				"ok", iv.OK, "errors", iv.Errors, "dropped", iv.Dropped, "p50_ms", ms3(iv.Latency.P50), "p99_ms", ms3(iv.Latency.P99), "max_ms", ms3(iv.Latency.Max))
		}
		if sw != nil && spec.kind != "inproc" {
			cfg.SwitchEvery, cfg.Switch = c.SwitchEvery, sw.Switch
		} else if sw != nil {
			slog.Warn("version switching applies to gRPC/REST targets; not switching during the in-process run", "run", label)
		}
		slog.Info("bench run", "run", label, "duration", c.Duration, "warmup", c.Warmup, "qps", c.QPS, "inputs", len(inputs))
		rep, err := bench.Run(ctx, cfg, t, inputs)
		if rep != nil {
			reps = append(reps, rep)
		}
		if err != nil {
			return reps, err
		}
	}
	return reps, nil
}

// bundleEmbedder computes comm_seq with a bundle's embedding tables.
type bundleEmbedder struct{ b *bundle.Bundle }

func (e bundleEmbedder) CommSeqLen() int { return e.b.Signature().CommSeqLen }

func (e bundleEmbedder) Embed(items, cates []int64, dst []float32) error {
	return e.b.CommSeqFromRaw(items, cates, dst)
}

// ms3 rounds a latency in ms to the microsecond for log lines.
func ms3(ms float64) float64 { return math.Round(ms*1e3) / 1e3 }

// output prints the reports and writes the table and plots.
func (c *BenchCmd) output(g *Globals, reps []*bench.Report) error {
	table := bench.MarkdownTable(reps)
	var errs []error
	if c.JSON {
		b, err := json.MarshalIndent(struct {
			Runs  []*bench.Report `json:"runs"`
			Table string          `json:"table_markdown"`
		}{reps, table}, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(g.Stdout(), string(b))
	} else {
		for _, r := range reps {
			fmt.Fprintln(g.Stdout(), r.String())
		}
		fmt.Fprint(g.Stdout(), table)
	}
	if c.Table != "" {
		errs = append(errs, safefile.WriteBytes(c.Table, []byte(table)))
	}
	if c.Plot != "" {
		for i, r := range reps {
			errs = append(errs, bench.WritePlot(plotPath(c.Plot, i, len(reps), r), r))
		}
	}
	return errors.Join(errs...)
}

// plotPath names run i's PNG.
func plotPath(path string, i, n int, r *bench.Report) string {
	if n == 1 {
		return path
	}
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s-%d-%s-c%d%s", strings.TrimSuffix(path, ext), i+1, r.Kind, r.Concurrency, ext)
}
