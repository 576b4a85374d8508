package bundle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"google.golang.org/protobuf/proto"

	"nann/onnx"
	"nann/onnx/onnxpb"
	"nann/plan"
)

// A model with several item-side inputs (an item id and feature tables:
// ImportOptions.ItemFeatures) is compiled over one: each item-side input
// becomes a Gather, by the item's row, of a constant table holding that
// input for every item, and the graph's only item input is the row
// (itemRowInput, int64 [n]). Everything computed from the item inputs is
// then item-only for the plan (the tables, the embedding Gathers, an item
// network), and the bundle stores model.onnx as given plus the tables.

// itemRowInput names the item input of a wrapped graph.
const itemRowInput = "nann.item_row"

// itemFeatureFile is the bundle file of the k-th item feature table
// (ONNXContract.ItemFeatures[k]).
func itemFeatureFile(k int) string { return fmt.Sprintf("item_feature_%d.npy", k) }

// readWrapped reads the model at path with the item-side inputs in tables
// (input name → [N, ...]) replaced by Gathers of constant tables by the
// item row; each table has n rows.
func readWrapped(path string, tables map[string]*onnx.Tensor, n int) (*onnx.Graph, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	if len(data) > onnx.DefaultMaxBytes {
		return nil, fmt.Errorf("onnx: %s: %d bytes, more than the %d-byte limit", path, len(data), onnx.DefaultMaxBytes)
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, fmt.Errorf("onnx: %s: not a valid ONNX model (truncated or corrupt protobuf): %w", path, err)
	}
	if err := wrapItemInputs(&mp, tables, n); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, err := onnx.FromProto(&mp)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m.Graph, nil
}

// wrapItemInputs edits mp's graph as readWrapped says, checking each table
// against the input's declared type and shape (every problem at once).
func wrapItemInputs(mp *onnxpb.ModelProto, tables map[string]*onnx.Tensor, n int) error {
	gp := mp.GetGraph()
	if gp == nil {
		return errors.New("onnx: model has no graph")
	}
	defined := map[string]bool{}
	for _, t := range gp.GetInitializer() {
		defined[t.GetName()] = true
	}
	for _, n := range gp.GetNode() {
		for _, o := range n.GetOutput() {
			defined[o] = true
		}
	}
	inputs := map[string]*onnxpb.ValueInfoProto{}
	for _, vi := range gp.GetInput() {
		if !defined[vi.GetName()] {
			inputs[vi.GetName()] = vi
		}
		defined[vi.GetName()] = true
	}
	if defined[itemRowInput] {
		return fmt.Errorf("the graph already has a value %q, the name nann gives the item row", itemRowInput)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range tables {
			if !yield(k) {
				return
			}
		}
	})
	var errs []error
	var nodes []*onnxpb.NodeProto
	for _, name := range names {
		t := tables[name]
		vi := inputs[name]
		if vi == nil {
			errs = append(errs, fmt.Errorf("item-side input %q is not a graph input", name))
			continue
		}
		if t.Rank() == 0 || t.Shape[0] != n {
			errs = append(errs, fmt.Errorf("item table for input %q has shape %v: %d rows for %d items", name, t.Shape, firstDim(t), n))
			continue
		}
		tt := vi.GetType().GetTensorType()
		dims := tt.GetShape().GetDim()
		ok := onnx.DType(tt.GetElemType()) == t.DType && len(dims) == t.Rank()
		for i := 1; ok && i < len(dims); i++ {
			ok = dims[i].GetDimParam() == "" && dims[i].GetDimValue() == int64(t.Shape[i])
		}
		if !ok {
			errs = append(errs, fmt.Errorf("item table for input %q is %s %v; the model declares %s %s (rows × the rest)", name, t.DType, t.Shape, onnx.DType(tt.GetElemType()), declared(dims)))
			continue
		}
		tp, err := onnx.TensorProto("nann.item_table/"+name, t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		gp.Initializer = append(gp.Initializer, tp)
		nodes = append(nodes, &onnxpb.NodeProto{Name: proto.String("nann.item_table/" + name), OpType: proto.String("Gather"),
			Input: []string{tp.GetName(), itemRowInput}, Output: []string{name},
			Attribute: []*onnxpb.AttributeProto{{Name: proto.String("axis"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(0)}}})
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var kept []*onnxpb.ValueInfoProto
	for _, vi := range gp.GetInput() {
		if _, wrapped := tables[vi.GetName()]; !wrapped {
			kept = append(kept, vi)
		}
	}
	row := &onnxpb.ValueInfoProto{Name: proto.String(itemRowInput), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
		ElemType: proto.Int32(int32(onnx.Int64)),
		Shape:    &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "n"}}}}}}}}
	gp.Input = append(kept, row)
	gp.Node = append(nodes, gp.Node...)
	return nil
}

func firstDim(t *onnx.Tensor) int {
	if t.Rank() == 0 {
		return 0
	}
	return t.Shape[0]
}

func declared(dims []*onnxpb.TensorShapeProto_Dimension) string {
	s := "["
	for i, d := range dims {
		if i > 0 {
			s += ","
		}
		if d.GetDimParam() != "" {
			s += d.GetDimParam()
		} else {
			s += fmt.Sprint(d.GetDimValue())
		}
	}
	return s + "]"
}

// itemRows is the item input of a wrapped graph: rows 0..n−1.
func itemRows(n int) *onnx.Tensor {
	t := &onnx.Tensor{DType: onnx.Int64, Shape: []int{n}, Data: make([]float64, n)}
	for i := range t.Data {
		t.Data[i] = float64(i)
	}
	return t
}

// wrappedContract is the contract a wrapped graph is compiled under: the
// row as the item input, and the user inputs (every input but the
// item-side ones when none are named).
func wrappedContract(c plan.Contract, g *onnx.Graph) plan.Contract {
	c.ItemInput = itemRowInput
	if c.UserInputs == nil {
		for _, v := range g.Inputs {
			if v.Name != itemRowInput {
				c.UserInputs = append(c.UserInputs, v.Name)
			}
		}
	}
	return c
}

// readFeatureTables reads ImportOptions.ItemFeatures' tables, naming the
// input and file in errors.
func readFeatureTables(features map[string]string) (map[string]*onnx.Tensor, []string, error) {
	tables := map[string]*onnx.Tensor{}
	var names []string
	var errs []error
	for name, path := range features {
		t, err := onnx.ReadNPY(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("item feature %q: %w", name, err))
			continue
		}
		if t.Rank() == 0 || t.Shape[0] == 0 {
			errs = append(errs, fmt.Errorf("item feature %q: %s: shape %v, want one row per item", name, path, t.Shape))
			continue
		}
		if err := checkFiniteTable(t, path); err != nil {
			errs = append(errs, fmt.Errorf("item feature %q: %w", name, err))
			continue
		}
		tables[name] = t
		names = append(names, name)
	}
	slices.Sort(names)
	return tables, names, errors.Join(errs...)
}

// loadFeatureTables reads a bundle's feature tables (manifest order).
func loadFeatureTables(dir string, m *ONNXManifest) (map[string]*onnx.Tensor, error) {
	tables := map[string]*onnx.Tensor{}
	for k, name := range m.Contract.ItemFeatures {
		t, err := onnx.ReadNPY(filepath.Join(dir, itemFeatureFile(k)))
		if err != nil {
			return nil, err
		}
		tables[name] = t
	}
	return tables, nil
}
