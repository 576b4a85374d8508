package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"nann/hnsw"
	"nann/internal/npy"
	"nann/internal/progress"
	"nann/internal/safefile"
)

// IndexCmd builds (or imports) the HNSW graph and writes an index directory
// holding graph.hnsw (our checksummed format) and the reference's NumPy
// layout (enter_points.npy, neighbors_level_{0,1}_{values,row_splits}.npy).
type IndexCmd struct {
	Embs           string `help:"Item embeddings: float32 N×d .npy." required:"" type:"existingfile"`
	Out            string `help:"Output index directory, replaced atomically." required:""`
	ImportNpy      string `name:"import-npy" help:"Import this reference-layout directory (e.g. from Faiss) instead of building." type:"existingdir"`
	M              int    `help:"Links per node on levels >= 1 (2·M on level 0)." default:"${index_m}"`
	EfConstruction int    `name:"ef-construction" help:"Beam width while building." default:"${index_ef_construction}"`
	Seed           uint64 `help:"Seed of the level assignment; the same seed gives the same graph whatever --workers is." default:"${index_seed}"`
	FaissLinks     bool   `name:"faiss-links" help:"New nodes select up to 2·M links on level 0 as Faiss does (default: M, as hnswlib)."`
	Workers        int    `help:"Inserting goroutines (0: all cores); changes the build time, not the graph."`
	CheckQueries   int    `name:"check-queries" help:"Measure recall@10 vs exact search on this many noisy base-point queries (0: skip)."`
	CheckEf        []int  `name:"check-ef" help:"Beam widths for --check-queries." default:"16,32,64,128"`
	Queries        string `help:"With --check-queries: take the queries from this float32 nq×d .npy (first N rows) instead of generating them." type:"existingfile"`
	JSON           bool   `name:"json" help:"Print the report as JSON."`
}

// indexReport is the --json output.
type indexReport struct {
	Out      string `json:"out"`
	Imported string `json:"imported,omitempty"`
	N        int    `json:"n"`
	Dim      int    `json:"dim"`
	// M, EfC and Workers are those of a build; an import (the reference's
	// NumPy layout does not record them) leaves them out.
	M       int `json:"M,omitempty"`
	EfC     int `json:"ef_construction,omitempty"`
	Workers int `json:"workers,omitempty"`
	// AdjLevels is the number of levels whose neighbour lists the graph
	// holds: all of them for a build, StartLevel for an import.
	AdjLevels int `json:"adj_levels"`
	// Vectors counts degenerate embedding rows (all-zero, duplicates).
	Vectors hnsw.VectorStats `json:"vectors"`
	// Warnings are the problems printed as WARNING lines: degenerate
	// vectors, nodes not reachable from the entry point.
	Warnings     []string         `json:"warnings,omitempty"`
	BuildSeconds float64          `json:"build_seconds"`
	BuildCPU     float64          `json:"build_cpu_seconds"`
	WriteSeconds float64          `json:"write_seconds"`
	Levels       int              `json:"levels"`
	EnterPoints  int              `json:"enter_points"`
	RepairLinks  int              `json:"repair_links"`
	BytesPerNode float64          `json:"bytes_per_node"`
	Check        []efCheck        `json:"check,omitempty"`
	Stats        hnsw.Stats       `json:"stats"`
	Files        map[string]int64 `json:"files"`
}

type efCheck struct {
	Ef       int     `json:"ef"`
	Recall10 float64 `json:"recall10"`
	QPS      float64 `json:"qps"`
}

func (c *IndexCmd) config() (hnsw.Config, error) {
	cfg := hnsw.DefaultConfig()
	cfg.M, cfg.EfConstruction, cfg.Seed, cfg.Workers = c.M, c.EfConstruction, c.Seed, c.Workers
	cfg.FaissLinks = c.FaissLinks
	errs := []error{cfg.Validate()}
	if c.CheckQueries < 0 {
		errs = append(errs, fmt.Errorf("--check-queries %d is negative", c.CheckQueries))
	}
	for _, ef := range c.CheckEf {
		if ef < 1 {
			errs = append(errs, fmt.Errorf("--check-ef %d, want >= 1", ef))
		}
	}
	return cfg, errors.Join(errs...)
}

// Run builds or imports the graph, writes the directory and reports.
func (c *IndexCmd) Run(g *Globals) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	if err := checkIndexOut(c.Out); err != nil {
		return err
	}
	out := filepath.Clean(c.Out)
	if _, err := safefile.CleanStale(filepath.Dir(out), filepath.Base(out), slog.Default()); err != nil {
		slog.Warn("index: cannot remove stale temporaries", "err", err)
	}
	x, shape, err := npy.Read[float32](c.Embs)
	if err != nil {
		return fmt.Errorf("--embs: %w", err)
	}
	if len(shape) != 2 || shape[1] == 0 {
		return fmt.Errorf("--embs %s: shape %v, want (N, d) with d > 0", c.Embs, shape)
	}
	n, dim := shape[0], shape[1]
	if err := hnsw.CheckFinite(x, dim); err != nil {
		return fmt.Errorf("--embs %s: %w", c.Embs, err)
	}
	rep := indexReport{Out: c.Out, Imported: c.ImportNpy, N: n, Dim: dim}
	if c.ImportNpy == "" {
		rep.Workers = cfg.Workers
		if rep.Workers == 0 {
			rep.Workers = runtime.GOMAXPROCS(0)
		}
	}
	rep.Vectors = hnsw.Degenerate(x, dim)
	if v := rep.Vectors; v.ZeroRows > 0 || v.DuplicateRows > 0 {
		rep.warn(fmt.Sprintf("%s: %d of %d rows are all zero and %d are exact duplicates of an earlier row; such vectors cannot be told apart and leave graph nodes unreachable",
			c.Embs, v.ZeroRows, n, v.DuplicateRows))
	}
	start, cpu0 := time.Now(), cpuSeconds()
	gr, err := c.graph(g, x, dim, n, cfg)
	if err != nil {
		return err
	}
	rep.BuildSeconds, rep.BuildCPU = time.Since(start).Seconds(), cpuSeconds()-cpu0
	rep.M, rep.EfC = gr.M(), gr.EfConstruction()
	start = time.Now()
	if rep.Files, err = hnsw.WriteDir(c.Out, gr); err != nil {
		return err
	}
	rep.WriteSeconds = time.Since(start).Seconds()
	rep.Stats = gr.Analyze()
	rep.AdjLevels = gr.AdjLevels()
	for _, ls := range rep.Stats.Levels {
		if ls.Reachable >= 0 && ls.Reachable < ls.Nodes {
			rep.warn(fmt.Sprintf("only %d of %d nodes (%.1f%%) of level %d are reachable from the entry point; searches never return the other %d",
				ls.Reachable, ls.Nodes, 100*float64(ls.Reachable)/float64(ls.Nodes), ls.Level, ls.Nodes-ls.Reachable))
		}
	}
	rep.Levels, rep.BytesPerNode = gr.Levels(), gr.BytesPerNode()
	rep.EnterPoints = len(gr.EnterPoints(hnsw.StartLevel))
	rep.RepairLinks = gr.Repaired()
	if c.CheckQueries > 0 {
		if rep.Check, err = c.check(gr, x, dim, rep.Workers); err != nil {
			return err
		}
	}
	return c.print(g, &rep)
}

func (c *IndexCmd) graph(g *Globals, x []float32, dim, n int, cfg hnsw.Config) (*hnsw.Graph, error) {
	if c.ImportNpy != "" {
		slog.Info("index import", "dir", c.ImportNpy, "n", n)
		return hnsw.ReadNPY(c.ImportNpy, n, hnsw.StartLevel)
	}
	slog.Info("index build", "n", n, "dim", dim, "M", cfg.M, "efConstruction", cfg.EfConstruction, "seed", cfg.Seed)
	bar := progress.New("hnsw insert", int64(n))
	gr, err := hnsw.Build(g.Context(), x, dim, cfg, func(done int) { bar.Set(int64(done)) })
	bar.Finish()
	return gr, err
}

// warn records a problem for the report and logs it.
func (r *indexReport) warn(msg string) {
	r.Warnings = append(r.Warnings, msg)
	slog.Warn("index: " + msg)
}

// checkIndexOut refuses an --out that exists but is not an index
// directory, since writing replaces it as a whole.
func checkIndexOut(out string) error {
	if err := hnsw.CheckDirOut(out); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// check measures recall@10 against exact search with queries made as the
// peer anchor script makes them (base points plus 0.1·std noise).
func (c *IndexCmd) check(gr *hnsw.Graph, x []float32, dim, workers int) ([]efCheck, error) {
	ix, err := hnsw.NewIndex(gr, x, dim)
	if err != nil {
		return nil, err
	}
	q := hnsw.NoisyQueries(x, dim, c.CheckQueries, 0.1, 0)
	if c.Queries != "" {
		var shape []int
		if q, shape, err = npy.Read[float32](c.Queries); err != nil {
			return nil, fmt.Errorf("--queries: %w", err)
		}
		if len(shape) != 2 || shape[1] != dim {
			return nil, fmt.Errorf("--queries %s: shape %v, want (nq, %d)", c.Queries, shape, dim)
		}
		q = q[:min(len(q), c.CheckQueries*dim)]
	}
	truth := hnsw.ExactKNN(x, dim, q, 10, workers)
	var out []efCheck
	for _, ef := range c.CheckEf {
		start := time.Now()
		got, err := ix.SearchAll(q, 10, ef, workers)
		if err != nil {
			return nil, err
		}
		s := time.Since(start).Seconds()
		out = append(out, efCheck{Ef: ef, Recall10: hnsw.Recall(got, truth), QPS: float64(len(got)) / s})
	}
	return out, nil
}

func (c *IndexCmd) print(g *Globals, rep *indexReport) error {
	w := g.Stdout()
	if c.JSON {
		enc := json.NewEncoder(w)
		return enc.Encode(rep)
	}
	if rep.Imported != "" {
		fmt.Fprintf(w, "index %s: %d nodes × %d dims, imported from %s in %.2fs (the reference's NumPy layout: neighbour lists of levels 0..%d and the enter points of levels >= %d; it does not record M or efConstruction)\n",
			rep.Out, rep.N, rep.Dim, rep.Imported, rep.BuildSeconds, rep.AdjLevels-1, rep.AdjLevels)
	} else {
		fmt.Fprintf(w, "index %s: %d nodes × %d dims, built in %.2fs (%.2f CPU s; M %d, efConstruction %d, %d workers)\n",
			rep.Out, rep.N, rep.Dim, rep.BuildSeconds, rep.BuildCPU, rep.M, rep.EfC, rep.Workers)
	}
	fmt.Fprintf(w, "levels %d, enter points (level >= %d) %d, graph %.1f bytes/node, %d links added to reconnect pruned-off nodes\n",
		rep.Levels, hnsw.StartLevel, rep.EnterPoints, rep.BytesPerNode, rep.RepairLinks)
	for _, ls := range rep.Stats.Levels {
		if ls.Reachable < 0 {
			fmt.Fprintf(w, "  level %d: %d enter points (no neighbour lists in the layout)\n", ls.Level, ls.Nodes)
			continue
		}
		fmt.Fprintf(w, "  level %d: %d nodes, degree %d..%d mean %.1f, reachable %d (%.1f%%)\n",
			ls.Level, ls.Nodes, ls.MinDegree, ls.MaxDegree, ls.MeanDeg, ls.Reachable, 100*float64(ls.Reachable)/float64(max(ls.Nodes, 1)))
	}
	for _, msg := range rep.Warnings {
		fmt.Fprintf(w, "WARNING: %s\n", msg)
	}
	for _, ch := range rep.Check {
		fmt.Fprintf(w, "  ef %d: recall@10 %.4f, %.0f queries/s\n", ch.Ef, ch.Recall10, ch.QPS)
	}
	return nil
}

// cpuSeconds is the process's user+system CPU time; beside wall time it
// shows how much of a loaded machine the build actually got.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
