package cli

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nann/bundle"
	"nann/dataset"
	"nann/engine"
	"nann/internal/npy"
	"nann/internal/numtest"
	"nann/item"
	"nann/train"
)

// writeNPZ writes arrays (name → float32 or int64 data and shape) as an
// uncompressed .npz.
func writeNPZ(t *testing.T, path string, arrays map[string]any, shapes map[string][]int) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range arrays {
		w, err := zw.Create(name + ".npy")
		if err != nil {
			t.Fatal(err)
		}
		switch d := data.(type) {
		case []float32:
			err = npy.Encode(w, d, shapes[name]...)
		case []int64:
			err = npy.Encode(w, d, shapes[name]...)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExportONNXEndToEnd is issue 14's round trip through the command
// line: train a tiny world, nann export --onnx (comm_seq and item_ids
// inputs), nann import (the item_ids graph with --index-embedding
// item_vec and only --item-ids), then nann score on the imported
// bundle's files; every user's scores on every item are the hand
// engine's within 1e-4 relative.
func TestExportONNXEndToEnd(t *testing.T) {
	run, index := exportPipeline(t)
	emb := filepath.Join(filepath.Dir(run), "emb")
	dir := t.TempDir()

	// The hand engine and three users' histories.
	r, err := train.OpenRun(run)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := r.OpenDataset("", dataset.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	mdl, err := r.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := train.CompileEngine(mdl, ds, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	cfg := eng.Config()
	const users = 3
	l, sw, n := cfg.SeqLen, cfg.SeqWidth(), cfg.NumItems
	rng := rand.New(rand.NewPCG(1, 7))
	hist, cates := make([]int64, users*l), make([]int64, users*l)
	seqs := make([]float32, users*l*sw)
	ref := make([][]float64, users)
	rows := item.AllRows(n)
	for u, length := range []int{l, 9, 1} {
		hi, hc := make([]item.ID, length), make([]int32, length)
		for i := range hi {
			hi[i] = item.Row(rng.IntN(n)).ID()
			hc[i] = ds.ItemCate.At(hi[i])
			hist[u*l+i], cates[u*l+i] = int64(hi[i]), int64(hc[i])
		}
		if err := eng.CommSeq(hi, hc, seqs[u*l*sw:(u+1)*l*sw]); err != nil {
			t.Fatal(err)
		}
		sc := eng.NewScorer()
		if err := sc.BindIDs(hi, hc); err != nil {
			t.Fatal(err)
		}
		out := make([]float32, n)
		sc.Score(rows, out)
		for _, v := range out {
			ref[u] = append(ref[u], float64(v))
		}
	}
	usersNPZ := filepath.Join(dir, "users.npz")
	writeNPZ(t, usersNPZ, map[string]any{"comm_seq": seqs, "hist_items": hist, "hist_cates": cates},
		map[string][]int{"comm_seq": {users, l, sw}, "hist_items": {users, l}, "hist_cates": {users, l}})
	idsNPZ := filepath.Join(dir, "ids.npz")
	writeNPZ(t, idsNPZ, map[string]any{"hist_items": hist, "hist_cates": cates}, map[string][]int{"hist_items": {users, l}, "hist_cates": {users, l}})

	base := filepath.Join(dir, "base")
	for _, tc := range []struct {
		inputs, users string
		imp           []string
		table         string // the bundle file that is the item input
	}{
		{"comm_seq", usersNPZ, []string{"--item-embs", filepath.Join(emb, "item_embs.npy")}, bundle.ONNXItemEmbsFile},
		{"item_ids", idsNPZ, []string{"--index-embedding", "item_vec"}, bundle.ONNXItemInputFile},
	} {
		file := filepath.Join(dir, tc.inputs+".onnx")
		if ex := runJSON[bundle.ONNXExport](t, "export", "--run", run, "--onnx", file, "--onnx-inputs", tc.inputs, "--json"); ex.Path != file || ex.Opset != 13 || ex.ScoreOutput != "score" {
			t.Fatalf("export report %+v", ex)
		}
		rep := runImport(t, append([]string{"--tables", "float32", "--onnx", file, "--item-ids", filepath.Join(emb, "item_ids.npy"), "--base", base, "--name", tc.inputs, "--m", "8"}, tc.imp...)...)
		out := filepath.Join(dir, tc.inputs+"-scores.npy")
		if _, e, c := runMain(t, "score", "--onnx", filepath.Join(rep.Dir, bundle.ONNXModelFile), "--item-embs", filepath.Join(rep.Dir, tc.table),
			"--users", tc.users, "--out", out); c != 0 {
			t.Fatalf("score %s: %s", tc.inputs, e)
		}
		got, shape, err := npy.Read[float32](out)
		if err != nil || len(shape) != 2 || shape[0] != users || shape[1] != n {
			t.Fatalf("scores %v: %v", shape, err)
		}
		for u := range users {
			if e := numtest.RelErr(got[u*n:(u+1)*n], ref[u]); e > 1e-4 {
				t.Errorf("%s user %d: nann score on the imported bundle is %.2e relative from the hand engine", tc.inputs, u, e)
			}
		}
	}

	// --onnx with a bundle: one JSON document naming both.
	file := filepath.Join(dir, "both.onnx")
	stdout, stderr, code := runMain(t, "export", "--run", run, "--index", index, "--base", filepath.Join(dir, "bundles"), "--onnx", file, "--json")
	var both struct {
		Dir  string             `json:"dir"`
		ONNX *bundle.ONNXExport `json:"onnx"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &both) != nil || both.Dir == "" || both.ONNX == nil || both.ONNX.Path != file {
		t.Fatalf("export with --onnx and a bundle: exit %d %q %s", code, stdout, stderr)
	}
	// A bundle without --base; a foreign file at --onnx.
	if _, stderr, code := runMain(t, "export", "--run", run, "--index", index); code != exitFail || !strings.Contains(stderr, "needs --index and --base") {
		t.Fatalf("export without --base: exit %d: %s", code, stderr)
	}
	foreign := filepath.Join(dir, "notes.onnx")
	os.WriteFile(foreign, []byte("mine"), 0o644)
	if _, stderr, code := runMain(t, "export", "--run", run, "--onnx", foreign); code != exitFail || !strings.Contains(stderr, "not an ONNX model nann wrote") {
		t.Fatalf("export over a foreign file: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(foreign); string(b) != "mine" {
		t.Fatal("the foreign file changed")
	}
}
