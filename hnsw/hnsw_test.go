package hnsw

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"nann/internal/npy"
	"nann/item"
)

// testData is 5 K clustered 32-d vectors shared by the fast tests.
var testData = sync.OnceValues(func() ([]float32, *Graph) {
	x := Clustered(5000, 32, 50, 0.5, 7)
	g, err := Build(context.Background(), x, 32, DefaultConfig(), nil)
	if err != nil {
		panic(err)
	}
	return x, g
})

func recallAt(t testing.TB, ix *Index, x []float32, dim, nq, ef int) float64 {
	t.Helper()
	q := NoisyQueries(x, dim, nq, 0.1, 3)
	truth := ExactKNN(x, dim, q, 10, runtime.GOMAXPROCS(0))
	got, err := ix.SearchAll(q, 10, ef, runtime.GOMAXPROCS(0))
	if err != nil {
		t.Fatal(err)
	}
	return Recall(got, truth)
}

func TestBuildRecall(t *testing.T) {
	x, g := testData()
	ix, err := NewIndex(g, x, 32)
	if err != nil {
		t.Fatal(err)
	}
	prev := 0.0
	for _, ef := range []int{16, 64} {
		r := recallAt(t, ix, x, 32, 200, ef)
		t.Logf("ef %d recall@10 %.4f", ef, r)
		if r < 0.9 || r < prev-0.01 {
			t.Errorf("ef %d: recall@10 %.4f, want >= 0.9 and not below smaller ef", ef, r)
		}
		prev = r
	}
	if err := g.validate(); err != nil {
		t.Fatal(err)
	}
}

func TestBuildStructure(t *testing.T) {
	_, g := testData()
	st := g.Analyze()
	t.Logf("%+v", st.Levels[0])
	// Build repairs what pruning disconnects: every node is reachable.
	if st.Levels[0].Nodes != 5000 || st.Levels[0].Reachable != 5000 {
		t.Errorf("level 0: %d nodes, %d reachable, want all 5000", st.Levels[0].Nodes, st.Levels[0].Reachable)
	}
	t.Logf("links added by the reachability repair: %d", g.Repaired())
	for _, ls := range st.Levels {
		maxDeg := g.M()
		if ls.Level == 0 {
			maxDeg = 2 * g.M()
		}
		if ls.MaxDegree > maxDeg {
			t.Errorf("level %d: degree %d above %d", ls.Level, ls.MaxDegree, maxDeg)
		}
		if ls.Reachable != ls.Nodes {
			t.Errorf("level %d: %d of %d reachable", ls.Level, ls.Reachable, ls.Nodes)
		}
	}
	// ~1/M of nodes reach level 1 with mult 1/ln M.
	if n1 := st.Levels[1].Nodes; n1 < 100 || n1 > 220 {
		t.Errorf("level 1 has %d nodes, expected about 5000/32", n1)
	}
	for i := range item.Row(5000) {
		for _, nb := range g.Neighbors(0, i) {
			if nb == i {
				t.Fatalf("self loop at %d", i)
			}
		}
	}
}

func TestSingleWorkerDeterministic(t *testing.T) {
	x := Clustered(800, 8, 10, 0.5, 1)
	g1, g2 := buildOneWorker(t, x, 8, 8), buildOneWorker(t, x, 8, 8)
	for l := range g1.Levels() {
		for i := range item.Row(800) {
			if fmt.Sprint(g1.Neighbors(l, i)) != fmt.Sprint(g2.Neighbors(l, i)) {
				t.Fatalf("level %d node %d differs between two single-worker builds", l, i)
			}
		}
	}
}

func TestBuildCancel(t *testing.T) {
	x := Clustered(20000, 16, 10, 0.5, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, x, 16, DefaultConfig(), nil); err == nil {
		t.Fatal("cancelled build returned no error")
	}
}

func TestBuildEdgeSizes(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 70} {
		x := Clustered(n, 4, 2, 0.5, 1)
		g, err := Build(context.Background(), x, 4, DefaultConfig(), nil)
		if err != nil {
			t.Fatalf("n %d: %v", n, err)
		}
		if err := g.validate(); err != nil {
			t.Fatalf("n %d: %v", n, err)
		}
		ix, _ := NewIndex(g, x, 4)
		s := ix.NewKNNSearcher()
		if n > 0 {
			res, err := s.Search(x[:4], 5, 10)
			if err != nil || len(res) != min(5, n) || res[0].Dist != 0 {
				t.Fatalf("n %d: search %v %v", n, res, err)
			}
		}
	}
	if _, err := Build(context.Background(), make([]float32, 7), 4, DefaultConfig(), nil); err == nil {
		t.Fatal("ragged input accepted")
	}
}

func TestConfigValidateReportsAll(t *testing.T) {
	err := Config{M: 1, EfConstruction: 0, Workers: -1, LevelMult: -1}.Validate()
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, w := range []string{"M =", "EfConstruction", "Workers", "LevelMult"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %s", err, w)
		}
	}
}

// TestLongRecall200K is the acceptance run: 200 K clustered 64-d vectors,
// M 32, efConstruction 40, recall@10 at ef 16..128. Run with NANN_LONG=1;
// NANN_EMBS_OUT=path also writes the vectors as .npy for hnsw_anchor.py.
func TestLongRecall200K(t *testing.T) {
	if os.Getenv("NANN_LONG") == "" {
		t.Skip("set NANN_LONG=1 to run the 200 K build and recall check")
	}
	const n, dim = 200000, 64
	x := Clustered(n, dim, 1000, 0.5, 42)
	cfg := DefaultConfig()
	cfg.FaissLinks = os.Getenv("NANN_FAISS_LINKS") != ""
	if p := os.Getenv("NANN_EMBS_OUT"); p != "" {
		if err := npy.Write(p, x, n, dim); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	g, err := Build(context.Background(), x, dim, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := g.Analyze()
	t.Logf("level-0 mean degree %.1f, %d of %d reachable, %d repair links", st.Levels[0].MeanDeg, st.Levels[0].Reachable, n, g.Repaired())
	t.Logf("build %.2fs, %.1f graph bytes/node, levels %d", time.Since(start).Seconds(), g.BytesPerNode(), g.Levels())
	ix, _ := NewIndex(g, x, dim)
	for _, ef := range []int{16, 32, 64, 128} {
		t.Logf("ef %d recall@10 %.4f", ef, recallAt(t, ix, x, dim, 1000, ef))
	}
}
