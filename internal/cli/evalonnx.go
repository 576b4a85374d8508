package cli

// nann eval on an imported model: beam retrieval against brute force under
// the model's own score, for the users of a users.npz (the file nann score
// --users reads), on an imported bundle (--bundle) or on the import's
// inputs (--onnx, --item-embs, --index) before importing.

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"nann/bench"
	"nann/bundle"
	"nann/eval"
	"nann/hnsw"
	"nann/item"
	"nann/onnx"
	"nann/plan"
	"nann/retrieve"
)

// onnxEvalReport is nann eval's report on an imported model. Overlap@K is
// the fraction of brute force's top K (the model's exact best K items)
// that beam retrieval's first K answers hold, averaged over users.
type onnxEvalReport struct {
	Model   string             `json:"model"`
	Beam    string             `json:"beam"`
	Users   int                `json:"users"`
	Items   int                `json:"items"`
	Overlap []onnxOverlap      `json:"overlap"`
	Scored  eval.Summary       `json:"items_scored"`
	Rounds  []onnxRoundSummary `json:"rounds"`
	// ScoredFraction is the mean items scored per user over the corpus.
	ScoredFraction float64      `json:"scored_fraction"`
	BeamLatency    eval.Summary `json:"beam_latency_ms"`
	ExactLatency   eval.Summary `json:"exact_latency_ms"`
}

type onnxOverlap struct {
	K       int     `json:"k"`
	Overlap float64 `json:"overlap"`
	Min     float64 `json:"min"` // the worst user's
}

type onnxRoundSummary struct {
	Round  int          `json:"round"`
	Level  int          `json:"level"`
	Scored eval.Summary `json:"scored"`
}

// onnxEvalModel is what an imported-model evaluation needs.
type onnxEvalModel struct {
	name  string
	plan  *plan.Plan
	graph retrieve.Graph
	pool  *retrieve.Pool[map[string]*onnx.Tensor]
}

// checkONNXFlags reports every flag that does not go with an imported
// model's evaluation.
func (c *EvalCmd) checkONNXFlags() error {
	var errs []error
	if c.Bundle != "" && c.ONNX != "" {
		errs = append(errs, errors.New("--bundle and --onnx are alternatives: evaluate an imported bundle, or the import's inputs"))
	}
	if c.Queries == "" {
		errs = append(errs, errors.New("--queries: an imported model is evaluated on the users of a users.npz (one array per user input, as nann score --users)"))
	}
	if c.ONNX != "" && (c.ItemEmbs == "" || c.Index == "") {
		errs = append(errs, errors.New("--onnx needs --item-embs (the item table) and --index (an index over it)"))
	}
	if c.Bundle != "" && (c.ItemEmbs != "" || c.Index != "") {
		errs = append(errs, errors.New("--bundle holds its item table and index; --item-embs and --index go with --onnx"))
	}
	if c.RunDir != "" || c.Data != "" || c.Embs != "" {
		errs = append(errs, errors.New("--run, --data and --embs evaluate a trained run, not an imported model"))
	}
	if c.Sweep {
		errs = append(errs, errors.New("--sweep is for trained runs; give --beam settings one at a time for an imported model"))
	}
	if c.Float16 && c.Bundle != "" {
		errs = append(errs, errors.New("--float16 applies to --onnx (a bundle's tables are compiled as imported)"))
	}
	if c.Int8 {
		errs = append(errs, errors.New("--int8 is the trained-run engine's table precision; an imported model's plan has float32 and float16 tables only"))
	}
	return errors.Join(errs...)
}

// loadONNXModel opens --bundle, or compiles --onnx over --item-embs with
// the graph of --index.
func (c *EvalCmd) loadONNXModel(g *Globals) (*onnxEvalModel, error) {
	if c.Bundle != "" {
		vdir, err := bench.VersionDir(c.Bundle)
		if err != nil {
			return nil, fmt.Errorf("--bundle: %w", err)
		}
		s, err := bundle.LoadONNX(g.Context(), vdir)
		if err != nil {
			return nil, fmt.Errorf("--bundle: %w", err)
		}
		return &onnxEvalModel{name: vdir, plan: s.Bundle().Plan, graph: s.Bundle().Graph, pool: s.Pool()}, nil
	}
	m, err := onnx.ReadFile(c.ONNX, onnx.ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("--onnx: %w", err)
	}
	items, err := onnx.ReadNPY(c.ItemEmbs)
	if err != nil {
		return nil, fmt.Errorf("--item-embs: %w", err)
	}
	if items.Rank() == 0 || items.Shape[0] == 0 {
		return nil, fmt.Errorf("--item-embs %s: shape %v, want one row per item (leading dim N > 0)", c.ItemEmbs, items.Shape)
	}
	if err := checkFinite(items); err != nil {
		return nil, fmt.Errorf("--item-embs %s: %w", c.ItemEmbs, err)
	}
	ct := plan.Contract{UserInputs: c.UserInputs, ItemInput: c.ItemInput, ScoreOutput: c.ScoreOutput}
	if ct.ItemInput == "" && ct.UserInputs == nil {
		ct.ItemInput = guessItemInput(m.Graph, nil)
	}
	p, err := plan.Compile(m.Graph, ct, items, plan.Options{Float16Tables: c.Float16})
	if err != nil {
		return nil, fmt.Errorf("compiling %s over --item-embs %s: %w", c.ONNX, c.ItemEmbs, err)
	}
	gr, err := hnsw.OpenDir(c.Index)
	if err != nil {
		return nil, fmt.Errorf("--index: %w", err)
	}
	if gr.Len() != p.NumItems() {
		return nil, fmt.Errorf("--index %s has %d nodes, --item-embs %s %d items", c.Index, gr.Len(), c.ItemEmbs, p.NumItems())
	}
	pool, err := retrieve.NewPool(gr, bundle.PlanCorpus(p))
	if err != nil {
		return nil, err
	}
	return &onnxEvalModel{name: c.ONNX, plan: p, graph: gr, pool: pool}, nil
}

// runONNX evaluates an imported model: per user of --queries, beam
// retrieval with --beam and brute force over every item, the overlap of
// their top K at each --k, the items scored and the latencies.
func (c *EvalCmd) runONNX(g *Globals) error {
	if err := c.checkONNXFlags(); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	beam, err := retrieve.ParseBeam(c.Beam)
	if err != nil {
		return fmt.Errorf("--beam: %w", err)
	}
	m, err := c.loadONNXModel(g)
	if err != nil {
		return err
	}
	n := m.plan.NumItems()
	if err := beam.ValidateFor(n); err != nil {
		return fmt.Errorf("--beam: %w", err)
	}
	ks := slices.Sorted(slices.Values(c.Ks))
	var errs []error
	for _, k := range ks {
		if k < 1 || k > beam.AnswerSize() || k > n {
			errs = append(errs, fmt.Errorf("--k %d outside [1, %d] (the beam's answer size %d, the corpus %d items)", k, min(beam.AnswerSize(), n), beam.AnswerSize(), n))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	arrs, err := onnx.ReadNPZ(c.Queries)
	if err != nil {
		return fmt.Errorf("--queries: %w", err)
	}
	nu, byInput, err := userArrays(c.Queries, arrs, m.plan.UserInputs())
	if err != nil {
		return err
	}
	if c.Users > 0 {
		nu = min(nu, c.Users)
	}
	maxK := ks[len(ks)-1]
	rep := &onnxEvalReport{Model: m.name, Beam: beam.String(), Users: nu, Items: n}
	overlap := make([][]float64, len(ks))
	var scored, beamMs, exactMs []float64
	var rounds [][]float64
	var ans, exact retrieve.Answer
	for u := 0; u < nu; u++ {
		if err := g.Context().Err(); err != nil {
			return err
		}
		q := map[string]*onnx.Tensor{}
		for name, t := range byInput {
			q[name] = userRow(t, u)
		}
		start := time.Now()
		if err := m.pool.Search(q, beam, &ans); err != nil {
			return fmt.Errorf("--queries %s: user %d: %w", c.Queries, u, err)
		}
		beamMs = append(beamMs, float64(time.Since(start).Microseconds())/1e3)
		start = time.Now()
		if err := m.pool.Exact(q, maxK, &exact); err != nil {
			return fmt.Errorf("--queries %s: user %d: %w", c.Queries, u, err)
		}
		exactMs = append(exactMs, float64(time.Since(start).Microseconds())/1e3)
		for i, k := range ks {
			overlap[i] = append(overlap[i], overlapAt(ans.Rows, exact.Rows, k))
		}
		scored = append(scored, float64(ans.Total))
		for i, r := range ans.Rounds {
			if i == len(rounds) {
				rounds = append(rounds, nil)
				rep.Rounds = append(rep.Rounds, onnxRoundSummary{Round: i, Level: r.Level})
			}
			rounds[i] = append(rounds[i], float64(r.Scored))
		}
	}
	for i, k := range ks {
		s := eval.Summarize(overlap[i])
		rep.Overlap = append(rep.Overlap, onnxOverlap{K: k, Overlap: s.Mean, Min: slices.Min(overlap[i])})
	}
	for i := range rep.Rounds {
		rep.Rounds[i].Scored = eval.Summarize(rounds[i])
	}
	rep.Scored, rep.BeamLatency, rep.ExactLatency = eval.Summarize(scored), eval.Summarize(beamMs), eval.Summarize(exactMs)
	rep.ScoredFraction = rep.Scored.Mean / float64(n)
	if c.JSON {
		return writeJSON(g.Stdout(), rep)
	}
	printONNXEval(g.Stdout(), rep)
	return nil
}

// overlapAt is |beam[:k] ∩ exact[:k]| / k.
func overlapAt(beam, exact []item.Row, k int) float64 {
	top := make(map[item.Row]bool, k)
	for _, r := range exact[:min(k, len(exact))] {
		top[r] = true
	}
	hit := 0
	for _, r := range beam[:min(k, len(beam))] {
		if top[r] {
			hit++
		}
	}
	return float64(hit) / float64(k)
}

func printONNXEval(w io.Writer, r *onnxEvalReport) {
	fmt.Fprintf(w, "imported model %s: beam %s over %d users, %d items\n", r.Model, r.Beam, r.Users, r.Items)
	fmt.Fprintf(w, "  %-6s %10s %10s   (share of brute force's top K that the beam's top K holds)\n", "K", "overlap", "worst")
	for _, o := range r.Overlap {
		fmt.Fprintf(w, "  %-6d %10.4f %10.4f\n", o.K, o.Overlap, o.Min)
	}
	fmt.Fprintf(w, "  items scored per query: mean %.0f, p50 %.0f, p99 %.0f (%.2f%% of the corpus; brute force scores all %d)\n",
		r.Scored.Mean, r.Scored.P50, r.Scored.P99, 100*r.ScoredFraction, r.Items)
	for _, rd := range r.Rounds {
		fmt.Fprintf(w, "    round %d (level %d): mean %.0f\n", rd.Round, rd.Level, rd.Scored.Mean)
	}
	fmt.Fprintf(w, "  latency per query: beam p50 %.2f ms p99 %.2f ms; brute force p50 %.2f ms p99 %.2f ms\n",
		r.BeamLatency.P50, r.BeamLatency.P99, r.ExactLatency.P50, r.ExactLatency.P99)
}
