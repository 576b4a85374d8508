package eval

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"math/rand/v2"
	"nann/item"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"nann/retrieve"
)

// ---- synthetic material: clustered vectors and a brute-force kNN graph ----

type world struct {
	dim     int
	data    []float32
	model   *retrieve.L2
	graph   *retrieve.AdjacencyGraph
	queries []Query[[]float32]
}

func sqDist(a, b []float32) float32 {
	var s float32
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

// knn returns, for each member, its k nearest other members (brute force,
// ties by lower row), keeping a sorted list of the best k per member.
func knn(data []float32, dim int, members []item.Row, k int) map[item.Row][]item.Row {
	type cand struct {
		d   float32
		row item.Row
	}
	less := func(a, b cand) bool { return a.d < b.d || (a.d == b.d && a.row < b.row) }
	out := make(map[item.Row][]item.Row, len(members))
	best := make([]cand, 0, k+1)
	for _, u := range members {
		best = best[:0]
		x := data[int(u)*dim : int(u+1)*dim]
		for _, v := range members {
			if v == u {
				continue
			}
			c := cand{sqDist(x, data[int(v)*dim:int(v+1)*dim]), v}
			if len(best) == k && !less(c, best[k-1]) {
				continue
			}
			i := len(best)
			best = append(best, c)
			for ; i > 0 && less(c, best[i-1]); i-- {
				best[i] = best[i-1]
			}
			best[i] = c
			best = best[:min(len(best), k)]
		}
		for _, c := range best {
			out[u] = append(out[u], c.row)
		}
	}
	return out
}

// newWorld builds n clustered vectors, a layered kNN graph (level 0: 12-NN
// plus reverse links plus 2 random long links; level 1: 1 node in 12, 8-NN
// among them; level 2: 1 in 10 of those, the enter points) and nq queries,
// each a noisy copy of a random item, which is its ground truth.
func newWorld(t testing.TB, seed uint64, n, dim, clusters, nq int, noise float32) *world {
	rng := rand.New(rand.NewPCG(seed, 99))
	centers := make([]float32, clusters*dim)
	for i := range centers {
		centers[i] = float32(rng.NormFloat64()) * 3
	}
	data := make([]float32, n*dim)
	for i := range n {
		c := rng.IntN(clusters)
		for j := range dim {
			data[i*dim+j] = centers[c*dim+j] + float32(rng.NormFloat64())
		}
	}
	top := make([]int, n)
	all := make([]item.Row, n)
	var l1 []item.Row
	for i := range n {
		all[i] = item.Row(i)
		if rng.IntN(12) == 0 {
			top[i] = 1
			if rng.IntN(10) == 0 {
				top[i] = 2
			}
			l1 = append(l1, item.Row(i))
		}
	}
	top[l1[0]] = 2
	adj := [][][]item.Row{make([][]item.Row, n), make([][]item.Row, n)}
	for u, nb := range knn(data, dim, all, 12) {
		adj[0][u] = append(adj[0][u], nb...)
		for _, v := range nb {
			adj[0][v] = append(adj[0][v], u)
		}
	}
	for u := range n {
		adj[0][u] = append(adj[0][u], item.Row(rng.IntN(n)), item.Row(rng.IntN(n)))
		slices.Sort(adj[0][u])
		adj[0][u] = slices.Compact(adj[0][u])
	}
	for u, nb := range knn(data, dim, l1, 8) {
		adj[1][u] = nb
	}
	g, err := retrieve.NewAdjacencyGraph(adj, top)
	if err != nil {
		t.Fatal(err)
	}
	m, err := retrieve.NewL2(data, dim)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{dim: dim, data: data, model: m, graph: g}
	for range nq {
		truth := item.Row(rng.IntN(n))
		q := make([]float32, dim)
		for j := range q {
			q[j] = data[int(truth)*dim+j] + noise*float32(rng.NormFloat64())
		}
		w.queries = append(w.queries, Query[[]float32]{Input: q, Truth: truth})
	}
	return w
}

// exactRank ranks the truth among all items by sorting (score desc, row asc).
func (w *world) exactRank(q Query[[]float32]) int {
	sc := w.model.NewScorer()
	if err := sc.Bind(q.Input); err != nil {
		panic(err)
	}
	n := w.model.NumItems()
	rows := item.AllRows(n)
	scores := make([]float32, n)
	sc.Score(rows, scores)
	slices.SortFunc(rows, func(a, b item.Row) int {
		if scores[a] != scores[b] {
			if scores[a] > scores[b] {
				return -1
			}
			return 1
		}
		return int(a - b)
	})
	return slices.Index(rows, q.Truth)
}

// smallBeam is the default eval-form beam scaled to the test corpora.
func smallBeam() *retrieve.Params {
	return &retrieve.Params{StartLevel: 2, TopK: []int{100, 50, 25}, NumScoring: []int{3, 1, 1}, K: 50}
}

func testConfig(workers int) Config {
	return Config{Ks: []int{10, 25, 50}, Workers: workers}
}

func TestRecallAgainstIndependentComputation(t *testing.T) {
	w := newWorld(t, 1, 4000, 16, 40, 300, 3.0)
	beam := smallBeam()
	rep, err := Run(context.Background(), testConfig(2), w.queries, w.graph, w.model, beam)
	if err != nil {
		t.Fatal(err)
	}
	// Independent: sequential beam search and a full sort per query.
	s := retrieve.NewSearcher(w.graph)
	sc := w.model.NewScorer()
	beamHits := make([]int, len(rep.Recall))
	exactHits := make([]int, len(rep.Recall))
	perRound := make([]float64, beam.Rounds())
	for _, q := range w.queries {
		if err := sc.Bind(q.Input); err != nil {
			t.Fatal(err)
		}
		res, err := s.Search(sc, beam)
		if err != nil {
			t.Fatal(err)
		}
		er := w.exactRank(q)
		for i, rc := range rep.Recall {
			if slices.Contains(res.Rows[:rc.K], q.Truth) {
				beamHits[i]++
			}
			if er < rc.K {
				exactHits[i]++
			}
		}
		for j, r := range res.Stats.Rounds {
			perRound[j] += float64(r.Scored) / float64(len(w.queries))
		}
	}
	nq := float64(len(w.queries))
	for i, rc := range rep.Recall {
		if rc.Beam != float64(beamHits[i])/nq || rc.Exact == nil || *rc.Exact != float64(exactHits[i])/nq {
			t.Fatalf("K=%d: report beam %g exact %v, independent %g %g", rc.K, rc.Beam, rc.Exact,
				float64(beamHits[i])/nq, float64(exactHits[i])/nq)
		}
	}
	for j, r := range rep.Rounds {
		if d := r.Scored.Mean - perRound[j]; d > 1e-9 || d < -1e-9 {
			t.Fatalf("round %d: mean scored %g, independent %g", j, r.Scored.Mean, perRound[j])
		}
	}
	for _, rc := range rep.Recall {
		t.Logf("beam %s: recall@%d %.3f vs brute force %.3f", rep.Beam, rc.K, rc.Beam, *rc.Exact)
	}
	t.Logf("scored %.0f of %d (%.1f%%)", rep.Scored.Mean, rep.Items, 100*rep.ScoredFraction)
	last := rep.Recall[len(rep.Recall)-1]
	// A kNN graph with the default beam should come close to the ceiling while
	// scoring well under the whole corpus.
	if last.Beam < 0.9**last.Exact || *last.Exact < 0.3 {
		t.Fatalf("recall@%d beam %.3f, brute force %.3f: beam too far below the ceiling", last.K, last.Beam, *last.Exact)
	}
	if rep.ScoredFraction >= 0.8 || rep.Scored.P99 < rep.Scored.P50 || rep.Scored.Max < rep.Scored.P99 {
		t.Fatalf("implausible scored summary %+v (fraction %g)", rep.Scored, rep.ScoredFraction)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
}

func TestDeterministicAcrossWorkers(t *testing.T) {
	w := newWorld(t, 2, 1500, 8, 15, 120, 1)
	beams := []retrieve.Beam{smallBeam(), &retrieve.ServingParams{LevelTopN: [6]int{20, 50, 50, 50, 50, 50}}}
	var got []string
	for _, workers := range []int{1, 2, 5} {
		res, err := Sweep(context.Background(), testConfig(workers), w.queries, w.graph, w.model, beams)
		if err != nil {
			t.Fatal(err)
		}
		for i := range res.Reports { // latency is the only scheduling-dependent part
			r := &res.Reports[i]
			r.BindLatency, r.BeamLatency, r.ExactLatency = Summary{}, Summary{}, nil
		}
		b, _ := json.Marshal(res)
		got = append(got, string(b))
	}
	if got[0] != got[1] || got[0] != got[2] {
		t.Fatalf("reports differ with the number of workers:\n%s\n%s\n%s", got[0], got[1], got[2])
	}
}

func TestSweepWritesCurve(t *testing.T) {
	w := newWorld(t, 3, 4000, 16, 40, 200, 3)
	n := w.model.NumItems()
	var beams []retrieve.Beam
	widths := []int{4, 10, 25, 100}
	for _, width := range widths {
		beams = append(beams, &retrieve.ServingParams{LevelTopN: [6]int{5, width, width / 2, width / 2, width / 2, 50}})
	}
	beams = append(beams,
		smallBeam(),
		// Wide enough to score every reachable item: the brute-force answer.
		&retrieve.Params{StartLevel: 2, TopK: []int{n, n, n}, NumScoring: []int{retrieve.MaxRoundsPerLev, 1, 1}, K: 50})
	res, err := Sweep(context.Background(), testConfig(2), w.queries, w.graph, w.model, beams)
	if err != nil {
		t.Fatal(err)
	}
	widest := res.Reports[len(res.Reports)-1]
	for _, rc := range widest.Recall {
		if rc.Beam != *rc.Exact {
			t.Fatalf("widest beam recall@%d %g, brute force %g", rc.K, rc.Beam, *rc.Exact)
		}
	}
	if widest.Scored.Mean < float64(n) {
		t.Fatalf("widest beam scored %g items, want every one of %d (graph connected)", widest.Scored.Mean, n)
	}
	for i := 1; i < len(widths); i++ { // wider serving settings score more
		if res.Reports[i].Scored.Mean <= res.Reports[i-1].Scored.Mean {
			t.Fatalf("serving setting %d scored %g, not more than setting %d (%g)", i, res.Reports[i].Scored.Mean, i-1, res.Reports[i-1].Scored.Mean)
		}
	}

	dir := t.TempDir()
	if d := os.Getenv("NANN_EVAL_OUT"); d != "" { // keep the files to look at them
		dir = d
	}
	csvPath, pngPath := filepath.Join(dir, "sweep.csv"), filepath.Join(dir, "sweep.png")
	if err := res.SaveCSV(csvPath); err != nil {
		t.Fatal(err)
	}
	if err := res.SavePNG(pngPath, 0, 0); err != nil {
		t.Fatal(err)
	}
	f, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(f)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+len(beams)*3 || strings.Join(recs[0], ",") != strings.Join(csvHeader, ",") {
		t.Fatalf("csv has %d records, header %v", len(recs), recs[0])
	}
	// Row order: settings in order, then Ks; values round-trip.
	row := recs[1+3*len(widths)+2] // smallBeam, K=50
	if row[0] != smallBeam().String() || row[1] != MethodBeam || row[2] != "50" {
		t.Fatalf("unexpected row %v", row)
	}
	if v, _ := strconv.ParseFloat(row[5], 64); v != res.Reports[len(widths)].Recall[2].Beam {
		t.Fatalf("csv recall %s, report %g", row[5], res.Reports[len(widths)].Recall[2].Beam)
	}
	// The CSV reads back into the points it was written from.
	back, err := ReadPointsCSV(bytes.NewReader(f), csvPath)
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-7*math.Abs(b) }
	if want := res.Points(); len(back) != len(want) || back[len(back)-1].Beam != want[len(want)-1].Beam ||
		!near(*back[7].Coverage, *want[7].Coverage) || !near(back[7].RecallSE, want[7].RecallSE) || !near(*back[7].GapSE, *want[7].GapSE) {
		t.Fatalf("read back %+v\nwritten %+v", back[7], want[7])
	}
	png, err := os.ReadFile(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 1000 || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("sweep.png is not a PNG (%d bytes)", len(png))
	}
}

func TestBadInputIsAnError(t *testing.T) {
	w := newWorld(t, 4, 600, 4, 6, 20, 1)
	ctx := context.Background()
	beam := retrieve.Beam(smallBeam())
	mustFail := func(name, want string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, want)
		}
	}
	qs := slices.Clone(w.queries)
	qs[7].Truth = 600
	_, err := Run(ctx, testConfig(2), qs, w.graph, w.model, beam)
	mustFail("truth out of range", "query 7", err)

	qs = slices.Clone(w.queries)
	qs[11].Input = []float32{1, 2}
	_, err = Run(ctx, testConfig(2), qs, w.graph, w.model, beam)
	mustFail("bad query vector", "query 11", err)

	_, err = Run(ctx, testConfig(2), w.queries, w.graph, w.model, &retrieve.ServingParams{LevelTopN: [6]int{10, 20, 20, 20, 20, 40}})
	mustFail("k above answer size", "answer size", err)

	_, err = Run(ctx, testConfig(2), w.queries, w.graph, w.model, &retrieve.ServingParams{LevelTopN: [6]int{10, 20, 20, 20, 20, 601}})
	mustFail("beam wider than corpus", "exceeds the corpus", err)

	small, _ := retrieve.NewL2(w.data[:100*w.dim], w.dim)
	_, err = Run(ctx, testConfig(2), w.queries, w.graph, retrieve.Corpus[[]float32](small), beam)
	mustFail("model/graph mismatch", "scorer covers 100 items", err)

	cfg := testConfig(2)
	cfg.Ks = []int{100, 50}
	_, err = Run(ctx, cfg, w.queries, w.graph, w.model, beam)
	mustFail("unordered ks", "ks[1]", err)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = Run(cctx, testConfig(2), w.queries, w.graph, w.model, beam)
	mustFail("cancelled", "canceled", err)
}

func TestSummary(t *testing.T) {
	v := make([]float64, 100)
	for i := range v {
		v[i] = float64(100 - i) // 100..1, unsorted
	}
	s := Summarize(v)
	if s.Mean != 50.5 || s.P50 != 50 || s.P99 != 99 || s.Max != 100 || v[0] != 100 {
		t.Fatalf("summary %+v", s)
	}
	if s := Summarize([]float64{3}); s.P50 != 3 || s.P99 != 3 {
		t.Fatalf("one value: %+v", s)
	}
}

// panicModel is an L2 model whose scorer panics on one query's input.
type panicModel struct{ *retrieve.L2 }

type panicScorer struct {
	retrieve.QueryScorer[[]float32]
	boom bool
}

func (m panicModel) NewScorer() retrieve.QueryScorer[[]float32] {
	return &panicScorer{QueryScorer: m.L2.NewScorer()}
}

func (s *panicScorer) Bind(q []float32) error {
	s.boom = q[0] == 12345
	return s.QueryScorer.Bind(q)
}

func (s *panicScorer) Score(rows []item.Row, out []float32) {
	if s.boom {
		panic("scorer bug")
	}
	s.QueryScorer.Score(rows, out)
}

func TestScorerPanicIsAnError(t *testing.T) {
	w := newWorld(t, 5, 600, 4, 6, 20, 1)
	qs := slices.Clone(w.queries)
	qs[3].Input = slices.Clone(qs[3].Input)
	qs[3].Input[0] = 12345
	_, err := Run(context.Background(), testConfig(2), qs, w.graph, retrieve.Corpus[[]float32](panicModel{w.model}), smallBeam())
	if err == nil || !strings.Contains(err.Error(), "query 3") || !strings.Contains(err.Error(), "scorer bug") {
		t.Fatalf("error %v, want query 3's panic", err)
	}
}

// The recall axis of sweep.png has 5 to 10 evenly spaced labels whatever
// its range (it used to get two on a 0–0.3 axis).
func TestSweepPlotRecallTicks(t *testing.T) {
	for _, top := range []float64{0.02, 0.05, 0.1, 0.14, 0.2, 0.27, 0.3, 0.33, 0.5, 0.7, 0.95} {
		exact := top
		res := &SweepResult{Ks: []int{50, 200}, Reports: []Report{
			{Beam: "a", Queries: 10, Items: 100, Recall: []Recall{{K: 50, Beam: top / 3}, {K: 200, Beam: top * 0.9, Exact: &exact}}},
			{Beam: "b", Queries: 10, Items: 100, Recall: []Recall{{K: 50, Beam: top / 2}, {K: 200, Beam: top * 0.95, Exact: &exact}}},
		}}
		res.Reports[0].Scored.Mean, res.Reports[1].Scored.Mean = 10, 40
		p, err := res.Plot()
		if err != nil {
			t.Fatal(err)
		}
		var labels []float64
		for _, tk := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
			if tk.Label == "" {
				continue
			}
			v, err := strconv.ParseFloat(tk.Label, 64)
			if err != nil || strings.HasPrefix(tk.Label, "-") || math.Abs(v-tk.Value) > 1e-9 || tk.Value < p.Y.Min || tk.Value > p.Y.Max+1e-12 {
				t.Fatalf("axis 0–%g: tick %+v: label does not read back or lies outside the axis", p.Y.Max, tk)
			}
			labels = append(labels, v)
		}
		if len(labels) < 5 || len(labels) > 10 {
			t.Errorf("axis 0–%g: %d labelled ticks %v, want 5 to 10", p.Y.Max, len(labels), labels)
			continue
		}
		for i := 2; i < len(labels); i++ {
			if d0, d := labels[1]-labels[0], labels[i]-labels[i-1]; math.Abs(d-d0) > 1e-9 {
				t.Errorf("axis 0–%g: uneven labels %v", p.Y.Max, labels)
				break
			}
		}
	}
}
