package bundle

import (
	"fmt"
	"math"
	"path/filepath"

	"nann/hnsw"
	"nann/internal/npy"
	"nann/onnx"
	"nann/plan"
)

// An import whose index is built on a value inside the graph
// (ImportOptions.IndexEmbedding): the item input is ids or features, the
// embedding Gather and the item network run inside the graph, and the
// import computes the item-only values for the whole corpus — the index
// vectors (item_embs.npy) and, through plan.Compile, the item tables.

// maxExactID is the largest id a float64 tensor holds exactly.
const maxExactID = 1 << 53

// importItemInput is the item input of every item: the table o.ItemEmbs
// (any dtype and shape the item input declares), or, without one, the
// item ids when the item input is an integer [n] or [n, 1].
func importItemInput(g *onnx.Graph, o *ImportOptions, ids []int64) (*onnx.Tensor, error) {
	if o.ItemEmbs != "" {
		t, err := onnx.ReadNPY(o.ItemEmbs)
		if err != nil {
			return nil, fmt.Errorf("item table: %w", err)
		}
		if t.Rank() == 0 || t.Shape[0] == 0 {
			return nil, fmt.Errorf("item table %s: shape %v, want one row per item (leading dim N > 0)", o.ItemEmbs, t.Shape)
		}
		if t.DType.IsFloat() {
			w := t.Len() / t.Shape[0]
			for i, v := range t.Data {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return nil, fmt.Errorf("item table %s: row %d holds %v", o.ItemEmbs, i/max(w, 1), v)
				}
			}
		}
		return t, nil
	}
	c, err := o.Contract.Resolve(g)
	if err != nil {
		return nil, err
	}
	in := g.Values[c.ItemInput]
	s := in.Shape
	if !(in.DType == onnx.Int64 || in.DType == onnx.Int32) || !(len(s) == 1 || len(s) == 2 && s[1] == onnx.Dim{Fixed: 1}) {
		return nil, fmt.Errorf("item input %q is %s %s: without an item table (--item-embs) the item ids (--item-ids %s) are the item input, which needs an integer input of shape [n] or [n,1]", in.Name, in.DType, s, o.ItemIDs)
	}
	t := &onnx.Tensor{DType: in.DType, Shape: []int{len(ids)}, Data: make([]float64, len(ids))}
	if len(s) == 2 {
		t.Shape = append(t.Shape, 1)
	}
	for i, id := range ids {
		if in.DType == onnx.Int32 && (id < math.MinInt32 || id > math.MaxInt32) || id > maxExactID || id < -maxExactID {
			return nil, fmt.Errorf("item ids %s: id %d (row %d) does not fit the item input %q (%s)", o.ItemIDs, id, i, in.Name, in.DType)
		}
		t.Data[i] = float64(id)
	}
	return t, nil
}

// indexEmbedding computes the named item-only value for every item: the
// float32 [N, d] vectors the index is built on.
func indexEmbedding(g *onnx.Graph, c plan.Contract, items *onnx.Tensor, name string) ([]float32, []int, error) {
	t, err := plan.ItemValue(g, c, items, name)
	if err != nil {
		return nil, nil, err
	}
	if !t.DType.IsFloat() || t.Rank() != 2 || t.Shape[1] == 0 {
		return nil, nil, fmt.Errorf("value %q is %s %v; the index is built on float vectors [N, d] with d > 0", name, t.DType, t.Shape)
	}
	x := t.Float32s()
	if err := hnsw.CheckFinite(x, t.Shape[1]); err != nil {
		return nil, nil, fmt.Errorf("value %q: %w", name, err)
	}
	return x, t.Shape, nil
}

// writeItemInput stores the item input table in its own dtype.
func writeItemInput(path string, t *onnx.Tensor) error {
	switch t.DType {
	case onnx.Float32:
		return npy.Write(path, t.Float32s(), t.Shape...)
	case onnx.Float64:
		return npy.Write(path, t.Data, t.Shape...)
	case onnx.Int64:
		return npy.Write(path, t.Ints(), t.Shape...)
	case onnx.Int32:
		v := make([]int32, t.Len())
		for i, x := range t.Data {
			v[i] = int32(x)
		}
		return npy.Write(path, v, t.Shape...)
	}
	return fmt.Errorf("%s: an item input of type %s cannot be stored (float32, float64, int32 or int64)", filepath.Base(path), t.DType)
}

// loadItemInput reads a bundle's item input table and checks that the
// graph computes the stored index vectors x from it (on the first, middle
// and last items).
func loadItemInput(dir string, g *onnx.Graph, c plan.Contract, m *ONNXManifest, x []float32) (*onnx.Tensor, error) {
	t, err := onnx.ReadNPY(filepath.Join(dir, ONNXItemInputFile))
	if err != nil {
		return nil, err
	}
	if t.Rank() == 0 || t.Shape[0] != m.NumItems {
		return nil, fmt.Errorf("%s has shape %v, manifest says %d items", ONNXItemInputFile, t.Shape, m.NumItems)
	}
	n, w := m.NumItems, t.Len()/m.NumItems
	sample := []int{0, n / 2, n - 1}
	sub := &onnx.Tensor{DType: t.DType, Shape: append([]int{len(sample)}, t.Shape[1:]...)}
	for _, r := range sample {
		sub.Data = append(sub.Data, t.Data[r*w:(r+1)*w]...)
	}
	ev, err := plan.ItemValue(g, c, sub, m.IndexEmbedding)
	if err != nil {
		return nil, fmt.Errorf("%s: index embedding: %w", ONNXModelFile, err)
	}
	d := m.ItemDim
	if ev.Len() != len(sample)*d {
		return nil, fmt.Errorf("%s: index embedding %q has shape %v per 3 items, manifest says width %d", ONNXModelFile, m.IndexEmbedding, ev.Shape, d)
	}
	for i, r := range sample {
		for j := 0; j < d; j++ {
			got, want := float64(x[r*d+j]), ev.Data[i*d+j]
			if math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
				return nil, fmt.Errorf("%s row %d [%d] is %g, the graph's %q computes %g from %s", ONNXItemEmbsFile, r, j, got, m.IndexEmbedding, want, ONNXItemInputFile)
			}
		}
	}
	return t, nil
}
