package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"nann/bench"
	"nann/bundle"
	"nann/dataset"
	"nann/eval"
	"nann/hnsw"
	"nann/internal/safefile"
	"nann/server"
	"nann/train"
)

// DemoCmd runs the whole pipeline on a synthetic world and prints a report.
type DemoCmd struct {
	Dir         string        `default:"nann-demo" help:"Working directory for every artefact; a second run reuses what is built."`
	Preset      string        `default:"small" enum:"tiny,small,medium" help:"Synthetic world size."`
	Fresh       bool          `help:"Rebuild everything instead of reusing finished steps."`
	MaxSamples  int64         `name:"max-samples" help:"Training samples (0: the demo profile's)."`
	EvalUsers   int           `name:"eval-users" default:"500" help:"Test users in the beam vs brute-force evaluation."`
	BenchFor    time.Duration `name:"bench-duration" default:"5s" help:"Measured time of each benchmark (in-process, gRPC, REST)."`
	Concurrency int           `default:"2" help:"Concurrent clients in the benchmarks."`
	JSON        bool          `name:"json" help:"Print the report as JSON."`
}

// demoReport is everything the demo measured, with where it put things.
type demoReport struct {
	Dir       string          `json:"dir"`
	Seconds   float64         `json:"seconds"`
	Steps     []demoStep      `json:"steps"`
	Data      dataset.Meta    `json:"dataset"`
	Train     *train.Report   `json:"train"`
	Eval      *eval.Report    `json:"eval"`
	Bench     []*bench.Report `json:"bench"`
	Artefacts []artefact      `json:"artefacts"`
}

type demoStep struct {
	Name    string  `json:"name"`
	Reused  bool    `json:"reused"`
	Seconds float64 `json:"seconds"`
}

type artefact struct {
	What, Path string
}

// paths of the demo's artefacts.
type demoPaths struct {
	csv, data, run, index, bundles string
}

func (c *DemoCmd) paths() demoPaths {
	return demoPaths{
		csv: filepath.Join(c.Dir, "userbehavior.csv"), data: filepath.Join(c.Dir, "dataset"),
		run: filepath.Join(c.Dir, "run"), index: filepath.Join(c.Dir, "index"), bundles: filepath.Join(c.Dir, "bundles"),
	}
}

// demoKind recognises a demo directory: one holding only the demo's
// artefacts (and our temporaries), the only kind --fresh removes.
var demoKind = safefile.Kind{Name: "demo", Entries: []string{"userbehavior.csv", "dataset", "run", "index", "bundles"}}

// Run executes the pipeline, step by step.
func (c *DemoCmd) Run(g *Globals) error {
	start := time.Now()
	if err := safefile.CheckOut(filepath.Clean(c.Dir), demoKind); err != nil {
		return fmt.Errorf("--dir: %w", err)
	}
	if c.Fresh {
		if err := os.RemoveAll(c.Dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return err
	}
	p := c.paths()
	rep := &demoReport{Dir: c.Dir}
	if err := c.build(g, p, rep); err != nil {
		return err
	}
	if err := c.serveAndBench(g, p, rep); err != nil {
		return err
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.Artefacts = []artefact{
		{"synthetic log", p.csv}, {"prepared dataset", p.data}, {"trained run (checkpoints, metrics, curves.png)", p.run},
		{"item embeddings", filepath.Join(p.run, train.ItemEmbsFile)}, {"HNSW index (graph.hnsw + reference .npy layout)", p.index},
		{"serving bundle", filepath.Join(p.bundles, bundle.DefaultExportOptions().Name)},
	}
	if c.JSON {
		return writeJSON(g.Stdout(), rep)
	}
	printDemoReport(g.Stdout(), rep)
	return nil
}

// build runs the offline steps, reusing finished ones.
func (c *DemoCmd) build(g *Globals, p demoPaths, rep *demoReport) error {
	trainArgs := []string{"--run", p.run, "--data", p.data, "--profile", "demo", "--eval-users", "200", "--json"}
	if c.MaxSamples > 0 {
		trainArgs = append(trainArgs, "--max-samples", strconv.FormatInt(c.MaxSamples, 10))
	}
	if c.Preset == "tiny" {
		// 5 K items cannot supply the demo profile's 256×20 distinct negatives.
		trainArgs = append(trainArgs, "--negatives", "8")
	}
	model := bundle.DefaultExportOptions().Name
	// Each step is the command line `nann NAME ARGS...` would run, with the
	// same defaults; it is parsed just before it runs, since some flags
	// must name files that the steps before write.
	steps := []struct {
		name string
		done string // the file whose presence means the step finished
		cmd  func() (runner, error)
		out  any
	}{
		{"synth", p.csv, parsed[SynthCmd]("--preset", c.Preset, "--out", p.csv, "--json"), nil},
		{"prepare", filepath.Join(p.data, dataset.MetaFile), parsed[PrepareCmd](p.csv, "--out", p.data, "--json"), nil},
		{"train", filepath.Join(p.run, train.ReportFile), parsed[TrainCmd](trainArgs...), &rep.Train},
		{"extract", filepath.Join(p.run, train.ItemEmbsFile), parsed[ExtractCmd]("--run", p.run, "--json"), nil},
		{"index", filepath.Join(p.index, hnsw.GraphFile), parsed[IndexCmd]("--embs", filepath.Join(p.run, train.ItemEmbsFile), "--out", p.index,
			"--check-ef", "16", "--json"), nil},
		{"eval", "", parsed[EvalCmd]("--run", p.run, "--index", p.index, "--users", strconv.Itoa(c.EvalUsers), "--json"), &rep.Eval},
		{"export", filepath.Join(p.bundles, model, "1", bundle.ManifestFile), parsed[ExportCmd]("--run", p.run, "--index", p.index, "--base", p.bundles,
			"--version", "1", "--json"), nil},
	}
	for _, s := range steps {
		t := time.Now()
		reused := s.done != "" && exists(s.done)
		if reused {
			slog.Info("demo: reusing", "step", s.name, "file", s.done)
		} else {
			slog.Info("demo: running", "step", s.name)
			cmd, err := s.cmd()
			if err == nil {
				err = runQuiet(g, cmd, s.out)
			}
			if err != nil {
				if errors.Is(err, context.Canceled) {
					return fmt.Errorf("demo interrupted during %s; run the same command again to resume: %w", s.name, err)
				}
				return fmt.Errorf("demo step %s: %w", s.name, err)
			}
		}
		rep.Steps = append(rep.Steps, demoStep{s.name, reused, time.Since(t).Seconds()})
	}
	if rep.Train == nil {
		if err := readJSONFile(filepath.Join(p.run, train.ReportFile), &rep.Train); err != nil {
			return err
		}
	}
	return readJSONFile(filepath.Join(p.data, dataset.MetaFile), &rep.Data)
}

// runner is a parsed command.
type runner interface{ Run(*Globals) error }

// parsed returns a function that parses args as command T's flags, with
// the command line's defaults (withDefaults).
func parsed[T any, PT interface {
	*T
	runner
}](args ...string) func() (runner, error) {
	return func() (runner, error) {
		c, err := withDefaults[T](args...)
		if err != nil {
			return nil, err
		}
		return PT(c), nil
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// runQuiet runs a subcommand in JSON mode and decodes its output into out
// (if not nil).
func runQuiet(g *Globals, cmd interface{ Run(*Globals) error }, out any) error {
	var buf bytes.Buffer
	sub := &Globals{LogLevel: g.LogLevel, LogFormat: g.LogFormat, ctx: g.ctx, stdout: &buf}
	if err := cmd.Run(sub); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(buf.Bytes(), out)
}

// serveAndBench starts the server on loopback, benchmarks the bundle in
// process, over gRPC and over REST, and shuts the server down.
func (c *DemoCmd) serveAndBench(g *Globals, p demoPaths, rep *demoReport) error {
	t := time.Now()
	cfg := server.DefaultConfig()
	cfg.BasePath, cfg.GRPCAddr, cfg.RESTAddr, cfg.PollInterval = filepath.Join(p.bundles, bundle.DefaultExportOptions().Name), "127.0.0.1:0", "127.0.0.1:0", 0
	ctx, cancel := context.WithCancel(g.Context())
	defer cancel()
	srv, err := server.New(cfg, bundle.Load, slog.Default())
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	slog.Info("demo: serving", "grpc", srv.GRPCAddr(), "rest", srv.RESTAddr())
	benchErr := c.bench(ctx, p, srv, rep)
	cancel()
	if err := srv.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		slog.Warn("demo: server shutdown", "err", err)
	}
	rep.Steps = append(rep.Steps, demoStep{"serve+bench", false, time.Since(t).Seconds()})
	return benchErr
}

func (c *DemoCmd) bench(ctx context.Context, p demoPaths, srv *server.Server, rep *demoReport) error {
	ds, err := dataset.Open(p.data, dataset.OpenOptions{})
	if err != nil {
		return err
	}
	defer ds.Close()
	inputs, err := bench.DatasetInputs(ds, 1000, [6]int32{100, 200, 200, 200, 200, 200}, 1)
	if err != nil {
		return err
	}
	inproc, err := bench.OpenBundle(ctx, filepath.Join(p.bundles, "nann", "1"), bundle.Load)
	if err != nil {
		return err
	}
	grpcT, err := bench.DialGRPC(bench.ServerConfig{Addr: srv.GRPCAddr(), MetricsURL: "http://" + srv.RESTAddr() + "/metrics"})
	if err != nil {
		return err
	}
	restT, err := bench.DialREST(bench.ServerConfig{Addr: "http://" + srv.RESTAddr()})
	if err != nil {
		return err
	}
	for _, tg := range []bench.Target{inproc, grpcT, restT} {
		cfg := bench.DefaultConfig()
		cfg.Concurrency, cfg.Duration, cfg.Warmup, cfg.ReportEvery = c.Concurrency, c.BenchFor, time.Second, 0
		r, err := bench.Run(ctx, cfg, tg, inputs)
		tg.Close()
		if err != nil {
			return fmt.Errorf("bench %s: %w", tg.Name(), err)
		}
		rep.Bench = append(rep.Bench, r)
	}
	return nil
}

func printDemoReport(w io.Writer, r *demoReport) {
	m := r.Data
	fmt.Fprintf(w, "\nnann demo: the whole pipeline on a synthetic world, %.0f s\n", r.Seconds)
	fmt.Fprintf(w, "world     %d users, %d items, %d categories, %.2f M rows; %d training samples, %d test users\n",
		m.NumUser, m.NumItems, m.NumCates, float64(m.NumRows)/1e6, m.NumTrainSamples, m.NumTestUsers)
	if tr := r.Train; tr != nil {
		fmt.Fprintf(w, "training  %d steps, %d samples, %.0f samples/s; brute-force Recall@50/@200 %.3f/%.3f vs popularity %.3f/%.3f (%d users)\n",
			tr.Training.Steps, tr.Training.Samples, tr.Training.SamplesPerS, tr.Recall[50], tr.Recall[200], tr.Popularity[50], tr.Popularity[200], tr.Users)
	}
	if e := r.Eval; e != nil {
		var parts []string
		for _, rc := range e.Recall {
			parts = append(parts, fmt.Sprintf("@%d %.3f / %s", rc.K, rc.Beam, optional(rc.Exact)))
		}
		fmt.Fprintf(w, "retrieval Recall beam / brute force (%d users): %s\n", e.Queries, strings.Join(parts, ",  "))
		fmt.Fprintf(w, "          %.0f items scored per query (%.1f%% of %d); beam p50 %.2f ms, brute force p50 %s ms\n",
			e.Scored.Mean, 100*e.ScoredFraction, e.Items, e.BeamLatency.P50, latencyP50(e.ExactLatency))
	}
	fmt.Fprintf(w, "serving   %-36s %10s %9s %9s %7s\n", "target (level_topn 100,200×5)", "QPS", "p50 ms", "p99 ms", "errors")
	for _, b := range r.Bench {
		fmt.Fprintf(w, "          %-36s %10.1f %9.2f %9.2f %7d\n", b.Target, b.Throughput, b.Latency.P50, b.Latency.P99, b.ErrorCount())
	}
	fmt.Fprintf(w, "steps    ")
	for _, s := range r.Steps {
		tag := ""
		if s.Reused {
			tag = " (reused)"
		}
		fmt.Fprintf(w, " %s %.0fs%s;", s.Name, s.Seconds, tag)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "artefacts:")
	for _, a := range r.Artefacts {
		fmt.Fprintf(w, "  %-50s %s\n", a.What, a.Path)
	}
}

func latencyP50(s *eval.Summary) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", s.P50)
}
