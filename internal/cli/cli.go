// Package cli wires the nann subcommands. Each subcommand lives in its own
// file; commands lists them all.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"nann/bundle"
	"nann/serving"
)

// Globals are the flags every subcommand shares.
type Globals struct {
	LogLevel  string `help:"Log level: debug, info, warn, error." default:"info" enum:"debug,info,warn,error"`
	LogFormat string `help:"Log format: text or json." default:"text" enum:"text,json"`

	ctx    context.Context
	stdout io.Writer
	load   serving.Loader
}

// Context is cancelled on SIGINT or SIGTERM; long jobs check it and stop
// cleanly, leaving only complete files behind.
func (g *Globals) Context() context.Context { return g.ctx }

// Stdout is where commands print their reports.
func (g *Globals) Stdout() io.Writer { return g.stdout }

// Loader loads the model versions that serve and bench's in-process
// targets serve: bundle.Load, unless a test gave another to run.
func (g *Globals) Loader() serving.Loader { return g.load }

type command struct {
	name, help string
	cmd        any // a pointer to a struct with a Run(*Globals) error method
}

// commands returns the subcommands, sorted by name, as fresh values for one
// run of the command line.
func commands() []command {
	return []command{
		{"bench", "Benchmark nann in-process, over gRPC and over REST (throughput, latency percentiles, errors).", &BenchCmd{}},
		{"demo", "Run the whole pipeline on a synthetic world (synth, prepare, train, extract, index, eval, export, serve, bench) and report.", &DemoCmd{}},
		{"eval", "Recall@K and coverage of beam retrieval (or the SL2G baseline) vs brute force under the neural score, with standard errors, items scored and latency.", &EvalCmd{}},
		{"export", "Compile a trained run and its index into a versioned, checksummed serving bundle, and/or write its scoring network as ONNX (--onnx).", &ExportCmd{}},
		{"extract", "Write item_ids.npy and item_embs.npy: the item network's embedding of every item.", &ExtractCmd{}},
		{"import", "Write a serving-bundle version from an ONNX scoring network, its item table and ids, and an HNSW index; nann serve serves it.", &ImportCmd{}},
		{"index", "Build an HNSW index over item embeddings (or import a reference-layout one).", &IndexCmd{}},
		{"plot", "Draw several runs' sweeps (nann eval --sweep CSVs) in one figure: recall and coverage vs items scored, beam vs SL2G vs brute force.", &PlotCmd{}},
		{"prepare", "Convert a UserBehavior CSV into a prepared dataset (samples, item table, id maps).", &PrepareCmd{}},
		{"score", "Score users against items with an ONNX scoring network compiled by plan; writes a [users, items] float32 .npy.", &ScoreCmd{}},
		{"serve", "Serve a model over TensorFlow Serving's gRPC and REST APIs.", &ServeCmd{}},
		{"synth", "Generate a synthetic UserBehavior CSV (the embedded default world).", &SynthCmd{}},
		{"train", "Train the NANN model on a prepared dataset (resumes a run directory), then evaluate brute-force recall.", &TrainCmd{}},
	}
}

// Exit codes of Main.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and failed
	exitUsage = 2 // the command line was wrong (unknown flag, bad value, no command): nothing ran
)

// kongExit is what kong's Exit hook panics with: kong calls Exit after
// printing --help and would otherwise go on to parse and run the command.
type kongExit int

// Main runs the nann command line and returns the process exit code:
// 0 on success and after --help, 1 when the command failed, 2 on a usage
// error (nothing was run). Each error is printed once on stderr. Served
// model versions are nann's bundles (bundle.Load).
func Main(args []string, stdout, stderr io.Writer) int {
	return run(args, stdout, stderr, bundle.Load)
}

// run is Main with the model loader given.
func run(args []string, stdout, stderr io.Writer, load serving.Loader) int {
	g := Globals{load: load}
	opts := []kong.Option{
		kong.Name("nann"),
		kong.Description("Neural approximate nearest-neighbour search: prepare, train, index, evaluate, serve and benchmark."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(kongExit(code)) }),
		defaultVars(),
	}
	for _, c := range commands() {
		opts = append(opts, kong.DynamicCommand(c.name, c.help, "", c.cmd))
	}
	parser, err := kong.New(&g, opts...)
	if err != nil {
		fmt.Fprintln(stderr, "nann:", err)
		return exitUsage
	}
	kctx, exited, err := parse(parser, args)
	if exited >= 0 {
		return exited
	}
	if err != nil {
		usageError(parser, err, args, stdout, stderr)
		return exitUsage
	}
	if kctx.Command() == "" {
		return exitOK
	}
	setupLogging(&g, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g.ctx, g.stdout = ctx, stdout
	if err := kctx.Run(&g); err != nil {
		if g.LogFormat == "json" { // machine-read logs: the error as one JSON record
			slog.Error("failed", "command", kctx.Command(), "err", err)
		} else {
			fmt.Fprintln(stderr, "nann:", err)
		}
		return exitFail
	}
	return exitOK
}

// parse runs kong's parser; exited is the code kong asked to exit with
// (after printing --help), or -1 when it did not.
func parse(parser *kong.Kong, args []string) (kctx *kong.Context, exited int, err error) {
	defer func() {
		if r := recover(); r != nil {
			code, ok := r.(kongExit)
			if !ok {
				panic(r)
			}
			kctx, exited, err = nil, int(code), nil
		}
	}()
	kctx, err = parser.Parse(args)
	return kctx, -1, err
}

// usageError prints a command-line error once, then where to find help: the
// full usage when no command was given, else the command's usage line.
func usageError(parser *kong.Kong, err error, args []string, stdout, stderr io.Writer) {
	var perr *kong.ParseError
	if !errors.As(err, &perr) || perr.Context == nil {
		fmt.Fprintln(stderr, "nann:", err)
		return
	}
	parser.Stdout = stderr // kong prints help to Stdout; a usage hint is a diagnostic
	defer func() { parser.Stdout = stdout }()
	if noCommand(perr.Context) {
		if len(args) > 0 {
			fmt.Fprintln(stderr, "nann:", err)
		}
		_ = perr.Context.PrintUsage(false)
		return
	}
	fmt.Fprintln(stderr, "nann:", err)
	_ = perr.Context.PrintUsage(true)
}

// noCommand reports whether the parse stopped before choosing a command.
func noCommand(kctx *kong.Context) bool {
	for _, p := range kctx.Path {
		if p.Command != nil {
			return false
		}
	}
	return true
}

func setupLogging(g *Globals, stderr io.Writer) {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(g.LogLevel))
	o := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(stderr, o)
	if g.LogFormat == "json" {
		h = slog.NewJSONHandler(stderr, o)
	}
	slog.SetDefault(slog.New(h))
}
