package bundle

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nann/hnsw"
	"nann/internal/npy"
	"nann/internal/numtest"
	"nann/item"
	"nann/onnx"
	"nann/plan"
)

// idsItemEmb is the item-only value of the ids fixture: the item's
// embedding row, Gather(emb.weight, item_id) inside the graph.
const idsItemEmb = "/emb_1/Gather_output_0"

// idsFixture is the import of the ids fixture (raw history ids and the
// item id as inputs, the embeddings inside the graph) with its index on
// the item embedding: the item ids 1..200 are the item input.
func idsFixture(t *testing.T) (ImportOptions, map[string]*onnx.Tensor) {
	t.Helper()
	o, arrs := onnxFixture(t, "ids")
	items := arrs["item.item_id"]
	if err := npy.Write(o.ItemIDs, items.Ints()); err != nil {
		t.Fatal(err)
	}
	o.ItemEmbs, o.IndexEmbedding = "", idsItemEmb
	return o, arrs
}

// TestImportIndexEmbedding: a model whose item input is the item id
// imports from --item-ids alone; the index is built on the named
// item-only value (the embedding rows of the graph's table, computed for
// every item at import); the reopened bundle scores as torch does on
// every item; an item table given instead of the ids gives the same
// bundle contents.
func TestImportIndexEmbedding(t *testing.T) {
	ctx := context.Background()
	o, arrs := idsFixture(t)
	dir, m := mustImport(t, o)
	if m.IndexEmbedding != idsItemEmb || m.ItemDim != 12 || m.NumItems != 200 || m.Contract.ItemInput != "item_id" || m.Source.ItemEmbs != "" {
		t.Fatalf("manifest %+v", m)
	}
	b, err := OpenONNX(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	// The index vectors are rows 1..200 of the graph's embedding table.
	md, err := onnx.ReadFile(o.ONNX, onnx.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	table := md.Graph.Values["emb.weight"].Const
	if table == nil || table.Shape[1] != 12 {
		t.Fatalf("fixture table %v", table)
	}
	want := table.Data[12 : 12*201]
	if e := numtest.RelErr(b.ItemEmbs, want); e > 1e-7 {
		t.Fatalf("index vectors: relative error %.2e against the graph's embedding rows", e)
	}
	// The graph was built on those vectors.
	q := hnsw.NoisyQueries(b.ItemEmbs, 12, 30, 0.05, 0)
	ix, err := hnsw.NewIndex(b.Graph, b.ItemEmbs, 12)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ix.SearchAll(q, 10, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r := hnsw.Recall(got, hnsw.ExactKNN(b.ItemEmbs, 12, q, 10, 1)); r < 0.9 {
		t.Errorf("recall@10 of the index on %s: %.3f", idsItemEmb, r)
	}
	// Scores: torch's, on every item.
	scores := arrs["scores"]
	rows := item.AllRows(200)
	out := make([]float32, 200)
	sc := b.Plan.NewScorer()
	hist := arrs["user.hist_ids"]
	for u := 0; u < scores.Shape[0]; u++ {
		w := hist.Len() / hist.Shape[0]
		user := map[string]*onnx.Tensor{"hist_ids": {DType: hist.DType, Shape: []int{1, w}, Data: hist.Data[u*w : (u+1)*w]}}
		if err := sc.Bind(user); err != nil {
			t.Fatal(err)
		}
		if err := sc.Score(rows, out); err != nil {
			t.Fatal(err)
		}
		if e := numtest.RelErr(out, scores.Data[u*200:(u+1)*200]); e > 1e-4 {
			t.Fatalf("user %d: %.2e relative from torch", u, e)
		}
	}
	// An item table (the ids as an int64 [N] .npy) with other raw ids: the
	// same index vectors and item input.
	o2 := o
	o2.ItemEmbs = filepath.Join(t.TempDir(), "item_table.npy")
	if err := npy.Write(o2.ItemEmbs, arrs["item.item_id"].Ints()); err != nil {
		t.Fatal(err)
	}
	raw := make([]int64, 200)
	for i := range raw {
		raw[i] = int64(900000 + 3*i)
	}
	o2.ItemIDs = filepath.Join(t.TempDir(), "raw.npy")
	if err := npy.Write(o2.ItemIDs, raw); err != nil {
		t.Fatal(err)
	}
	dir2, m2 := mustImport(t, o2)
	if m2.ModelVer != 2 || m2.Source.ItemEmbs != o2.ItemEmbs {
		t.Fatalf("second import %+v", m2)
	}
	for _, f := range []string{ONNXItemEmbsFile, ONNXItemInputFile} {
		a, _ := os.ReadFile(filepath.Join(dir, f))
		c, _ := os.ReadFile(filepath.Join(dir2, f))
		if len(a) == 0 || string(a) != string(c) {
			t.Errorf("%s differs between the import from ids and from the item table", f)
		}
	}
	b2, err := OpenONNX(ctx, dir2)
	if err != nil {
		t.Fatal(err)
	}
	if b2.ItemIDs[5] != 900015 {
		t.Fatalf("ids %v", b2.ItemIDs[:6])
	}
}

// TestImportIndexEmbeddingErrors: an index embedding that is not an
// item-only value, is missing, has the wrong type, or an item table that
// does not fit the item input is refused, naming the value or tensor;
// nothing is published.
func TestImportIndexEmbeddingErrors(t *testing.T) {
	o, _ := idsFixture(t)
	cross, _ := onnxFixture(t, "cross")
	floats := filepath.Join(t.TempDir(), "floats.npy")
	if err := npy.Write(floats, make([]float32, 200*16), 200, 16); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*ImportOptions)
		want []string
	}{
		{"missing value", func(o *ImportOptions) { o.IndexEmbedding = "nope" }, []string{`value "nope" is not in the graph`}},
		{"pair value", func(o *ImportOptions) { o.IndexEmbedding = "/Concat_output_0" }, []string{`"/Concat_output_0"`, "Concat", "pair value, not item-only"}},
		{"user value", func(o *ImportOptions) { o.IndexEmbedding = "/Div_output_0" }, []string{`"/Div_output_0"`, "depends on the user inputs [hist_ids], not on the item input"}},
		{"score", func(o *ImportOptions) { o.IndexEmbedding = "score" }, []string{`"score"`, "not item-only"}},
		{"constant", func(o *ImportOptions) { o.IndexEmbedding = "emb.weight" }, []string{`"emb.weight"`, "depends on no input"}},
		{"integer value", func(o *ImportOptions) { o.IndexEmbedding = "item_id" }, []string{`value "item_id" is int64 [200]`, "float vectors"}},
		{"table of the wrong shape", func(o *ImportOptions) { o.ItemEmbs = floats }, []string{`item table for input "item_id"`, "[200 16]"}},
		{"float item input without a table", func(o *ImportOptions) {
			*o = cross
			o.ItemEmbs, o.IndexEmbedding = "", "item_emb"
		}, []string{`item input "item_emb" is float32 [n,16]`, "--item-embs"}},
	} {
		oo := o
		oo.Base = filepath.Join(t.TempDir(), "base")
		tc.mod(&oo)
		if importRefused(t, tc.name, oo, tc.want) {
			noVersionLeft(t, tc.name, oo.Base)
		}
	}
}

// TestLoadItemInputChecksVectors: a bundle whose index vectors are not
// what its graph computes from its item input is refused at load, naming
// the file, the row and the value.
func TestLoadItemInputChecksVectors(t *testing.T) {
	ctx := context.Background()
	o, _ := idsFixture(t)
	dir, m := mustImport(t, o)
	b, err := OpenONNX(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	x := append([]float32(nil), b.ItemEmbs...)
	x[100*12+3] += 0.5 // row 100 is the middle row the load samples
	g, err := readGraph(filepath.Join(dir, ONNXModelFile))
	if err != nil {
		t.Fatal(err)
	}
	items, err := readItemInput(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	c := plan.Contract{ItemInput: "item_id", UserInputs: []string{"hist_ids"}}
	err = checkIndexVectors(g, c, items, m, x)
	if err == nil || !strings.Contains(err.Error(), ONNXItemEmbsFile+" row 100 [3]") || !strings.Contains(err.Error(), idsItemEmb) {
		t.Fatalf("tampered vectors: %v", err)
	}
	if err := checkIndexVectors(g, c, items, m, b.ItemEmbs); err != nil {
		t.Fatal(err)
	}
}

// TestImportFeatureTable: the reference fixture's item input is a feature
// row [n, 16] and its item network runs inside the graph; with the index
// on the item network's output, the import stores the features as the
// item input and the network's output (what the interpreter computes) as
// the index vectors, and scores as torch does.
func TestImportFeatureTable(t *testing.T) {
	ctx := context.Background()
	o, arrs := onnxFixture(t, "reference")
	const ev = "/item/l3/Gemm_output_0"
	o.IndexEmbedding = ev
	dir, m := mustImport(t, o)
	if m.ItemDim != 16 || m.Contract.ItemInput != "item_feat" {
		t.Fatalf("manifest %+v", m)
	}
	b, err := OpenONNX(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	feat, shape, err := npy.Read[float32](filepath.Join(dir, ONNXItemInputFile))
	if err != nil || len(shape) != 2 || shape[1] != 16 || feat[17] != float32(arrs["item.item_feat"].Data[17]) {
		t.Fatalf("item_input.npy %v: %v", shape, err)
	}
	md, err := onnx.ReadFile(o.ONNX, onnx.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env, err := md.Graph.Eval(map[string]*onnx.Tensor{"item_feat": arrs["item.item_feat"], "comm_seq": repeatFirst(arrs["user.comm_seq"], 200)})
	if err != nil {
		t.Fatal(err)
	}
	if e := numtest.RelErr(b.ItemEmbs, env[md.Graph.Values[ev]].Data); e > 1e-6 {
		t.Fatalf("index vectors: %.2e relative from the interpreter's %s", e, ev)
	}
	rows := item.AllRows(200)
	out := make([]float32, 200)
	sc := b.Plan.NewScorer()
	seq := arrs["user.comm_seq"]
	w := seq.Len() / seq.Shape[0]
	for u := 0; u < seq.Shape[0]; u++ {
		if err := sc.Bind(map[string]*onnx.Tensor{"comm_seq": {DType: onnx.Float32, Shape: append([]int{1}, seq.Shape[1:]...), Data: seq.Data[u*w : (u+1)*w]}}); err != nil {
			t.Fatal(err)
		}
		if err := sc.Score(rows, out); err != nil {
			t.Fatal(err)
		}
		if e := numtest.RelErr(out, arrs["scores"].Data[u*200:(u+1)*200]); e > 1e-4 {
			t.Fatalf("user %d: %.2e relative from torch", u, e)
		}
	}
}

// repeatFirst is row 0 of x repeated n times.
func repeatFirst(x *onnx.Tensor, n int) *onnx.Tensor {
	w := x.Len() / x.Shape[0]
	out := &onnx.Tensor{DType: x.DType, Shape: append([]int{n}, x.Shape[1:]...), Data: make([]float64, 0, n*w)}
	for range n {
		out.Data = append(out.Data, x.Data[:w]...)
	}
	return out
}

// featuresModel writes a model with a user input u [n,3] and three
// item-side inputs — item_id int64 [n], item_cate int64 [n], item_price
// float32 [n,1] — whose item network (two embedding Gathers, a Concat
// with the price, Gemm, Tanh) gives item_vec [n,5]; score = Σ (u·Wu) ⊙
// item_vec. It returns the model's path and the item tables of n items.
func featuresModel(t *testing.T, n int) (path string, ids, cates []int64, price []float32) {
	t.Helper()
	b := onnx.NewBuilder("features", 13)
	u := b.Input("u", onnx.Float32, onnx.Batch, 3)
	id := b.Input("item_id", onnx.Int64, onnx.Batch)
	cate := b.Input("item_cate", onnx.Int64, onnx.Batch)
	pr := b.Input("item_price", onnx.Float32, onnx.Batch, 1)
	val := func(i, k int) float32 { return float32((i*7+k*3)%11)/5 - 1 }
	emb, cemb, w, wu := make([]float32, (n+1)*4), make([]float32, 6*2), make([]float32, 7*5), make([]float32, 3*5)
	for _, s := range [][]float32{emb, cemb, w, wu} {
		for i := range s {
			s[i] = val(i, len(s))
		}
	}
	ei := b.Node("Gather", "", []string{b.Float32("E", emb, n+1, 4), id}, onnx.IntAttr("axis", 0))
	ec := b.Node("Gather", "", []string{b.Float32("C", cemb, 6, 2), cate}, onnx.IntAttr("axis", 0))
	x := b.Node("Concat", "", []string{ei, ec, pr}, onnx.IntAttr("axis", 1))
	h := b.Node("Tanh", "item_vec", []string{b.Node("Gemm", "", []string{x, b.Float32("W", w, 7, 5), b.Float32("B", []float32{0.1, -0.2, 0.3, 0, 0.05}, 5)})})
	uv := b.Node("MatMul", "", []string{u, b.Float32("Wu", wu, 3, 5)})
	b.Node("ReduceSum", "score", []string{b.Node("Mul", "", []string{uv, h}), b.Int64("", []int64{1}, 1)}, onnx.IntAttr("keepdims", 0))
	b.Output("score", onnx.Float32, onnx.Batch)
	mp, err := b.Model("")
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "features.onnx")
	if err := onnx.WriteModel(path, mp); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		ids, cates, price = append(ids, int64(i+1)), append(cates, int64(1+i%5)), append(price, float32(i%9)/4)
	}
	return path, ids, cates, price
}

// TestImportItemFeatures: a model with the item id and two feature
// tables as item-side inputs imports from --item-ids and the tables; the
// index is on the graph's item_vec; the reopened bundle scores, and its
// index vectors are, what the interpreter computes on the original graph
// with every input; feature tables that do not fit are refused, naming
// the input.
func TestImportItemFeatures(t *testing.T) {
	ctx := context.Background()
	const n = 60
	path, ids, cates, price := featuresModel(t, n)
	dir := t.TempDir()
	write := func(name string, data any, shape ...int) string {
		p := filepath.Join(dir, name)
		var err error
		switch d := data.(type) {
		case []int64:
			err = npy.Write(p, d, shape...)
		case []float32:
			err = npy.Write(p, d, shape...)
		}
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	o := DefaultImportOptions()
	o.ONNX, o.Base, o.ItemIDs, o.IndexEmbedding = path, filepath.Join(dir, "base"), write("ids.npy", ids), "item_vec"
	o.Index.M, o.Index.EfConstruction = 8, 32
	o.ItemFeatures = map[string]string{"item_cate": write("cates.npy", cates), "item_price": write("price.npy", price, n, 1)}
	o.Contract.UserInputs = []string{"u"}
	vdir, m := mustImport(t, o)
	if c := m.Contract; c.ItemInput != "item_id" || len(c.ItemFeatures) != 2 || c.ItemFeatures[0] != "item_cate" || c.ItemFeatures[1] != "item_price" ||
		len(c.UserInputs) != 1 || c.UserInputs[0].Name != "u" || m.ItemDim != 5 {
		t.Fatalf("manifest %+v", m)
	}
	b, err := OpenONNX(ctx, vdir)
	if err != nil {
		t.Fatal(err)
	}
	// The reference: the interpreter on the original graph, all inputs.
	md, err := onnx.ReadFile(path, onnx.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	feeds := map[string]*onnx.Tensor{"item_id": onnx.NewTensor(onnx.Int64, n), "item_cate": onnx.NewTensor(onnx.Int64, n),
		"item_price": onnx.NewTensor(onnx.Float32, n, 1), "u": onnx.NewTensor(onnx.Float32, n, 3)}
	user := []float64{0.7, -1.3, 0.4}
	for i := 0; i < n; i++ {
		feeds["item_id"].Data[i], feeds["item_cate"].Data[i], feeds["item_price"].Data[i] = float64(ids[i]), float64(cates[i]), float64(price[i])
		copy(feeds["u"].Data[3*i:], user)
	}
	env, err := md.Graph.Eval(feeds)
	if err != nil {
		t.Fatal(err)
	}
	if e := numtest.RelErr(b.ItemEmbs, env[md.Graph.Values["item_vec"]].Data); e > 1e-6 {
		t.Fatalf("index vectors: %.2e relative from the interpreter's item_vec", e)
	}
	rows := item.AllRows(n)
	out := make([]float32, n)
	sc := b.Plan.NewScorer()
	if err := sc.Bind(map[string]*onnx.Tensor{"u": {DType: onnx.Float32, Shape: []int{1, 3}, Data: user}}); err != nil {
		t.Fatal(err)
	}
	if err := sc.Score(rows, out); err != nil {
		t.Fatal(err)
	}
	if e := numtest.RelErr(out, env[md.Graph.Values["score"]].Data); e > 1e-4 {
		t.Fatalf("scores: %.2e relative from the interpreter", e)
	}
	// Feature tables that do not fit.
	for _, tc := range []struct {
		name string
		mod  func(*ImportOptions)
		want []string
	}{
		{"wide price", func(o *ImportOptions) { o.ItemFeatures["item_price"] = write("p2.npy", make([]float32, 2*n), n, 2) },
			[]string{`item table for input "item_price" is float32 [60 2]; the model declares float32 [n,1]`}},
		{"short cates", func(o *ImportOptions) { o.ItemFeatures["item_cate"] = write("c2.npy", cates[1:]) }, []string{`item table for input "item_cate" has shape [59]: 59 rows for 60 items`}},
		{"float cates", func(o *ImportOptions) { o.ItemFeatures["item_cate"] = write("c3.npy", make([]float32, n)) }, []string{`"item_cate" is float32 [60]; the model declares int64`}},
		{"not an input", func(o *ImportOptions) { o.ItemFeatures["item_colour"] = o.ItemFeatures["item_cate"] }, []string{`item-side input "item_colour" is not a graph input`}},
		{"item input as a feature", func(o *ImportOptions) { o.Contract.ItemInput, o.ItemFeatures["item_id"] = "item_id", o.ItemIDs },
			[]string{`item input "item_id" is also given as an item feature`}},
	} {
		oo := o
		oo.Base = filepath.Join(t.TempDir(), "b")
		oo.ItemFeatures = maps.Clone(o.ItemFeatures)
		tc.mod(&oo)
		importRefused(t, tc.name, oo, tc.want)
	}
}
