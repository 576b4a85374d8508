// Package cli wires the nann subcommands. Each subcommand lives in its own
// file and registers itself with register in an init function, so adding a
// command touches one file.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/alecthomas/kong"
)

// Globals are the flags every subcommand shares.
type Globals struct {
	LogLevel  string `help:"Log level: debug, info, warn, error." default:"info" enum:"debug,info,warn,error"`
	LogFormat string `help:"Log format: text or json." default:"text" enum:"text,json"`

	ctx    context.Context
	stdout io.Writer
}

// Context is cancelled on SIGINT or SIGTERM; long jobs check it and stop
// cleanly, leaving only complete files behind.
func (g *Globals) Context() context.Context { return g.ctx }

// Stdout is where commands print their reports.
func (g *Globals) Stdout() io.Writer { return g.stdout }

type command struct {
	name, help string
	cmd        any
}

var commands []command

// register adds a subcommand. cmd must be a pointer to a struct with a
// Run(*Globals) error method.
func register(name, help string, cmd any) {
	commands = append(commands, command{name, help, cmd})
}

// Main runs the nann command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	var g Globals
	opts := []kong.Option{
		kong.Name("nann"),
		kong.Description("Neural approximate nearest-neighbour search: prepare, train, index, evaluate, serve and benchmark."),
		kong.Writers(stdout, stderr),
		kong.UsageOnError(),
		kong.Exit(func(int) {}),
	}
	sort.Slice(commands, func(i, j int) bool { return commands[i].name < commands[j].name })
	for _, c := range commands {
		opts = append(opts, kong.DynamicCommand(c.name, c.help, "", c.cmd))
	}
	parser, err := kong.New(&g, opts...)
	if err != nil {
		fmt.Fprintln(stderr, "nann:", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		if len(args) == 0 || isHelp(args) {
			return 0
		}
		fmt.Fprintln(stderr, "nann:", err)
		return 2
	}
	if kctx == nil || kctx.Command() == "" {
		return 0
	}
	setupLogging(&g, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g.ctx, g.stdout = ctx, stdout
	if err := kctx.Run(&g); err != nil {
		slog.Error("failed", "command", kctx.Command(), "err", err)
		fmt.Fprintln(stderr, "nann:", err)
		return 1
	}
	return 0
}

func isHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" {
			return true
		}
	}
	return false
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
