package bundle

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"nann/engine"
	"nann/hnsw"
	"nann/internal/npy"
	"nann/item"
	"nann/retrieve"
	"nann/serving"
)

const (
	testItems = 600
	testCates = 12
)

// makeBundle writes a bundle of a random-weight engine over testItems items
// and a graph built on random vectors into dir, as Export would.
func makeBundle(t *testing.T, dir string) { t.Helper(); makeBundleWith(t, dir, nil) }

// openTestBundle writes a test bundle (makeBundle) into dir and opens it;
// it is closed when the test ends.
func openTestBundle(t *testing.T, dir string) *Bundle {
	t.Helper()
	makeBundle(t, dir)
	b, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// makeBundleWith is makeBundle with edit applied to the manifest before it
// is written (nil: none).
func makeBundleWith(t *testing.T, dir string, edit func(*Manifest)) {
	t.Helper()
	w, err := engine.RandomWeights(engine.DefaultConfig(testItems, testCates), 7)
	if err != nil {
		t.Fatal(err)
	}
	cates := make([]int32, testItems)
	itemRaw := make([]int64, testItems)
	for i := range cates {
		cates[i] = int32(1 + i%testCates)
		itemRaw[i] = int64(1000 + 7*i)
	}
	cateRaw := make([]int64, testCates+1)
	for c := 1; c <= testCates; c++ {
		cateRaw[c] = int64(50 + c)
	}
	eng, err := engine.Compile(w, cates, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	idx := t.TempDir()
	g, err := hnsw.Build(context.Background(), hnsw.Clustered(testItems, 16, 20, 0.5, 3), 16, hnsw.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Write(filepath.Join(idx, "graph.hnsw")); err != nil {
		t.Fatal(err)
	}
	if err := g.WriteNPY(idx, hnsw.StartLevel); err != nil {
		t.Fatal(err)
	}
	m := &Manifest{Name: "nann", ModelVer: 1}
	m.Signature.K, m.Signature.DefaultLevelTopN = 20, [6]int32{10, 20, 20, 20, 20, 20}
	if edit != nil {
		edit(m)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := write(dir, eng, idx, idTables{itemRaw, cateRaw, cates}, m, slog.Default()); err != nil {
		t.Fatal(err)
	}
}

func TestLoadAndPredict(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "1")
	b := openTestBundle(t, dir)
	topn := [6]int32{10, 30, 30, 30, 30, 15}
	items := []int64{1000, 1007, 1014, 999999, 0} // 999999 is unknown: treated as padding
	resp, err := b.Predict(context.Background(), &serving.Request{Batch: 1, ItemIDs: [][]int64{items}, LevelTopN: topn})
	if err != nil {
		t.Fatal(err)
	}
	// The same retrieval done by hand: dense ids, comm_seq, the pool.
	seq := make([]float32, b.Signature().CommSeqLen)
	if err := b.eng.CommSeq([]item.ID{1, 2, 3, 0, 0}, []int32{1, 2, 3, 0, 0}, seq); err != nil {
		t.Fatal(err)
	}
	var ans retrieve.Answer
	if err := b.pool.Search(seq, &retrieve.ServingParams{LevelTopN: [6]int{10, 30, 30, 30, 30, 15}}, &ans); err != nil {
		t.Fatal(err)
	}
	want := make([]int64, len(ans.Rows))
	for i, r := range ans.Rows {
		want[i] = 1000 + 7*int64(r)
	}
	if len(want) != 15 || !slices.Equal(resp.TopK[0], want) || !slices.Equal(resp.Scores[0], ans.Scores) || resp.ItemsScored[0] != ans.Total {
		t.Fatalf("Predict %v %v %d, by hand %v %v %d", resp.TopK[0], resp.Scores[0], resp.ItemsScored[0], want, ans.Scores, ans.Total)
	}
	// Given category ids must agree with the item table here.
	resp2, err := b.Predict(context.Background(), &serving.Request{Batch: 1, ItemIDs: [][]int64{items},
		CateIDs: [][]int64{{51, 52, 53, 0, 0}}, LevelTopN: topn})
	if err != nil || !slices.Equal(resp2.TopK[0], want) {
		t.Fatalf("with cate_ids: %v %v", resp2, err)
	}
}

func TestPredictRejectsBadInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "1")
	b := openTestBundle(t, dir)
	ok := [6]int32{10, 20, 20, 20, 20, 10}
	cases := map[string]*serving.Request{
		"negative id":      {Batch: 1, ItemIDs: [][]int64{{-5}}, LevelTopN: ok},
		"cate length":      {Batch: 1, ItemIDs: [][]int64{{1000, 1007}}, CateIDs: [][]int64{{51}}, LevelTopN: ok},
		"too long":         {Batch: 1, ItemIDs: [][]int64{make([]int64, 51)}, LevelTopN: ok},
		"level_topn zero":  {Batch: 1, ItemIDs: [][]int64{{1000}}, LevelTopN: [6]int32{10, 20, 0, 20, 20, 10}},
		"level_topn large": {Batch: 1, ItemIDs: [][]int64{{1000}}, LevelTopN: [6]int32{10, 20, 20, 20, 20, 100000}},
	}
	for name, r := range cases {
		if _, err := b.Predict(context.Background(), r); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name != "too long" && !errors.Is(err, serving.ErrInvalidInput) {
			t.Errorf("%s: %v is not an invalid-input error", name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Predict(ctx, &serving.Request{Batch: 1, ItemIDs: [][]int64{{1000}}, LevelTopN: ok}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: %v", err)
	}
}

func TestChecksumsRefused(t *testing.T) {
	base := t.TempDir()
	good := filepath.Join(base, "good")
	makeBundle(t, good)
	damage := map[string]func(dir string) error{
		"flipped byte": func(dir string) error {
			p := filepath.Join(dir, "engine", "item_table.npy")
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[len(b)-5] ^= 0x10
			return os.WriteFile(p, b, 0o644)
		},
		"truncated": func(dir string) error {
			p := filepath.Join(dir, "index", "graph.hnsw")
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, b[:len(b)/2], 0o644)
		},
		"extra file": func(dir string) error { return os.WriteFile(filepath.Join(dir, "stray.npy"), []byte("x"), 0o644) },
		"missing":    func(dir string) error { return os.Remove(filepath.Join(dir, "item_cate.npy")) },
		"manifest":   func(dir string) error { return os.WriteFile(filepath.Join(dir, ManifestFile), []byte("{"), 0o644) },
	}
	for name, f := range damage {
		dir := filepath.Join(base, strings.ReplaceAll(name, " ", "_"))
		makeBundle(t, dir)
		if err := f(dir); err != nil {
			t.Fatal(err)
		}
		_, err := Open(context.Background(), dir)
		if err == nil {
			t.Errorf("%s: damaged bundle loaded", name)
			continue
		}
		t.Logf("%s: %v", name, err)
		// The serving.Loader refuses it too, with no servable (a nil
		// *Bundle in the interface would not compare equal to nil).
		if sv, err := Load(context.Background(), dir); err == nil || sv != nil {
			t.Errorf("%s: Load gave %v, %v", name, sv, err)
		}
	}
	if _, err := Open(context.Background(), good); err != nil {
		t.Fatalf("intact bundle: %v", err)
	}
	if sv, err := Load(context.Background(), good); err != nil || sv.Signature().CommSeqLen < 1 {
		t.Fatalf("intact bundle through the serving.Loader: %v", err)
	}
}

// TestManifestProtected is issue 12 item 5's second half: a manifest whose
// content was changed (a value edited, a field added, the checksum removed)
// is refused at load, naming the manifest; an intact one loads.
func TestManifestProtected(t *testing.T) {
	base := t.TempDir()
	edits := map[string]func(string) string{
		"default level_topn edited": func(s string) string {
			return strings.Replace(s, `"default_level_topn": [
      10,`, `"default_level_topn": [
      11,`, 1)
		},
		"num_items edited": func(s string) string { return strings.Replace(s, `"num_items": 600`, `"num_items": 601`, 1) },
		"field added":      func(s string) string { return strings.Replace(s, `"precision"`, `"extra": 1, "precision"`, 1) },
		"checksum removed": func(s string) string {
			return regexp.MustCompile(`"manifest_sha256": "[0-9a-f]*"`).ReplaceAllString(s, `"manifest_sha256": ""`)
		},
		"format downgraded": func(s string) string { return strings.Replace(s, `"format_version": 2`, `"format_version": 1`, 1) },
		"trailing data":     func(s string) string { return s + "{}" },
	}
	for name, edit := range edits {
		dir := filepath.Join(base, strings.ReplaceAll(name, " ", "_"))
		makeBundle(t, dir)
		p := filepath.Join(dir, ManifestFile)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if s := edit(string(b)); s == string(b) {
			t.Fatalf("%s: edit did not apply to\n%s", name, b)
		} else if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = Open(context.Background(), dir)
		if err == nil || !strings.Contains(err.Error(), ManifestFile) {
			t.Errorf("%s: Load gave %v, want an error naming %s", name, err, ManifestFile)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
	dir := filepath.Join(base, "intact")
	makeBundle(t, dir)
	if _, err := Open(context.Background(), dir); err != nil {
		t.Fatalf("intact bundle: %v", err)
	}
}

// TestBadDefaultLevelTopNRefused is issue 12 item 5: a bundle whose
// default level_topn no request could use (above the corpus, zero) or whose
// K is not positive does not load, so it can never become AVAILABLE.
func TestBadDefaultLevelTopNRefused(t *testing.T) {
	cases := map[string]func(*Manifest){
		"above the corpus": func(m *Manifest) { m.Signature.DefaultLevelTopN = [6]int32{100, 200, 200, 200, 200, 99999} },
		"zero":             func(m *Manifest) { m.Signature.DefaultLevelTopN[2] = 0 },
		"k zero":           func(m *Manifest) { m.Signature.K = 0 },
	}
	for name, edit := range cases {
		dir := filepath.Join(t.TempDir(), "1")
		makeBundleWith(t, dir, edit)
		_, err := Open(context.Background(), dir)
		if err == nil || !strings.Contains(err.Error(), "manifest signature") {
			t.Errorf("%s: Load gave %v, want a signature error", name, err)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
}

// rechecksum rewrites dir's manifest to match its files, as an exporter
// that copies corrupt inputs would.
func rechecksum(t *testing.T, dir string) {
	t.Helper()
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := checksums(dir, m); err != nil {
		t.Fatal(err)
	}
	if err := writeManifest(dir, m); err != nil {
		t.Fatal(err)
	}
}

// npyData returns the offset of the data of a version 1.0 .npy file.
func npyData(b []byte) int { return 10 + int(b[8]) | int(b[9])<<8 }

// TestLayoutMustMatchGraph is issue 12 item 8 at load: reference-layout
// files that do not hold graph.hnsw's graph are refused even when the
// manifest's checksums match them.
func TestLayoutMustMatchGraph(t *testing.T) {
	damage := map[string]func(dir string) error{
		"neighbour changed": func(dir string) error {
			p := filepath.Join(dir, "index", "neighbors_level_0_values.npy")
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[npyData(b)+8*5] ^= 1
			return os.WriteFile(p, b, 0o644)
		},
		"enter points int32": func(dir string) error {
			p := filepath.Join(dir, "index", "enter_points.npy")
			v, _, err := npy.Read[int64](p)
			if err != nil {
				return err
			}
			v32 := make([]int32, len(v))
			for i, x := range v {
				v32[i] = int32(x)
			}
			return npy.Write(p, v32)
		},
		"splits missing": func(dir string) error {
			return os.Remove(filepath.Join(dir, "index", "neighbors_level_1_row_splits.npy"))
		},
	}
	want := map[string]string{
		"neighbour changed":  "index/neighbors_level_0_values.npy does not hold the graph",
		"enter points int32": "index/enter_points.npy does not hold the graph",
		"splits missing":     "index/neighbors_level_1_row_splits.npy is missing",
	}
	for name, f := range damage {
		dir := filepath.Join(t.TempDir(), "1")
		makeBundle(t, dir)
		if err := f(dir); err != nil {
			t.Fatal(err)
		}
		rechecksum(t, dir)
		_, err := Open(context.Background(), dir)
		if err == nil || !strings.Contains(err.Error(), want[name]) {
			t.Errorf("%s: Load gave %v, want %q", name, err, want[name])
			continue
		}
		t.Logf("%s: %v", name, err)
	}
}

// TestCopyIndexWritesMissingLayout: an index directory without the NumPy
// layout gets it written from its graph, and it passes the load check.
func TestCopyIndexWritesMissingLayout(t *testing.T) {
	g, err := hnsw.Build(context.Background(), hnsw.Clustered(300, 8, 10, 0.5, 3), 8, hnsw.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "index")
	if err := g.Write(filepath.Join(src, hnsw.GraphFile)); err != nil {
		t.Fatal(err)
	}
	if err := copyIndex(src, dst, 300, slog.Default()); err != nil {
		t.Fatal(err)
	}
	m := &Manifest{}
	if err := checksums(filepath.Dir(dst), m); err != nil {
		t.Fatal(err)
	}
	if err := checkLayout(m, g); err != nil {
		t.Fatal(err)
	}
}
