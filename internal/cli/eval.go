package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot/vg"

	"nann/dataset"
	"nann/engine"
	"nann/eval"
	"nann/hnsw"
	"nann/internal/npy"
	"nann/query"
	"nann/retrieve"
	"nann/train"
)

// EvalCmd measures Recall@K of beam retrieval against brute force, for a
// trained run (--run, --index) or an imported model (--bundle, or the
// import's inputs --onnx, --item-embs, --index; see evalonnx.go).
type EvalCmd struct {
	RunDir   string `name:"run" help:"Trained run directory (nann train)."`
	Index    string `help:"Index directory (nann index); with --onnx, the index over --item-embs." type:"existingdir"`
	Embs     string `help:"Item embeddings .npy (default RUN/item_embs.npy, from nann extract)."`
	Data     string `help:"Prepared dataset (default: the run's)."`
	Split    string `default:"test" enum:"test,valid" help:"Which held-out users: test or valid."`
	Users    int    `help:"Evaluate at most this many users (0: all)."`
	Ks       []int  `name:"k" default:"${eval_ks}" help:"Recall cut-offs."`
	Beam     string `default:"${eval_beam}" help:"Beam settings: eval:START:TOPK,..:NSCORING,..:K or serving:T0,T1,T2,T3,T4,T5."`
	Search   string `default:"beam" help:"Search method: beam (beam retrieval with --beam) or sl2g:EF[:K] (the SL2G baseline: HNSW best-first search under the model with ef EF on the same graph; K defaults to the largest --k)."`
	Scorer   string `default:"engine" enum:"engine,plain" help:"engine: the compiled fast scorer; plain: the model's inference forward."`
	Float16  bool   `name:"float16" help:"Engine item tables in float16."`
	Int8     bool   `name:"int8" help:"Engine item tables in int8 (float16 table plus 8-bit codes; integer pair-stage kernels, VNNI where present). Overrides --float16."`
	NoExact  bool   `name:"no-exact" help:"Skip brute force (no ceiling)."`
	Sweep    bool   `help:"Run a grid of beam settings and of SL2G ef values and write recall and coverage vs items scored (--search is ignored)."`
	SweepOut string `name:"sweep-out" help:"Directory for sweep.csv and sweep.png (default RUN/sweep)."`
	Workers  int    `help:"Queries evaluated at once (0: all cores)."`
	JSON     bool   `name:"json" help:"Print the report as JSON."`

	// An imported model (evalonnx.go).
	Bundle      string   `help:"Evaluate an imported bundle (nann import): its version directory or model base path (the newest version), on --queries."`
	ONNX        string   `name:"onnx" help:"Evaluate the import's inputs before importing: the ONNX scoring network, with --item-embs and --index, on --queries." type:"existingfile"`
	ItemEmbs    string   `name:"item-embs" help:"With --onnx: the item table (.npy, one row per item)." type:"existingfile"`
	ItemInput   string   `name:"item-input" help:"With --onnx: the model's item-side input (default as nann score)."`
	UserInputs  []string `name:"user-inputs" help:"With --onnx: the model's user-side inputs (default as nann score)."`
	ScoreOutput string   `name:"score-output" help:"With --onnx: the score output (default: the only graph output)."`
	Queries     string   `help:"With --bundle or --onnx: the users, a .npz with one array per user-side input (as nann score --users); overlap@K of the beam's and brute force's top K is reported." type:"existingfile"`
}

// evalSetup is what an evaluation needs, loaded once.
type evalSetup struct {
	ds      *dataset.Dataset
	graph   *hnsw.Graph
	model   retrieve.Corpus[query.History]
	queries []eval.Query[query.History]
	engine  *engine.Engine // the compiled scorer, if --scorer engine
}

// close releases the dataset and the engine.
func (s *evalSetup) close() {
	if s.engine != nil {
		s.engine.Close()
	}
	s.ds.Close()
}

// Run evaluates and prints the report.
func (c *EvalCmd) Run(g *Globals) error {
	if c.Bundle != "" || c.ONNX != "" {
		return c.runONNX(g)
	}
	if c.RunDir == "" || c.Index == "" || c.Queries != "" {
		return errors.New("eval: give --run and --index (a trained run), or --bundle or --onnx with --queries (an imported model)")
	}
	s, err := c.load()
	if err != nil {
		return err
	}
	defer s.close()
	cfg := eval.DefaultConfig()
	bars := newBars()
	defer bars.finish()
	cfg.Ks, cfg.Workers, cfg.SkipExact, cfg.Progress = c.Ks, c.Workers, c.NoExact, bars.update
	if c.Sweep {
		return c.sweep(g, s, cfg)
	}
	beam, err := c.method()
	if err != nil {
		return err
	}
	rep, err := eval.Run(g.Context(), cfg, s.queries, s.graph, s.model, beam)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.Stdout(), rep)
	}
	printEvalReport(g.Stdout(), rep)
	return nil
}

// method is the search setting --search (and --beam) select.
func (c *EvalCmd) method() (retrieve.Beam, error) {
	if c.Search == "beam" {
		beam, err := retrieve.ParseBeam(c.Beam)
		if err != nil {
			return nil, fmt.Errorf("--beam: %w", err)
		}
		return beam, nil
	}
	if strings.HasPrefix(c.Search, "sl2g:") {
		p, err := retrieve.ParseSL2G(c.Search, c.Ks[len(c.Ks)-1])
		if err != nil {
			return nil, fmt.Errorf("--search: %w", err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("--search %q: want beam or sl2g:EF[:K]", c.Search)
}

func (c *EvalCmd) load() (*evalSetup, error) {
	run, err := train.OpenRun(c.RunDir)
	if err != nil {
		return nil, err
	}
	run.Log = slog.Default()
	ds, err := run.OpenDataset(c.Data, dataset.OpenOptions{})
	if err != nil {
		return nil, err
	}
	s := &evalSetup{ds: ds}
	if err := c.loadRest(run, s); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (c *EvalCmd) loadRest(run *train.RunDir, s *evalSetup) error {
	var err error
	if s.graph, err = hnsw.OpenDir(c.Index); err != nil {
		return err
	}
	embs := c.Embs
	if embs == "" {
		embs = run.EmbeddingsPath()
	}
	if s.model, s.engine, err = c.scorerModel(run, s.ds, embs); err != nil {
		return err
	}
	if s.graph.Len() != s.model.NumItems() {
		return fmt.Errorf("index %s has %d nodes, the model scores %d items", c.Index, s.graph.Len(), s.model.NumItems())
	}
	samples := s.ds.Test
	if c.Split == "valid" {
		samples = s.ds.Valid
	}
	if c.Users > 0 && c.Users < len(samples) {
		samples = samples[:c.Users]
	}
	if len(samples) == 0 {
		return fmt.Errorf("dataset %s has no %s users", s.ds.Dir, c.Split)
	}
	s.queries = eval.Queries(query.FromSamples(s.ds, samples))
	return nil
}

// scorerModel loads the trained model as the chosen scorer.
func (c *EvalCmd) scorerModel(run *train.RunDir, ds *dataset.Dataset, embsPath string) (retrieve.Corpus[query.History], *engine.Engine, error) {
	m, err := run.LoadModel()
	if err != nil {
		return nil, nil, err
	}
	if c.Scorer == "engine" {
		opt := engine.Options{}
		if c.Float16 {
			opt.Table = engine.Float16
		}
		if c.Int8 {
			opt.Table = engine.Int8
		}
		e, err := train.CompileEngine(m, ds, opt)
		if err != nil {
			return nil, nil, err
		}
		return query.Engine(e), e, nil
	}
	embs, shape, err := loadItemEmbs(embsPath)
	if err != nil {
		return nil, nil, err
	}
	if shape[0] != m.Cfg.NumItems || shape[1] != m.Cfg.ItemDim {
		return nil, nil, fmt.Errorf("%s: shape %v, the model wants %d×%d", embsPath, shape, m.Cfg.NumItems, m.Cfg.ItemDim)
	}
	pm, err := query.Plain(m, embs)
	return pm, nil, err
}

// loadItemEmbs reads a float32 N×d item_embs.npy.
func loadItemEmbs(path string) ([]float32, []int, error) {
	v, shape, err := npy.Read[float32](path)
	if err != nil {
		return nil, nil, err
	}
	if len(shape) != 2 {
		return nil, nil, fmt.Errorf("%s: shape %v, want N×d", path, shape)
	}
	return v, shape, nil
}

// defaultSweep is the reference's two default settings, then a grid from
// narrow to wide beams in both forms; every answer holds at least maxK items.
// A setting the grid repeats (the serving default is one of its widths) is
// listed once, where it first appears.
func defaultSweep(maxK int) []retrieve.Beam {
	ref := retrieve.DefaultParams()
	ref.K, ref.TopK[0] = maxK, max(ref.TopK[0], maxK)
	serving := retrieve.DefaultServing()
	serving.LevelTopN[5] = max(serving.LevelTopN[5], maxK)
	beams := []retrieve.Beam{ref, serving}
	for _, w := range []int{25, 50, 100, 200, 400, 800} {
		sp := &retrieve.ServingParams{LevelTopN: [6]int{100, 200, w, w, w, max(maxK, w)}}
		beams = append(beams, sp)
	}
	// Narrow settings that score a few % of a 50 K-item corpus (well under 1%
	// of 1 M): few enter points, short lists, where SL2G is cheapest too.
	for _, n := range [][3]int{{10, 50, 10}, {20, 50, 25}, {50, 100, 50}} {
		beams = append(beams, &retrieve.ServingParams{LevelTopN: [6]int{n[0], n[1], n[2], n[2], n[2], max(maxK, n[2])}})
	}
	for _, w := range [][2]int{{50, 10}, {100, 25}} {
		for _, ns := range [][]int{{4, 1, 1}, {6, 2, 1}} {
			beams = append(beams, &retrieve.Params{StartLevel: 2, TopK: []int{max(maxK, 200), w[0], w[1]}, NumScoring: ns, K: maxK})
		}
	}
	for _, s := range []int{1, 2, 4} {
		for _, ns := range [][]int{{1, 1, 1}, {3, 1, 1}, {6, 2, 1}} {
			p := retrieve.DefaultParams()
			p.TopK = []int{max(maxK, 200*s), 200 * s, 100 * s}
			p.NumScoring = ns
			p.K = maxK
			beams = append(beams, p)
		}
	}
	seen := make(map[string]bool, len(beams))
	return slices.DeleteFunc(beams, func(b retrieve.Beam) bool {
		dup := seen[b.String()]
		seen[b.String()] = true
		return dup
	})
}

// sweepEfs are the ef values of the SL2G sweep: from far below to far above
// the reference's work (about 1–2% of the corpus).
var sweepEfs = []int{8, 16, 32, 64, 128, 256, 512, 1024, 2048}

// sl2gSweep is SL2G at each of sweepEfs that fits a corpus of n items, each
// answering maxK items (ef < maxK answers the best maxK of what it scored).
func sl2gSweep(maxK, n int) []retrieve.Beam {
	var out []retrieve.Beam
	for _, ef := range sweepEfs {
		if ef <= n {
			out = append(out, &retrieve.SL2G{Ef: ef, K: maxK})
		}
	}
	return out
}

func (c *EvalCmd) sweep(g *Globals, s *evalSetup, cfg eval.Config) error {
	maxK := c.Ks[len(c.Ks)-1]
	settings := append(defaultSweep(maxK), sl2gSweep(maxK, s.graph.Len())...)
	res, err := eval.Sweep(g.Context(), cfg, s.queries, s.graph, s.model, settings)
	if err != nil {
		return err
	}
	out := c.SweepOut
	if out == "" {
		out = filepath.Join(c.RunDir, "sweep")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := res.SaveCSV(filepath.Join(out, "sweep.csv")); err != nil {
		return err
	}
	if err := res.SavePNG(filepath.Join(out, "sweep.png"), 8*vg.Inch, 5*vg.Inch); err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.Stdout(), res)
	}
	w := g.Stdout()
	fmt.Fprintf(w, "sweep over %d settings (beam and SL2G), %d users; wrote %s and %s\n", len(res.Reports), len(s.queries),
		filepath.Join(out, "sweep.csv"), filepath.Join(out, "sweep.png"))
	for i := range res.Reports {
		printRecallLine(w, &res.Reports[i])
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printRecallLine(w io.Writer, r *eval.Report) {
	var parts []string
	for _, rc := range r.Recall {
		part := fmt.Sprintf("R@%d %.4f±%.4f/%s", rc.K, rc.Beam, rc.BeamSE, optional(rc.Exact))
		if rc.Coverage != nil {
			part += fmt.Sprintf(" cov %.3f", *rc.Coverage)
		}
		parts = append(parts, part)
	}
	fmt.Fprintf(w, "  %-40s items %7.0f (%.2f%%)  %s  (method±se/brute)\n", r.Beam, r.Scored.Mean, 100*r.ScoredFraction, strings.Join(parts, "  "))
}

func printEvalReport(w io.Writer, r *eval.Report) {
	fmt.Fprintf(w, "%s %s over %d users, %d items (± one standard error over users)\n", r.Method, r.Beam, r.Queries, r.Items)
	fmt.Fprintf(w, "  %-6s %17s %17s %8s %13s %17s\n", "K", "recall", "brute force", "ratio", "gap", "coverage")
	pm := func(v float64, se *float64) string {
		if se == nil {
			return "-"
		}
		return fmt.Sprintf("%.4f ± %.4f", v, *se)
	}
	for _, rc := range r.Recall {
		ratio, gap, exact, cov := "-", "-", "-", "-"
		if rc.Exact != nil {
			exact = pm(*rc.Exact, rc.ExactSE)
			gap = pm(*rc.Exact-rc.Beam, rc.GapSE)
			if *rc.Exact > 0 {
				ratio = fmt.Sprintf("%.3f", rc.Beam / *rc.Exact)
			}
		}
		if rc.Coverage != nil {
			cov = pm(*rc.Coverage, rc.CoverageSE)
		}
		fmt.Fprintf(w, "  %-6d %17s %17s %8s %13s %17s\n", rc.K, pm(rc.Beam, &rc.BeamSE), exact, ratio, gap, cov)
	}
	fmt.Fprintf(w, "  items scored per query: mean %.0f, p50 %.0f, p99 %.0f (%.2f%% of the corpus)\n",
		r.Scored.Mean, r.Scored.P50, r.Scored.P99, 100*r.ScoredFraction)
	for _, rd := range r.Rounds {
		fmt.Fprintf(w, "    round %d (level %d): mean %.0f\n", rd.Round, rd.Level, rd.Scored.Mean)
	}
	fmt.Fprintf(w, "  latency per query: bind p50 %.2f ms; search p50 %.2f ms p99 %.2f ms", r.BindLatency.P50, r.BeamLatency.P50, r.BeamLatency.P99)
	if r.ExactLatency != nil {
		fmt.Fprintf(w, "; brute force p50 %.2f ms p99 %.2f ms", r.ExactLatency.P50, r.ExactLatency.P99)
	}
	fmt.Fprintln(w)
}

func optional(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.4f", *v)
}
