package plan

import (
	"strings"
	"testing"

	"nann/onnx"
)

// itemValueGraph: user u [n,3], item x [n,4]; h = x·W (item-only), m =
// x + mean over the batch of x (item-only by its inputs, but mixing rows),
// score = Σ(u·V ⊙ h).
func itemValueGraph(t *testing.T) *onnx.Graph {
	t.Helper()
	b := onnx.NewBuilder("g", 13)
	u := b.Input("u", onnx.Float32, onnx.Batch, 3)
	x := b.Input("x", onnx.Float32, onnx.Batch, 4)
	w := make([]float32, 4*2)
	for i := range w {
		w[i] = float32(i) - 3
	}
	h := b.Node("MatMul", "h", []string{x, b.Float32("W", w, 4, 2)})
	mean := b.Node("ReduceMean", "", []string{x}, onnx.IntsAttr("axes", 0), onnx.IntAttr("keepdims", 1))
	b.Node("Add", "mixed", []string{x, mean})
	uv := b.Node("MatMul", "uv", []string{u, b.Float32("V", []float32{1, 2, 3, 4, 5, 6}, 3, 2)})
	p := b.Node("Mul", "", []string{uv, h})
	b.Node("ReduceSum", "score", []string{p, b.Int64("", []int64{1}, 1)}, onnx.IntAttr("keepdims", 0))
	b.Output("score", onnx.Float32, onnx.Batch)
	return builtGraph(t, b)
}

// TestItemValue: an item-only value is computed for every item (in
// chunks: more than one); a value that mixes rows, a user value, the
// score and a missing name are refused, naming the value.
func TestItemValue(t *testing.T) {
	g := itemValueGraph(t)
	c := Contract{ItemInput: "x"}
	const n = 2500
	items := onnx.NewTensor(onnx.Float32, n, 4)
	for i := range items.Data {
		items.Data[i] = float64(i%13) - 6
	}
	h, err := ItemValue(g, c, items, "h")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Shape) != 2 || h.Shape[0] != n || h.Shape[1] != 2 {
		t.Fatalf("shape %v", h.Shape)
	}
	for _, r := range []int{0, 1023, 1024, n - 1} {
		for j := 0; j < 2; j++ {
			want := 0.0
			for k := 0; k < 4; k++ {
				want += items.Data[r*4+k] * (float64(k*2+j) - 3)
			}
			if h.Data[r*2+j] != want {
				t.Fatalf("h[%d][%d] = %v, want %v", r, j, h.Data[r*2+j], want)
			}
		}
	}
	for name, want := range map[string]string{
		"mixed": `item value "mixed" (from node "mixed" (Add, opset 13)) computed for two items together differs`,
		"uv":    `value "uv" (from node "uv" (MatMul, opset 13)) depends on the user inputs [u], not on the item input "x"`,
		"score": `value "score" (from node "score" (ReduceSum, opset 13)) depends on the user inputs [u] as well as the item input "x": it is a pair value`,
		"W":     `value "W" (from an initializer) depends on no input (const)`,
		"nope":  `value "nope" is not in the graph`,
	} {
		if _, err := ItemValue(g, c, items, name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", name, err, want)
		}
	}
	if _, err := ItemValue(g, c, onnx.NewTensor(onnx.Float32, 3, 5), "h"); err == nil || !strings.Contains(err.Error(), `item table for input "x" has shape [3 5]`) {
		t.Errorf("wrong width: %v", err)
	}
}
