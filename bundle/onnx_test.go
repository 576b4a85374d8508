package bundle

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nann/hnsw"
	"nann/internal/npy"
	"nann/internal/onnxtest"
	"nann/item"
	"nann/onnx"
)

// onnxFixture writes the item table and ids of a committed fixture
// network and returns the import options for it and the fixture arrays.
func onnxFixture(t *testing.T, name string) (ImportOptions, map[string]*onnx.Tensor) {
	t.Helper()
	dir := t.TempDir()
	arrs := onnxtest.Read(t, name)
	o := DefaultImportOptions()
	o.ONNX, o.Base = onnxtest.Path(name+".onnx"), filepath.Join(dir, "base")
	o.Index.M, o.Index.EfConstruction = 8, 32
	if it, ok := onnxtest.WriteItems(t, dir, arrs); ok {
		o.Contract.ItemInput, o.ItemEmbs, o.ItemIDs = it.Input, it.Embs, it.IDs
	}
	return o, arrs
}

// mustImport imports o, failing the test if the import fails, and returns
// the version directory and manifest.
func mustImport(t *testing.T, o ImportOptions) (string, *ONNXManifest) {
	t.Helper()
	dir, m, err := ImportONNX(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}

// importRefused imports o (the case name) and reports whether it was
// refused; the test fails if it was not, or if the error does not name
// every string in want.
func importRefused(t *testing.T, name string, o ImportOptions, want []string) bool {
	t.Helper()
	_, _, err := ImportONNX(context.Background(), o)
	if err == nil {
		t.Errorf("%s: imported", name)
		return false
	}
	t.Logf("%s: %v", name, err)
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not name %q", name, err, w)
		}
	}
	return true
}

// noVersionLeft fails the test if a refused import (the case name) left
// anything under base's model directory.
func noVersionLeft(t *testing.T, name, base string) {
	t.Helper()
	if ents, _ := os.ReadDir(filepath.Join(base, "nann")); len(ents) != 0 {
		t.Errorf("%s: left %v under the model directory", name, ents)
	}
}

// TestImportONNX imports a fixture network with a built index, reopens the
// bundle and checks its scores against torch's, its checksums, the graph
// and the ids; a second import takes the next version and reuses the
// first's index; bundle.Load serves it, the hand-engine Open refuses the
// format by name.
func TestImportONNX(t *testing.T) {
	ctx := context.Background()
	o, arrs := onnxFixture(t, "din17")
	dir, m := mustImport(t, o)
	if m.ModelVer != 1 || dir != filepath.Join(o.Base, "nann", "1") || m.NumItems != 200 || m.ItemDim != 16 {
		t.Fatalf("dir %s manifest %+v", dir, m)
	}
	if got := m.Contract; got.ItemInput != "item_emb" || len(got.UserInputs) != 2 || got.UserInputs[0].Name != "hist" ||
		got.UserInputs[0].DType != "float32" || len(got.UserInputs[0].Shape) != 3 || got.UserInputs[0].Shape[1] != 50 || got.UserInputs[1].Name != "user_dense" {
		t.Fatalf("contract %+v", got)
	}
	b, err := OpenONNX(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if b.Graph.Len() != 200 || b.ItemIDs[3] != 1021 {
		t.Fatalf("graph %d nodes, ids %v", b.Graph.Len(), b.ItemIDs[:4])
	}
	// The bundle's plan gives torch's scores.
	scores := arrs["scores"]
	n := 200
	rows := item.AllRows(n)
	out := make([]float32, n)
	sc := b.Plan.NewScorer()
	for u := 0; u < scores.Shape[0]; u++ {
		user := map[string]*onnx.Tensor{}
		for _, in := range m.Contract.UserInputs {
			x := arrs["user."+in.Name]
			w := x.Len() / x.Shape[0]
			user[in.Name] = &onnx.Tensor{DType: x.DType, Shape: in.Shape, Data: x.Data[u*w : (u+1)*w]}
		}
		if err := sc.Bind(user); err != nil {
			t.Fatal(err)
		}
		if err := sc.Score(rows, out); err != nil {
			t.Fatal(err)
		}
		ref := scores.Data[u*n : (u+1)*n]
		rms := 0.0
		for _, r := range ref {
			rms += r * r
		}
		rms = math.Sqrt(rms / float64(n))
		for i, r := range ref {
			if d := math.Abs(float64(out[i])-r) / math.Max(math.Abs(r), 0.1*rms); !(d <= 1e-4) {
				t.Fatalf("user %d item %d: bundle scores %g, torch %g", u, i, out[i], r)
			}
		}
	}
	// The built index finds exact nearest neighbours of the table's rows.
	ix, err := hnsw.NewIndex(b.Graph, b.ItemEmbs, 16)
	if err != nil {
		t.Fatal(err)
	}
	q := hnsw.NoisyQueries(b.ItemEmbs, 16, 50, 0.1, 0)
	got, err := ix.SearchAll(q, 10, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r := hnsw.Recall(got, hnsw.ExactKNN(b.ItemEmbs, 16, q, 10, 1)); r < 0.9 {
		t.Errorf("built index recall@10 %.3f", r)
	}
	// bundle.Load (the server's loader) serves it; the hand-engine Open
	// refuses the format, naming it.
	if sv, err := Load(ctx, dir); err != nil {
		t.Fatalf("bundle.Load on an imported bundle: %v", err)
	} else if _, ok := sv.(*ONNXServable); !ok {
		t.Fatalf("bundle.Load on an imported bundle gave a %T", sv)
	}
	if _, err := Open(ctx, dir); err == nil || !strings.Contains(err.Error(), `"nann-onnx-bundle"`) {
		t.Fatalf("bundle.Open on an imported bundle: %v", err)
	}
	// A second import, with the first's index: version 2, same graph files.
	o.IndexDir = filepath.Join(dir, "index")
	dir2, m2 := mustImport(t, o)
	if m2.ModelVer != 2 || m2.Source.Index != o.IndexDir {
		t.Fatalf("second import: %s %+v", dir2, m2)
	}
	sums := map[string]string{}
	for _, f := range m.Files {
		sums[f.Path] = f.SHA256
	}
	for _, f := range m2.Files {
		if strings.HasPrefix(f.Path, "index/") && sums[f.Path] != f.SHA256 {
			t.Errorf("%s differs from the index it was copied from", f.Path)
		}
	}
	// An explicit version that exists is refused.
	o.Version = 1
	if _, _, err := ImportONNX(ctx, o); err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Fatalf("explicit existing version: %v", err)
	}
	// A modified file fails the checks.
	if err := os.WriteFile(filepath.Join(dir, ItemIDsFile), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenONNX(ctx, dir); err == nil || !strings.Contains(err.Error(), ItemIDsFile) {
		t.Fatalf("tampered bundle: %v", err)
	}
}

// TestImportONNXErrors: bad inputs are refused with errors naming what is
// wrong, and nothing is published or left behind.
func TestImportONNXErrors(t *testing.T) {
	ctx := context.Background()
	o, _ := onnxFixture(t, "cross")
	dup := filepath.Join(t.TempDir(), "dup.npy")
	ids := make([]int64, 200)
	for i := range ids {
		ids[i] = int64(i)
	}
	ids[150] = 7
	npy.Write(dup, ids)
	short := filepath.Join(t.TempDir(), "short.npy")
	npy.Write(short, ids[:199])
	idsO, _ := onnxFixture(t, "ids")
	small, _ := onnxFixture(t, "cross")
	x, _, err := npy.Read[float32](small.ItemEmbs)
	if err != nil {
		t.Fatal(err)
	}
	smallIdx := filepath.Join(t.TempDir(), "idx")
	gr, err := hnsw.Build(ctx, x[:100*16], 16, o.Index, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hnsw.WriteDir(smallIdx, gr); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*ImportOptions)
		want []string
	}{
		{"duplicate ids", func(o *ImportOptions) { o.ItemIDs = dup }, []string{dup, "id 7", "rows 7 and 150"}},
		{"ids for fewer rows", func(o *ImportOptions) { o.ItemIDs = short }, []string{short, "199 ids for 200 items"}},
		{"missing input name", func(o *ImportOptions) { o.Contract.UserInputs = []string{"nope"} }, []string{`"nope"`, "not a graph input"}},
		{"id item input", func(o *ImportOptions) { *o = idsO; o.Base = filepath.Join(t.TempDir(), "b") }, []string{idsO.ItemEmbs, `"<i8"`, "must be float32"}},
		{"index of another size", func(o *ImportOptions) { o.IndexDir = smallIdx }, []string{smallIdx, "100 nodes"}},
		{"bad name", func(o *ImportOptions) { o.Name = "../x" }, []string{"plain directory name"}},
	} {
		oo := o
		oo.Contract.UserInputs = nil
		tc.mod(&oo)
		if importRefused(t, tc.name, oo, tc.want) {
			noVersionLeft(t, tc.name, oo.Base)
		}
	}
}

// FuzzReadONNXManifest: any manifest.json bytes give a manifest or an
// error, never a panic; what it accepts has a matching own checksum.
func FuzzReadONNXManifest(f *testing.F) {
	m := &ONNXManifest{Format: onnxFormatName, Version: onnxFormatVersion, Name: "m", ModelVer: 3, NumItems: 2, ItemDim: 4,
		Contract: ONNXContract{UserInputs: []ONNXInput{{Name: "u", DType: "float32", Shape: []int{1, 4}}}, ItemInput: "item", ScoreOutput: "s"},
		Files:    []File{{Path: "model.onnx", Bytes: 1, SHA256: "00"}}}
	dir := f.TempDir()
	if err := m.write(dir); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":"nann-onnx-bundle","format_version":1,"extra":1}`))
	f.Add([]byte(`{"format":"nann-bundle","format_version":2}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, ManifestFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := ReadONNXManifest(d)
		if err != nil {
			return
		}
		if sum, _ := m.canonicalSum(); sum != m.SHA256 {
			t.Fatalf("accepted a manifest whose checksum %q is not its content's %q", m.SHA256, sum)
		}
	})
}
