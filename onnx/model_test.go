package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"nann/onnx/onnxpb"
)

func floatInfo(name string, dims ...any) *onnxpb.ValueInfoProto {
	var ds []*onnxpb.TensorShapeProto_Dimension
	for _, d := range dims {
		switch d := d.(type) {
		case int:
			ds = append(ds, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
		case string:
			ds = append(ds, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}})
		}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(Float32)), Shape: &onnxpb.TensorShapeProto{Dim: ds}}}}}
}

// tinyModel is y = Relu(x·W + b) with x [n, 2], W [2, 3].
func tinyModel(opset int64) *onnxpb.ModelProto {
	w := &onnxpb.TensorProto{Name: proto.String("W"), Dims: []int64{2, 3}, DataType: proto.Int32(int32(Float32)),
		FloatData: []float32{1, 2, 3, 4, 5, 6}}
	b := &onnxpb.TensorProto{Name: proto.String("b"), Dims: []int64{3}, DataType: proto.Int32(int32(Float32)),
		RawData: []byte{0, 0, 128, 63, 0, 0, 0, 0, 0, 0, 128, 191}} // 1, 0, -1
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}},
		Graph: &onnxpb.GraphProto{
			Name:        proto.String("tiny"),
			Initializer: []*onnxpb.TensorProto{w, b},
			Input:       []*onnxpb.ValueInfoProto{floatInfo("x", "n", 2)},
			Output:      []*onnxpb.ValueInfoProto{floatInfo("y", "n", 3)},
			Node: []*onnxpb.NodeProto{
				{Name: proto.String("relu"), OpType: proto.String("Relu"), Input: []string{"h"}, Output: []string{"y"}},
				{Name: proto.String("mm"), OpType: proto.String("MatMul"), Input: []string{"x", "W"}, Output: []string{"xw"}},
				{Name: proto.String("add"), OpType: proto.String("Add"), Input: []string{"xw", "b"}, Output: []string{"h"}},
			},
		},
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseTiny(t *testing.T) {
	m, err := Parse(mustMarshal(t, tinyModel(13)), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := m.Graph
	// Nodes come out in topological order although the file lists Relu first.
	var order []string
	for _, n := range g.Nodes {
		order = append(order, n.Op)
	}
	if strings.Join(order, ",") != "MatMul,Add,Relu" {
		t.Errorf("order %v", order)
	}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	if s := g.Values["h"].Shape.String(); s != "[n,3]" {
		t.Errorf("h shape %s, want [n,3]", s)
	}
	x := &Tensor{DType: Float32, Shape: []int{2, 2}, Data: []float64{1, 0, -1, 1}}
	out, err := g.Run(map[string]*Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{2, 2, 2, 4, 3, 2} // [1,2,3]+[1,0,-1], relu([3,3,3]+[1,0,-1])
	if got := out["y"].Data; !slices.Equal(got, want) {
		t.Errorf("y = %v, want %v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	good := mustMarshal(t, tinyModel(13))
	cases := []struct {
		name string
		data func() []byte
		want string
	}{
		{"empty", func() []byte { return nil }, "empty"},
		{"garbage", func() []byte { return []byte("\xff\xff\xff\xff not a protobuf") }, "truncated or corrupt"},
		{"truncated", func() []byte { return good[:len(good)-7] }, "truncated or corrupt"},
		{"opset 12", func() []byte { return mustMarshal(t, tinyModel(12)) }, "opset 12 is outside"},
		{"opset 18", func() []byte { return mustMarshal(t, tinyModel(18)) }, "opset 18 is outside"},
		{"no graph", func() []byte {
			m := tinyModel(13)
			m.Graph = nil
			return mustMarshal(t, m)
		}, "no graph"},
		{"external data", func() []byte {
			m := tinyModel(13)
			w := m.Graph.Initializer[0]
			w.FloatData = nil
			w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			w.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("weights.bin")}}
			return mustMarshal(t, m)
		}, `tensor "W": data is stored in an external file (location "weights.bin")`},
		{"short data", func() []byte {
			m := tinyModel(13)
			m.Graph.Initializer[0].FloatData = []float32{1, 2}
			return mustMarshal(t, m)
		}, `tensor "W": holds 2 values, shape [2 3] needs 6`},
		{"short raw data", func() []byte {
			m := tinyModel(13)
			m.Graph.Initializer[1].RawData = m.Graph.Initializer[1].RawData[:5]
			return mustMarshal(t, m)
		}, `tensor "b": raw_data has 5 bytes`},
		{"huge dims", func() []byte {
			m := tinyModel(13)
			m.Graph.Initializer[0].Dims = []int64{1 << 40, 1 << 40}
			return mustMarshal(t, m)
		}, `tensor "W": shape`},
		{"undefined input", func() []byte {
			m := tinyModel(13)
			m.Graph.Node[1].Input[1] = "V"
			return mustMarshal(t, m)
		}, `node "mm" (MatMul, opset 13): input "V" is not defined`},
		{"cycle", func() []byte {
			m := tinyModel(13)
			m.Graph.Node[1].Input[0] = "y"
			return mustMarshal(t, m)
		}, "cycle"},
		{"two producers", func() []byte {
			m := tinyModel(13)
			m.Graph.Node[0].Output[0] = "h"
			return mustMarshal(t, m)
		}, "produced by two nodes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.data(), ReadOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	if _, err := Parse(good, ReadOptions{MaxBytes: 10}); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("size cap: err = %v", err)
	}
}

func TestReadFileCapAndTruncation(t *testing.T) {
	data, err := os.ReadFile("testdata/reference.onnx")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "m.onnx")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(p, ReadOptions{MaxBytes: 1000}); err == nil || !strings.Contains(err.Error(), "limit") || !strings.Contains(err.Error(), p) {
		t.Errorf("cap: err = %v", err)
	}
	// Every truncation point gives an error, never a panic or a model.
	for cut := 0; cut < len(data); cut += 97 {
		if _, err := Parse(data[:cut], ReadOptions{}); err == nil {
			t.Fatalf("truncated at %d of %d bytes: no error", cut, len(data))
		}
	}
}

func TestUnknownOpNamesNodeAndOpset(t *testing.T) {
	m := tinyModel(13)
	m.Graph.Node[0].OpType = proto.String("Celu")
	g, err := Parse(mustMarshal(t, m), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = g.Graph.CheckOps()
	var ne *NodeError
	if !errors.As(err, &ne) || !errors.Is(err, ErrUnsupportedOp) {
		t.Fatalf("err = %v, want a NodeError wrapping ErrUnsupportedOp", err)
	}
	if want := `node "relu" (Celu, opset 13): unsupported op "Celu"`; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
	if err := g.Graph.InferShapes(); err == nil || !strings.Contains(err.Error(), "Celu") {
		t.Errorf("InferShapes: err = %v", err)
	}
}

func TestRunChecksInputs(t *testing.T) {
	m, err := Parse(mustMarshal(t, tinyModel(13)), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := m.Graph
	cases := map[string]map[string]*Tensor{
		`graph input "x" is not given`:         {},
		`graph input "x" has shape [2 3]`:      {"x": NewTensor(Float32, 2, 3)},
		`graph input "x" is int64`:             {"x": NewTensor(Int64, 2, 2)},
		`"W" is not a graph input`:             {"x": NewTensor(Float32, 2, 2), "W": NewTensor(Float32, 2, 3)},
		`graph input "x": shape [2 2] but 3 v`: {"x": {DType: Float32, Shape: []int{2, 2}, Data: []float64{1, 2, 3}}},
	}
	for want, in := range cases {
		if _, err := g.Run(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}

func TestFixtureShapes(t *testing.T) {
	want := map[string]string{"reference": "[n,1]", "din13": "[n]", "din17": "[n]", "cross": "[n,1]", "ids": "[n,1]"}
	for _, name := range fixtureNames {
		m, err := ReadFile(filepath.Join("testdata", name+".onnx"), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Graph.InferShapes(); err != nil {
			t.Fatal(err)
		}
		for _, n := range m.Graph.Nodes {
			for _, v := range n.Outputs {
				if v != nil && v.Shape == nil {
					t.Errorf("%s: %s output %q has no shape", name, n, v.Name)
				}
			}
		}
		if got := m.Graph.Outputs[0].Shape.String(); got != want[name] {
			t.Errorf("%s: score shape %s, want %s", name, got, want[name])
		}
	}
}

func protoMarshal(m proto.Message) ([]byte, error) { return proto.Marshal(m) }
