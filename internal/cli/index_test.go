package cli

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"nann/hnsw"
	"nann/internal/npy"
	"nann/item"
)

func TestIndexBuildAndImport(t *testing.T) {
	dir := t.TempDir()
	const n, d = 3000, 16
	x := hnsw.Clustered(n, d, 30, 0.5, 1)
	embs := filepath.Join(dir, "embs.npy")
	if err := npy.Write(embs, x, n, d); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "idx")
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"index", "--embs", embs, "--out", out, "--json", "--check-queries", "100", "--check-ef", "32"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rep indexReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("bad --json output %q: %v", stdout.String(), err)
	}
	if rep.N != n || rep.Dim != d || len(rep.Check) != 1 || rep.Check[0].Recall10 < 0.9 || rep.BytesPerNode <= 0 {
		t.Fatalf("report %+v", rep)
	}
	for _, f := range []string{"graph.hnsw", hnsw.EnterPointsFile, hnsw.ValuesFile(0), hnsw.SplitsFile(1)} {
		if rep.Files[f] == 0 {
			t.Errorf("index directory lacks %s: %v", f, rep.Files)
		}
	}
	built, err := hnsw.Read(filepath.Join(out, "graph.hnsw"))
	if err != nil {
		t.Fatal(err)
	}
	// Import the NumPy layout just written into a second directory.
	out2 := filepath.Join(dir, "idx2")
	stdout.Reset()
	if code := Main([]string{"index", "--embs", embs, "--out", out2, "--import-npy", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("import exit %d: %s", code, stderr.String())
	}
	imp, err := hnsw.Read(filepath.Join(out2, "graph.hnsw"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range item.Row(n) {
		if !slices.Equal(built.Neighbors(0, i), imp.Neighbors(0, i)) {
			t.Fatalf("node %d: level-0 lists differ after import", i)
		}
	}
	// Vectors that do not match the imported graph: a clear error.
	small := filepath.Join(dir, "small.npy")
	npy.Write(small, x[:100*d], 100, d)
	stderr.Reset()
	if code := Main([]string{"index", "--embs", small, "--out", filepath.Join(dir, "idx3"), "--import-npy", out}, &stdout, &stderr); code == 0 ||
		!strings.Contains(stderr.String(), hnsw.SplitsFile(0)) {
		t.Fatalf("size mismatch: exit %d, %s", code, stderr.String())
	}
	// --out must not clobber something that is not an index.
	for _, bad := range []string{embs, dir} {
		stderr.Reset()
		if code := Main([]string{"index", "--embs", embs, "--out", bad}, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "refusing") {
			t.Fatalf("--out %s: exit %d, %s", bad, code, stderr.String())
		}
	}
	if _, _, err := npy.Read[float32](embs); err != nil {
		t.Fatalf("embeddings damaged: %v", err)
	}
}

// A killed `nann index` leaves its staging directory beside --out; the next
// run for the same --out removes it, and nothing that is not ours.
func TestIndexCleansStaleStaging(t *testing.T) {
	dir := t.TempDir()
	const n, d = 300, 8
	embs := filepath.Join(dir, "embs.npy")
	if err := npy.Write(embs, hnsw.Clustered(n, d, 5, 0.5, 1), n, d); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ".idx.nann-staging-777")
	os.Mkdir(stale, 0o700)
	os.WriteFile(filepath.Join(stale, hnsw.GraphFile), make([]byte, 1000), 0o644)
	old := time.Now().Add(-2 * time.Minute) // left by a run killed a while ago
	os.Chtimes(stale, old, old)
	user := filepath.Join(dir, ".idx.staging-backup") // not our naming
	os.WriteFile(user, []byte("mine"), 0o600)
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"index", "--embs", embs, "--out", filepath.Join(dir, "idx")}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale staging %s still there (%v)", stale, err)
	}
	if !strings.Contains(stderr.String(), "stale") {
		t.Errorf("removal not logged: %s", stderr.String())
	}
	if b, _ := os.ReadFile(user); string(b) != "mine" {
		t.Fatalf("%s: %q", user, b)
	}
}

// NaN/Inf embeddings are refused naming the row and column; all-zero ones
// build, with a loud warning that gives the reachable fraction.
func TestIndexBadEmbeddings(t *testing.T) {
	dir := t.TempDir()
	const n, d = 1000, 8
	x := hnsw.Clustered(n, d, 5, 0.5, 1)
	x[3*d+1] = float32(math.NaN())
	nan := filepath.Join(dir, "nan.npy")
	npy.Write(nan, x, n, d)
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"index", "--embs", nan, "--out", filepath.Join(dir, "idx")}, &stdout, &stderr); code == 0 ||
		!strings.Contains(stderr.String(), "row 3, column 1") || !strings.Contains(stderr.String(), nan) {
		t.Fatalf("NaN embeddings: exit %d, %s", code, stderr.String())
	}
	zero := filepath.Join(dir, "zero.npy")
	npy.Write(zero, make([]float32, n*d), n, d)
	stdout.Reset()
	stderr.Reset()
	if code := Main([]string{"index", "--embs", zero, "--out", filepath.Join(dir, "idx0")}, &stdout, &stderr); code != 0 {
		t.Fatalf("zero embeddings: exit %d, %s", code, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "WARNING: "+zero+": 1000 of 1000 rows are all zero and 999 are exact duplicates") ||
		!strings.Contains(stderr.String(), "WARN") {
		t.Fatalf("no loud warning:\n%s\n%s", out, stderr.String())
	}
	// A graph whose level 0 falls apart (as all-zero embeddings made one:
	// 776 of 4,985 nodes reachable): node 0 and 1 link to each other, the
	// other 8 nodes are cut off.
	lay := filepath.Join(dir, "layout")
	os.Mkdir(lay, 0o755)
	npy.Write(filepath.Join(lay, hnsw.EnterPointsFile), []int64{})
	npy.Write(filepath.Join(lay, hnsw.ValuesFile(0)), []int64{1, 0})
	npy.Write(filepath.Join(lay, hnsw.SplitsFile(0)), []int64{0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2})
	npy.Write(filepath.Join(lay, hnsw.ValuesFile(1)), []int64{})
	npy.Write(filepath.Join(lay, hnsw.SplitsFile(1)), make([]int64, 11))
	ten := filepath.Join(dir, "ten.npy")
	npy.Write(ten, hnsw.Clustered(10, d, 2, 0.5, 1), 10, d)
	out, e, c := runMain(t, "index", "--embs", ten, "--out", filepath.Join(dir, "idx10"), "--import-npy", lay)
	if c != 0 || !strings.Contains(out, "WARNING: only 2 of 10 nodes (20.0%) of level 0 are reachable from the entry point; searches never return the other 8") {
		t.Fatalf("disconnected graph: exit %d\n%s\n%s", c, out, e)
	}
}

// An import reports what was imported: no "M 0, efConstruction 0", no
// "degree 0..0, reachable -1" for the enter-point level.
func TestIndexImportReport(t *testing.T) {
	dir := t.TempDir()
	const n, d = 2000, 8
	embs := filepath.Join(dir, "embs.npy")
	npy.Write(embs, hnsw.Clustered(n, d, 10, 0.5, 1), n, d)
	src := filepath.Join(dir, "src")
	if _, e, c := runMain(t, "index", "--embs", embs, "--out", src); c != 0 {
		t.Fatal(e)
	}
	out, e, c := runMain(t, "index", "--embs", embs, "--out", filepath.Join(dir, "imp"), "--import-npy", src)
	if c != 0 {
		t.Fatal(e)
	}
	for _, bad := range []string{"M 0", "efConstruction 0", "reachable -1", "workers"} {
		if strings.Contains(out, bad) {
			t.Errorf("import report says %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "imported from "+src) || !strings.Contains(out, "level 2: ") || !strings.Contains(out, "enter points (no neighbour lists in the layout)") {
		t.Errorf("import report:\n%s", out)
	}
	js, _, _ := runMain(t, "index", "--embs", embs, "--out", filepath.Join(dir, "imp"), "--import-npy", src, "--json")
	var rep map[string]any
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatal(err)
	}
	if _, ok := rep["M"]; ok || rep["adj_levels"] != float64(2) {
		t.Errorf("import --json: M %v, adj_levels %v", rep["M"], rep["adj_levels"])
	}
}

// `nann index --seed S` writes the same files with 1 and 2 workers (the
// 2-worker graph used to differ from run to run).
func TestIndexReproducible(t *testing.T) {
	dir := t.TempDir()
	const n, d = 3000, 16
	embs := filepath.Join(dir, "embs.npy")
	npy.Write(embs, hnsw.Clustered(n, d, 30, 0.5, 1), n, d)
	read := func(out string) map[string][]byte {
		m := map[string][]byte{}
		ents, _ := os.ReadDir(out)
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(out, e.Name()))
			m[e.Name()] = b
		}
		return m
	}
	var want map[string][]byte
	for i, workers := range []string{"1", "2", "2"} {
		out := filepath.Join(dir, "idx"+strconv.Itoa(i))
		if _, e, c := runMain(t, "index", "--embs", embs, "--out", out, "--seed", "3", "--workers", workers); c != 0 {
			t.Fatal(e)
		}
		got := read(out)
		if want == nil {
			want = got
			continue
		}
		for name, b := range want {
			if !bytes.Equal(got[name], b) {
				t.Fatalf("--workers %s: %s differs from the --workers 1 build", workers, name)
			}
		}
	}
}
