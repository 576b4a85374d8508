package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"nann/hnsw"
	"nann/internal/npy"
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
	for i := range int32(n) {
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
