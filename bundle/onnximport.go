package bundle

import (
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"

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
		if err := checkFiniteTable(t, o.ItemEmbs); err != nil {
			return nil, err
		}
		return t, nil
	}
	name := o.Contract.ItemInput
	if name == "" {
		c, err := o.Contract.Resolve(g)
		if err != nil {
			return nil, err
		}
		name = c.ItemInput
	}
	in := g.Values[name]
	if in == nil || in.Const != nil || in.Producer != nil {
		return nil, fmt.Errorf("item input %q is not a graph input", name)
	}
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

// checkFiniteTable refuses NaN and Inf in a float table, naming the row.
func checkFiniteTable(t *onnx.Tensor, path string) error {
	if !t.DType.IsFloat() {
		return nil
	}
	if t.Rank() == 0 || t.Shape[0] == 0 {
		return fmt.Errorf("item table %s: shape %v, want one row per item (leading dim N > 0)", path, t.Shape)
	}
	w := t.Len() / t.Shape[0]
	for i, v := range t.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("item table %s: row %d holds %v", path, i/max(w, 1), v)
		}
	}
	return nil
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

// readItemInput reads a bundle's item input table.
func readItemInput(dir string, m *ONNXManifest) (*onnx.Tensor, error) {
	t, err := onnx.ReadNPY(filepath.Join(dir, ONNXItemInputFile))
	if err != nil {
		return nil, err
	}
	if t.Rank() == 0 || t.Shape[0] != m.NumItems {
		return nil, fmt.Errorf("%s has shape %v, manifest says %d items", ONNXItemInputFile, t.Shape, m.NumItems)
	}
	return t, nil
}

// checkIndexVectors checks that the graph computes the stored index
// vectors x from the item input items (on the first, middle and last
// items).
func checkIndexVectors(g *onnx.Graph, c plan.Contract, items *onnx.Tensor, m *ONNXManifest, x []float32) error {
	n, w := m.NumItems, items.Len()/m.NumItems
	sample := []int{0, n / 2, n - 1}
	sub := &onnx.Tensor{DType: items.DType, Shape: append([]int{len(sample)}, items.Shape[1:]...)}
	for _, r := range sample {
		sub.Data = append(sub.Data, items.Data[r*w:(r+1)*w]...)
	}
	ev, err := plan.ItemValue(g, c, sub, m.IndexEmbedding)
	if err != nil {
		return fmt.Errorf("%s: index embedding: %w", ONNXModelFile, err)
	}
	d := m.ItemDim
	if ev.Len() != len(sample)*d {
		return fmt.Errorf("%s: index embedding %q has shape %v per 3 items, manifest says width %d", ONNXModelFile, m.IndexEmbedding, ev.Shape, d)
	}
	for i, r := range sample {
		for j := 0; j < d; j++ {
			got, want := float64(x[r*d+j]), ev.Data[i*d+j]
			if math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
				return fmt.Errorf("%s row %d [%d] is %g, the graph's %q computes %g from the item input", ONNXItemEmbsFile, r, j, got, m.IndexEmbedding, want)
			}
		}
	}
	return nil
}

// itemSide is an import's item side: the graph to compile (wrapped when
// there are item features) and its contract and item input, the model's
// own item input table, and the index vectors.
type itemSide struct {
	g         *onnx.Graph
	c         plan.Contract
	items     *onnx.Tensor // what plan.Compile takes as the item input
	main      *onnx.Tensor // the table of the model's item input
	mainName  string
	features  map[string]*onnx.Tensor
	featNames []string
	x         []float32 // index vectors [N, d]
	shape     []int
	desc      string // the rows' source, for errors
}

// prepare reads the item input table (when the index is on a graph value),
// the feature tables, wraps the graph when there are features, and
// computes the index vectors (when on a graph value).
func (s *itemSide) prepare(o *ImportOptions, ids []int64) error {
	var err error
	if len(o.ItemFeatures) > 0 {
		if s.features, s.featNames, err = readFeatureTables(o.ItemFeatures); err != nil {
			return err
		}
		if s.mainName, err = mainItemInput(s.g, o.Contract, s.features); err != nil {
			return err
		}
		o.Contract.ItemInput = s.mainName
	}
	if o.IndexEmbedding != "" {
		if s.main, err = importItemInput(s.g, o, ids); err != nil {
			return err
		}
		if s.desc == "" {
			s.desc = o.ItemIDs
		}
	}
	s.items, s.c = s.main, o.Contract
	if len(s.features) > 0 {
		tables := map[string]*onnx.Tensor{s.mainName: s.main}
		for k, t := range s.features {
			tables[k] = t
		}
		if s.g, err = readWrapped(o.ONNX, tables, len(ids)); err != nil {
			return err
		}
		s.c, s.items = wrappedContract(o.Contract, s.g), itemRows(s.main.Shape[0])
		s.desc += fmt.Sprintf(" and the item features %v", s.featNames)
	}
	if o.IndexEmbedding != "" {
		if s.x, s.shape, err = indexEmbedding(s.g, s.c, s.items, o.IndexEmbedding); err != nil {
			return fmt.Errorf("index embedding of %s over %s: %w", o.ONNX, s.desc, err)
		}
	}
	return nil
}

// mainItemInput is the model's item input when there are item features:
// the one named, or the only graph input that is neither a feature nor a
// named user input (else the only such input named "item…").
func mainItemInput(g *onnx.Graph, c plan.Contract, features map[string]*onnx.Tensor) (string, error) {
	if c.ItemInput != "" {
		if _, dup := features[c.ItemInput]; dup {
			return "", fmt.Errorf("item input %q is also given as an item feature", c.ItemInput)
		}
		return c.ItemInput, nil
	}
	user := map[string]bool{}
	for _, u := range c.UserInputs {
		user[u] = true
	}
	var rest []string
	for _, v := range g.Inputs {
		if _, f := features[v.Name]; !f && !user[v.Name] {
			rest = append(rest, v.Name)
		}
	}
	if len(rest) == 1 {
		return rest[0], nil
	}
	var named []string
	for _, r := range rest {
		if len(r) >= 4 && strings.EqualFold(r[:4], "item") {
			named = append(named, r)
		}
	}
	if len(named) == 1 {
		return named[0], nil
	}
	return "", fmt.Errorf("cannot tell the item input among %v (the item features are %v); name it", rest, slices.Sorted(maps.Keys(features)))
}
