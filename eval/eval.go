// Package eval measures beam retrieval offline (SPEC §6): for a list of test
// queries with a ground-truth item row each, Recall@K of beam retrieval side
// by side with the brute-force ceiling (the same scorer over every item),
// the items scored per round and in total, and latencies. Sweep runs a grid
// of beam settings and writes the recall-vs-work curve as CSV and PNG.
//
// Queries are spread over all cores; every number except latency is
// independent of scheduling.
package eval

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"

	"nann/internal/meter"
	"nann/internal/parallel"
	"nann/item"
	"nann/retrieve"
)

// Query is one test query: the input its scorer binds to (a vector, a user's
// behaviour sequence, any opaque request) and the row of the ground-truth item.
type Query[Q any] struct {
	Input Q
	Truth item.Row
}

// Queries pairs inputs[i] with its ground-truth row truth[i]; the slices
// must have the same length.
func Queries[Q any](inputs []Q, truth []item.Row) []Query[Q] {
	if len(inputs) != len(truth) {
		panic(fmt.Sprintf("eval: %d query inputs but %d ground-truth rows", len(inputs), len(truth)))
	}
	q := make([]Query[Q], len(inputs))
	for i := range inputs {
		q[i] = Query[Q]{Input: inputs[i], Truth: truth[i]}
	}
	return q
}

// Config controls an evaluation.
type Config struct {
	// Ks are the answer sizes at which recall is reported (default 50, 100, 200).
	// Each must be at most every beam's answer size and the corpus size.
	Ks []int `json:"ks"`
	// Workers is the number of queries evaluated at once (default: all cores).
	Workers int `json:"workers"`
	// SkipExact skips brute force (no ceiling, no exact latency).
	SkipExact bool `json:"skip_exact"`
	// Progress, if not nil, is called with stage "eval" after each query
	// with the number of queries done so far and in all; it may be called
	// from several goroutines at once (done values can arrive out of order).
	Progress meter.Func `json:"-"`
}

// DefaultConfig returns Ks 50, 100, 200 on all cores with brute force.
func DefaultConfig() Config {
	return Config{Ks: []int{50, 100, 200}, Workers: runtime.GOMAXPROCS(0)}
}

// ProgressStage is the stage name Config.Progress is called with.
const ProgressStage = "eval"

// MaxWorkers bounds Config.Workers.
const MaxWorkers = 1024

// Validate reports every problem with the configuration.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Ks) == 0 {
		errs = append(errs, errors.New("ks is empty"))
	}
	for i, k := range c.Ks {
		if k < 1 || k > retrieve.MaxTopK {
			errs = append(errs, fmt.Errorf("ks[%d] = %d outside [1,%d]", i, k, retrieve.MaxTopK))
		}
		if i > 0 && k <= c.Ks[i-1] {
			errs = append(errs, fmt.Errorf("ks[%d] = %d not above ks[%d] = %d (list them increasing, once)", i, k, i-1, c.Ks[i-1]))
		}
	}
	if c.Workers < 0 || c.Workers > MaxWorkers {
		errs = append(errs, fmt.Errorf("workers = %d outside [0,%d] (0 = all cores)", c.Workers, MaxWorkers))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("eval: config: %w", err)
	}
	return nil
}

// Summary describes a distribution over queries.
type Summary struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// Recall is Recall@K of the search method (beam retrieval or SL2G) and of
// brute force (nil when skipped), as fractions of the queries whose ground
// truth is in the first K answers, and the method's coverage: the mean over
// queries of the fraction of brute force's top K that the method's first K
// answers hold (the reference's second metric; 1 means the method found
// exactly what scoring every item finds).
//
// Every figure has its standard error over queries: the sample standard
// deviation of the per-query values (hit 0/1, coverage fraction; n−1 in the
// denominator) divided by √n, 0 for a single query. GapSE is that of the
// per-query difference brute-force hit − method hit (paired), the error of
// Exact − Beam; it is smaller than the two errors combined because both are
// measured on the same queries.
type Recall struct {
	K      int      `json:"k"`
	Beam   float64  `json:"beam"`
	BeamSE float64  `json:"beam_se"`
	Exact  *float64 `json:"exact"`
	// ExactSE, Coverage, CoverageSE and GapSE are nil when brute force was skipped.
	ExactSE    *float64 `json:"exact_se"`
	Coverage   *float64 `json:"coverage"`
	CoverageSE *float64 `json:"coverage_se"`
	GapSE      *float64 `json:"gap_se"`
}

// RoundSummary is the distribution of items scored in one round.
type RoundSummary struct {
	Round  int     `json:"round"`
	Level  int     `json:"level"`
	Scored Summary `json:"scored"`
}

// Report is the evaluation of one search setting (a beam or SL2G).
// Latencies are milliseconds.
type Report struct {
	// Beam names the setting (its String: eval:…, serving:… or sl2g:…).
	Beam string `json:"beam"`
	// Method is "beam" (beam retrieval, either form) or "sl2g".
	Method  string   `json:"method"`
	Queries int      `json:"queries"`
	Items   int      `json:"items"`
	Recall  []Recall `json:"recall"`
	// Rounds has one entry per scoring round (enter points first).
	Rounds []RoundSummary `json:"rounds"`
	// Scored is the total items scored per query.
	Scored Summary `json:"scored"`
	// ScoredFraction is Scored.Mean / Items.
	ScoredFraction float64 `json:"scored_fraction"`
	// BindLatency is the per-query user-side work (shared by beam and brute force).
	BindLatency  Summary  `json:"bind_latency_ms"`
	BeamLatency  Summary  `json:"beam_latency_ms"`
	ExactLatency *Summary `json:"exact_latency_ms"`
}

// Run evaluates one beam setting; see Sweep.
func Run[Q any](ctx context.Context, cfg Config, queries []Query[Q], g retrieve.Graph, m retrieve.Corpus[Q], beam retrieve.Beam) (*Report, error) {
	res, err := Sweep(ctx, cfg, queries, g, m, []retrieve.Beam{beam})
	if err != nil {
		return nil, err
	}
	return &res.Reports[0], nil
}

// SweepResult is the evaluation of several beam settings over the same
// queries; brute force runs once per query and is shared.
type SweepResult struct {
	Ks      []int    `json:"ks"`
	Reports []Report `json:"reports"`
}

// Sweep evaluates every beam setting on every query, binding each query once
// and running brute force once. It fails on invalid settings (for the corpus
// of g), a scorer whose corpus differs from the graph's, a ground truth outside
// the corpus, a K above a beam's answer size, or the first query whose bind or
// search fails (naming the query).
func Sweep[Q any](ctx context.Context, cfg Config, queries []Query[Q], g retrieve.Graph, m retrieve.Corpus[Q], beams []retrieve.Beam) (*SweepResult, error) {
	if err := check(&cfg, queries, g, m, beams); err != nil {
		return nil, err
	}
	r := newRecorder(len(queries), beams, cfg)
	if err := runAll(ctx, cfg, queries, g, m, beams, r); err != nil {
		return nil, err
	}
	out := &SweepResult{Ks: slices.Clone(cfg.Ks)}
	for b := range beams {
		out.Reports = append(out.Reports, r.report(b, beams[b], g.Len()))
	}
	return out, nil
}

func check[Q any](cfg *Config, queries []Query[Q], g retrieve.Graph, m retrieve.Corpus[Q], beams []retrieve.Beam) error {
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	errs := []error{cfg.Validate()}
	n := g.Len()
	if m.NumItems() != n {
		errs = append(errs, fmt.Errorf("scorer covers %d items but the graph has %d", m.NumItems(), n))
	}
	if len(beams) == 0 {
		errs = append(errs, errors.New("no beam settings"))
	}
	maxK := 0
	if len(cfg.Ks) > 0 {
		maxK = cfg.Ks[len(cfg.Ks)-1]
	}
	for i, b := range beams {
		if err := b.ValidateFor(n); err != nil {
			errs = append(errs, fmt.Errorf("beam %d (%s): %w", i, b, err))
		} else if maxK > b.AnswerSize() {
			errs = append(errs, fmt.Errorf("beam %d (%s): k = %d exceeds its answer size %d", i, b, maxK, b.AnswerSize()))
		}
	}
	errs = append(errs, checkQueries(*cfg, queries, n))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}

// runAll evaluates the queries on cfg.Workers goroutines, each with its own
// scorer, searcher and brute-force buffers.
func runAll[Q any](ctx context.Context, cfg Config, queries []Query[Q], g retrieve.Graph, m retrieve.Corpus[Q], beams []retrieve.Beam, r *recorder) error {
	done := meter.New(cfg.Progress, ProgressStage, int64(len(queries)))
	newWorker := func() *worker[Q] {
		return &worker[Q]{sc: m.NewScorer(), s: retrieve.NewSearcher(g), ex: retrieve.NewExact(g.Len())}
	}
	err := parallel.ForEach(ctx, len(queries), cfg.Workers, newWorker, func(_ context.Context, w *worker[Q], i int) error {
		if err := w.run(i, queries[i], beams, cfg, r); err != nil {
			return fmt.Errorf("query %d: %w", i, err)
		}
		done.Add(1)
		return nil
	})
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}

type worker[Q any] struct {
	sc    retrieve.QueryScorer[Q]
	s     *retrieve.Searcher
	ex    *retrieve.Exact
	exact topSet // brute force's answer to the current query
}

func (w *worker[Q]) run(i int, q Query[Q], beams []retrieve.Beam, cfg Config, r *recorder) (err error) {
	defer func() {
		if p := recover(); p != nil { // a scorer bug must not take the whole evaluation down silently
			err = fmt.Errorf("panic while scoring: %v", p)
		}
	}()
	t0 := time.Now()
	if err := w.sc.Bind(q.Input); err != nil {
		return err
	}
	r.bind[i] = since(t0)
	if !cfg.SkipExact {
		t := time.Now()
		res, err := w.ex.TopK(w.sc, cfg.Ks[len(cfg.Ks)-1])
		if err != nil {
			return fmt.Errorf("brute force: %w", err)
		}
		r.exactLat[i] = since(t)
		r.exactRank[i] = rankOf(res.Rows, q.Truth)
		w.exact.set(res.Rows)
	}
	for b, beam := range beams {
		t := time.Now()
		res, err := w.s.Search(w.sc, beam)
		if err != nil {
			return fmt.Errorf("beam %s: %w", beam, err)
		}
		r.beamLat[b][i] = since(t)
		r.beamRank[b][i] = rankOf(res.Rows, q.Truth)
		r.recordRounds(b, i, res.Stats)
		if !cfg.SkipExact {
			w.exact.overlaps(res.Rows, cfg.Ks, r.cover[b][i*len(cfg.Ks):(i+1)*len(cfg.Ks)])
		}
	}
	return nil
}

func since(t time.Time) float64 { return float64(time.Since(t).Nanoseconds()) / 1e6 }

// rankOf is the position of truth in rows, or -1.
func rankOf(rows []item.Row, truth item.Row) int32 {
	for i, r := range rows {
		if r == truth {
			return int32(i)
		}
	}
	return -1
}
