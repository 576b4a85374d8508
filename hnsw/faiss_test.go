package hnsw

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"nann/internal/npy"
	"nann/item"
)

// faissRecipe builds a Faiss IndexHNSWFlat (M 32, efConstruction 40) on
// clustered data and writes it in the reference's NumPy layout: enter points
// are nodes whose top level (faiss levels - 1) is >= 2; level l's rows are
// neighbors[offsets[i]+cum_nb_neighbors(l) : offsets[i]+cum_nb_neighbors(l+1)]
// with the -1 padding removed, empty for nodes below l. It also saves the
// vectors, queries and Faiss's own top-10 at efSearch 64.
const faissRecipe = `
import sys, numpy as np, faiss
out, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
centres = rng.normal(size=(50, d))
x = (centres[rng.integers(0, 50, n)] + 0.5 * rng.normal(size=(n, d))).astype(np.float32)
np.save(out + "/embs.npy", x)
idx = faiss.IndexHNSWFlat(d, 32); idx.hnsw.efConstruction = 40; idx.add(x)
h = idx.hnsw
levels = faiss.vector_to_array(h.levels) - 1
offsets = faiss.vector_to_array(h.offsets).astype(np.int64)
nb = faiss.vector_to_array(h.neighbors)
np.save(out + "/enter_points.npy", np.nonzero(levels >= 2)[0].astype(np.int64))
for l in range(2):
    b0, b1 = h.cum_nb_neighbors(l), h.cum_nb_neighbors(l + 1)
    rows = [nb[offsets[i] + b0:offsets[i] + b1] if levels[i] >= l else nb[:0] for i in range(n)]
    rows = [r[r >= 0] for r in rows]
    splits = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    np.save(out + "/neighbors_level_%d_values.npy" % l, np.concatenate(rows).astype(np.int64))
    np.save(out + "/neighbors_level_%d_row_splits.npy" % l, splits)
q = x[rng.choice(n, 300, replace=False)] + rng.normal(0, x.std() * 0.1, (300, d)).astype(np.float32)
np.save(out + "/queries.npy", q.astype(np.float32))
h.efSearch = 64
_, ids = idx.search(q, 10)
np.save(out + "/faiss_ids.npy", ids.astype(np.int64))
print(int(levels.max()), int((levels >= 2).sum()))
`

func TestImportFaiss(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import faiss, numpy").Run(); err != nil {
		t.Skipf("skipping: /usr/bin/python3 with faiss and numpy not available (%v); apt-get install python3-faiss python3-numpy", err)
	}
	const n, d = 8000, 16
	dir := t.TempDir()
	out, err := exec.Command("/usr/bin/python3", "-c", faissRecipe, dir, "8000", "16").CombinedOutput()
	if err != nil {
		t.Fatalf("faiss recipe: %v\n%s", err, out)
	}
	t.Logf("faiss: top level, enter points: %s", strings.TrimSpace(string(out)))
	x, _, err := npy.Read[float32](filepath.Join(dir, "embs.npy"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := ReadNPY(dir, n, StartLevel)
	if err != nil {
		t.Fatal(err)
	}
	st := g.Analyze()
	if st.Levels[0].MaxDegree > 64 || st.Levels[1].MaxDegree > 32 || st.Levels[0].Reachable < n*99/100 {
		t.Errorf("imported Faiss graph looks wrong: %+v", st.Levels[:2])
	}
	t.Logf("imported Faiss graph: level 0 mean degree %.1f, level 1 %.1f, %d enter points", st.Levels[0].MeanDeg, st.Levels[1].MeanDeg, len(g.EnterPoints(StartLevel)))
	if len(g.EnterPoints(StartLevel)) == 0 {
		t.Fatal("no enter points imported")
	}
	q, _, err := npy.Read[float32](filepath.Join(dir, "queries.npy"))
	if err != nil {
		t.Fatal(err)
	}
	fids, _, err := npy.Read[int64](filepath.Join(dir, "faiss_ids.npy"))
	if err != nil {
		t.Fatal(err)
	}
	faiss := make([][]item.Row, len(fids)/10)
	for i := range faiss {
		for _, v := range fids[i*10 : i*10+10] {
			faiss[i] = append(faiss[i], item.Row(v))
		}
	}
	truth := ExactKNN(x, d, q, 10, runtime.GOMAXPROCS(0))
	ix, err := NewIndex(g, x, d)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := ix.SearchAll(q, 10, 64, 2)
	ours, theirs := Recall(got, truth), Recall(faiss, truth)
	t.Logf("recall@10 at ef 64 on the imported graph: ours %.4f, Faiss's own search %.4f", ours, theirs)
	if ours < 0.9 || ours < theirs-0.02 {
		t.Errorf("recall@10 %.4f on the imported Faiss graph, Faiss gets %.4f", ours, theirs)
	}
}
