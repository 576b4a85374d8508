package bench

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"nann/onnx"
	"nann/serving"
	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
)

func namedArrays() map[string]*onnx.Tensor {
	hist := onnx.NewTensor(onnx.Float32, 2, 3, 2)
	for i := range hist.Data {
		hist.Data[i] = float64(i) / 4
	}
	ids := onnx.NewTensor(onnx.Int64, 2, 4)
	for i := range ids.Data {
		ids.Data[i] = float64(100 + i)
	}
	return map[string]*onnx.Tensor{"user.hist": hist, "user.ids": ids, "scores": onnx.NewTensor(onnx.Float32, 2, 9)}
}

// TestNamedInputs: the user.* arrays become one request per user (cycling),
// [1, ...] each; the gRPC, REST and in-process encodings carry the same
// values by name; mismatched arrays are refused, naming them.
func TestNamedInputs(t *testing.T) {
	topn := [6]int32{1, 2, 3, 4, 5, 6}
	ins, err := NamedInputs(namedArrays(), 3, topn)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 3 || len(ins[0].Named) != 2 || ins[0].Named["scores"] != nil {
		t.Fatalf("inputs %+v", ins)
	}
	h := ins[1].Named["hist"]
	if !reflect.DeepEqual(h.Shape, []int64{1, 3, 2}) || h.Floats[0] != 1.5 || h.DType != serving.Float32 {
		t.Fatalf("user 1 hist %+v", h)
	}
	if got := ins[2].Named["ids"]; !reflect.DeepEqual(got.Ints, []int64{100, 101, 102, 103}) || got.DType != serving.Int64 {
		t.Fatalf("user 2 (cycled to 0) ids %+v", got)
	}
	in := &ins[1]
	if err := in.Check(); err != nil {
		t.Fatal(err)
	}
	// gRPC: DT_FLOAT content and DT_INT64 values, [1, ...].
	g := &grpcTarget{cfg: ServerConfig{Model: "m", Signature: "s"}}
	p, err := g.Prepare(in)
	if err != nil {
		t.Fatal(err)
	}
	req := p.(*servingpb.PredictRequest)
	tp := req.Inputs["hist"]
	if tp.GetDtype() != tfpb.DataType_DT_FLOAT || len(tp.GetTensorShape().GetDim()) != 3 || len(tp.TensorContent) != 24 ||
		math.Float32frombits(binary.LittleEndian.Uint32(tp.TensorContent[4:])) != h.Floats[1] {
		t.Fatalf("gRPC hist %v", tp)
	}
	if it := req.Inputs["ids"]; it.GetDtype() != tfpb.DataType_DT_INT64 || !reflect.DeepEqual(it.Int64Val, []int64{104, 105, 106, 107}) {
		t.Fatalf("gRPC ids %v", it)
	}
	if req.Inputs["level_topn"] == nil || req.Inputs["comm_seq"] != nil {
		t.Fatalf("gRPC inputs %v", req.Inputs)
	}
	// REST: nested lists by shape.
	r := &restTarget{cfg: ServerConfig{Signature: "s"}}
	body, err := r.Prepare(in)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Inputs map[string]any `json:"inputs"`
	}
	if err := json.Unmarshal(body.([]byte), &doc); err != nil {
		t.Fatalf("REST body %s: %v", body, err)
	}
	want := []any{[]any{[]any{1.5, 1.75}, []any{2.0, 2.25}, []any{2.5, 2.75}}}
	if !reflect.DeepEqual(doc.Inputs["hist"], want) || !reflect.DeepEqual(doc.Inputs["ids"], []any{[]any{104.0, 105.0, 106.0, 107.0}}) {
		t.Fatalf("REST body %s", body)
	}
	// In process: the request carries the tensors under the signature's names.
	sig := serving.Signature{K: 6, DefaultLevelTopN: topn, Inputs: []serving.Input{
		{Name: "hist", DType: serving.Float32, Shape: []int64{-1, 3, 2}}, {Name: "ids", DType: serving.Int64, Shape: []int64{-1, 4}}}}
	st := &servableTarget{sig: sig}
	sr, err := st.Prepare(in)
	if err != nil {
		t.Fatal(err)
	}
	rq := sr.(*serving.Request)
	if rq.Batch != 1 || !reflect.DeepEqual(rq.Inputs["hist"].Floats, h.Floats) || rq.LevelTopN != topn {
		t.Fatalf("in-process request %+v", rq)
	}
	sig.Inputs[1].Shape = []int64{-1, 5}
	if _, err := (&servableTarget{sig: sig}).Prepare(in); err == nil || !strings.Contains(err.Error(), `"ids"`) {
		t.Fatalf("shape mismatch in process: %v", err)
	}
	if _, err := (&servableTarget{sig: serving.Signature{CommSeqLen: 4, SeqLen: 2}}).Prepare(in); err == nil || !strings.Contains(err.Error(), "not named inputs") {
		t.Fatalf("named inputs for the reference model: %v", err)
	}
	// Bad arrays.
	bad := namedArrays()
	bad["user.ids"] = onnx.NewTensor(onnx.Int64, 3, 4)
	if _, err := NamedInputs(bad, 2, topn); err == nil || !strings.Contains(err.Error(), `"ids" has 3 users`) {
		t.Fatalf("user counts differ: %v", err)
	}
	bad = namedArrays()
	bad["user.b"] = onnx.NewTensor(onnx.Bool, 2, 1)
	if _, err := NamedInputs(bad, 2, topn); err == nil || !strings.Contains(err.Error(), `array "b"`) {
		t.Fatalf("bool array: %v", err)
	}
	bad = namedArrays()
	bad["user.hist"].Data[3] = math.NaN()
	if _, err := NamedInputs(bad, 2, topn); err == nil || !strings.Contains(err.Error(), "finite") {
		t.Fatalf("NaN: %v", err)
	}
	mixed := ins[0]
	mixed.CommSeq = []float32{1}
	if err := mixed.Check(); err == nil {
		t.Fatal("named and comm_seq together accepted")
	}
}
