package bundle_test

import (
	"context"
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
	"nann/model"
	"nann/onnx"
	"nann/train"
)

// engineWorld is a tiny trained run compiled into the hand engine, and
// users' histories (a full one, a short one, one behaviour).
type engineWorld struct {
	p    pipeline
	emb  string // the extraction: item_ids.npy (dense ids), item_embs.npy
	eng  *engine.Engine
	cfg  engine.Config
	hist [][]item.ID
	cate [][]int32
}

func newEngineWorld(t *testing.T) *engineWorld {
	t.Helper()
	p := makePipeline(t)
	w := &engineWorld{p: p, emb: filepath.Join(filepath.Dir(p.run), "emb")}
	run, err := train.OpenRun(p.run)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := run.OpenDataset("", dataset.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	m, err := run.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	if w.eng, err = train.CompileEngine(m, ds, engine.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.eng.Close() })
	w.cfg = w.eng.Config()
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{w.cfg.SeqLen, 7, 1} {
		hi, hc := make([]item.ID, n), make([]int32, n)
		for i := range hi {
			hi[i] = item.Row(r.IntN(w.cfg.NumItems)).ID()
			hc[i] = ds.ItemCate.At(hi[i])
		}
		w.hist, w.cate = append(w.hist, hi), append(w.cate, hc)
	}
	return w
}

// engineScores is the hand engine's score of user u on every item.
func (w *engineWorld) engineScores(t *testing.T, u int) []float64 {
	t.Helper()
	sc := w.eng.NewScorer()
	if err := sc.BindIDs(w.hist[u], w.cate[u]); err != nil {
		t.Fatal(err)
	}
	rows := item.AllRows(w.cfg.NumItems)
	out := make([]float32, len(rows))
	sc.Score(rows, out)
	ref := make([]float64, len(out))
	for i, v := range out {
		ref[i] = float64(v)
	}
	return ref
}

// userTensors are the ONNX user inputs of user u for one pair.
func (w *engineWorld) userTensors(t *testing.T, in model.ONNXInputs, u int) map[string]*onnx.Tensor {
	t.Helper()
	l := w.cfg.SeqLen
	if in == model.ONNXCommSeq {
		seq := make([]float32, w.cfg.CommSeqLen())
		if err := w.eng.CommSeq(w.hist[u], w.cate[u], seq); err != nil {
			t.Fatal(err)
		}
		x := onnx.NewTensor(onnx.Float32, 1, l, w.cfg.SeqWidth())
		for i, v := range seq {
			x.Data[i] = float64(v)
		}
		return map[string]*onnx.Tensor{model.ONNXCommSeqInput: x}
	}
	hi, hc := onnx.NewTensor(onnx.Int64, 1, l), onnx.NewTensor(onnx.Int64, 1, l)
	for i := range w.hist[u] {
		hi.Data[i], hc.Data[i] = float64(w.hist[u][i]), float64(w.cate[u][i])
	}
	return map[string]*onnx.Tensor{model.ONNXHistItemsInput: hi, model.ONNXHistCatesInput: hc}
}

// TestExportONNXImportsToEngineScores is issue 14's "nann's own trained
// model exports to the same contract and importing it gives the hand
// engine's scores": each input variant of ExportONNX, imported
// (ImportONNX, the compiled plan of the reopened bundle), scores every
// item of a tiny trained world within 1e-4 relative of the hand engine;
// the item_ids variant builds its index on item_vec, which is the
// extraction's e_v table.
func TestExportONNXImportsToEngineScores(t *testing.T) {
	ctx := context.Background()
	w := newEngineWorld(t)
	dir := t.TempDir()
	embs := filepath.Join(w.emb, train.ItemEmbsFile)
	for _, in := range []model.ONNXInputs{model.ONNXCommSeq, model.ONNXHistIDs, model.ONNXItemIDs} {
		path := filepath.Join(dir, string(in)+".onnx")
		rep, err := bundle.ExportONNX(ctx, bundle.ONNXExportOptions{RunDir: w.p.run, Out: path, Inputs: in})
		if err != nil {
			t.Fatal(err)
		}
		o := bundle.DefaultImportOptions()
		o.ONNX, o.ItemIDs, o.Base, o.Name = path, filepath.Join(w.emb, train.ItemIDsFile), filepath.Join(dir, "base"), string(in)
		o.Index.M, o.Index.EfConstruction = 8, 32
		if rep.IndexEmbedding != "" {
			o.IndexEmbedding = rep.IndexEmbedding
		} else {
			o.ItemEmbs = embs
		}
		vdir, m, err := bundle.ImportONNX(ctx, o)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if m.Contract.ItemInput != rep.ItemInput || m.Contract.ScoreOutput != "score" || m.NumItems != w.cfg.NumItems || m.ItemDim != w.cfg.ItemDim {
			t.Fatalf("%s: manifest %+v, export %+v", in, m, rep)
		}
		b, err := bundle.OpenONNX(ctx, vdir)
		if err != nil {
			t.Fatal(err)
		}
		if in == model.ONNXItemIDs {
			want, _, err := npy.Read[float32](embs)
			if err != nil {
				t.Fatal(err)
			}
			ref := make([]float64, len(want))
			for i, v := range want {
				ref[i] = float64(v)
			}
			if e := numtest.RelErr(b.ItemEmbs, ref); e > 1e-5 {
				t.Fatalf("item_vec index vectors: relative error %.2e against nann extract's", e)
			}
		}
		rows := item.AllRows(w.cfg.NumItems)
		got := make([]float32, len(rows))
		sc := b.Plan.NewScorer()
		for u := range w.hist {
			if err := sc.Bind(w.userTensors(t, in, u)); err != nil {
				t.Fatal(err)
			}
			if err := sc.Score(rows, got); err != nil {
				t.Fatal(err)
			}
			if e := numtest.RelErr(got, w.engineScores(t, u)); e > 1e-4 {
				t.Errorf("%s user %d: imported scores are %.2e relative from the hand engine's", in, u, e)
			}
		}
	}
}

// TestExportONNXRefusesForeignFile: --onnx never replaces a file that is
// not an ONNX model nann wrote; one it wrote is replaced.
func TestExportONNXRefusesForeignFile(t *testing.T) {
	ctx := context.Background()
	p := makePipeline(t)
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := bundle.ONNXExportOptions{RunDir: p.run, Out: path}
	if _, err := bundle.ExportONNX(ctx, o); err == nil || !strings.Contains(err.Error(), "not an ONNX model nann wrote") {
		t.Fatalf("foreign file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Fatalf("the foreign file was changed: %q", b)
	}
	os.Remove(path)
	for range 2 {
		if _, err := bundle.ExportONNX(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bundle.ExportONNX(ctx, bundle.ONNXExportOptions{RunDir: p.run, Out: path, Inputs: "seq"}); err == nil || !strings.Contains(err.Error(), `"seq"`) {
		t.Fatalf("bad inputs: %v", err)
	}
}
