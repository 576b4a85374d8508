package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"nann/bundle"
	"nann/internal/npy"
	"nann/onnx"
)

// TestImportItemFeatureFlag: nann import --item-feature INPUT=FILE
// (repeated) with --index-embedding on a model with two item-side inputs
// (item_id, item_cate): the manifest lists the feature, the bundle opens,
// and the text report names it.
func TestImportItemFeatureFlag(t *testing.T) {
	dir := t.TempDir()
	const n = 40
	b := onnx.NewBuilder("two_item_inputs", 13)
	u := b.Input("u", onnx.Float32, onnx.Batch, 2)
	id := b.Input("item_id", onnx.Int64, onnx.Batch)
	cate := b.Input("item_cate", onnx.Int64, onnx.Batch)
	e, c, w := make([]float32, (n+1)*3), make([]float32, 4*2), []float32{1, -2, 0.5, 3, 0.25, -1, 2, 1, -0.5, 0.75}
	for i := range e {
		e[i] = float32(i%7) - 3
	}
	for i := range c {
		c[i] = float32(i) / 4
	}
	v := b.Node("Concat", "item_vec", []string{b.Node("Gather", "", []string{b.Float32("E", e, n+1, 3), id}, onnx.IntAttr("axis", 0)),
		b.Node("Gather", "", []string{b.Float32("C", c, 4, 2), cate}, onnx.IntAttr("axis", 0))}, onnx.IntAttr("axis", 1))
	p := b.Node("Mul", "", []string{b.Node("MatMul", "", []string{u, b.Float32("W", w, 2, 5)}), v})
	b.Node("ReduceSum", "score", []string{p, b.Int64("", []int64{1}, 1)}, onnx.IntAttr("keepdims", 0))
	b.Output("score", onnx.Float32, onnx.Batch)
	mp, err := b.Model("")
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "m.onnx")
	if err := onnx.WriteModel(model, mp); err != nil {
		t.Fatal(err)
	}
	ids, cates := make([]int64, n), make([]int64, n)
	for i := range ids {
		ids[i], cates[i] = int64(i+1), int64(1+i%3)
	}
	idsPath, catesPath := filepath.Join(dir, "ids.npy"), filepath.Join(dir, "cates.npy")
	if err := npy.Write(idsPath, ids); err != nil {
		t.Fatal(err)
	}
	if err := npy.Write(catesPath, cates); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "base")
	rep := runImport(t, "--tables", "float32", "--onnx", model, "--item-ids", idsPath, "--item-input", "item_id", "--user-inputs", "u",
		"--item-feature", "item_cate="+catesPath, "--index-embedding", "item_vec", "--base", base, "--m", "8")
	if c := rep.Manifest.Contract; c.ItemInput != "item_id" || len(c.ItemFeatures) != 1 || c.ItemFeatures[0] != "item_cate" || rep.Manifest.ItemDim != 5 {
		t.Fatalf("manifest %+v", rep.Manifest)
	}
	if _, err := bundle.OpenONNX(t.Context(), rep.Dir); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runMain(t, "import", "--tables", "float32", "--onnx", model, "--item-ids", idsPath, "--item-feature", "item_cate="+catesPath,
		"--index-embedding", "item_vec", "--base", base, "--m", "8")
	if code != 0 || !strings.Contains(stdout, "item features [item_cate]") || !strings.Contains(stdout, "index built on the graph's item-only value item_vec (5 wide)") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
}
