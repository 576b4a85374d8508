package server

import (
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"nann/serving"
	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
)

// namedFuzzSig is an imported model's signature: a float input with fixed
// dims and an integer one.
var namedFuzzSig = serving.Signature{K: 2, DefaultLevelTopN: [6]int32{1, 1, 1, 1, 1, 1}, Inputs: []serving.Input{
	{Name: "hist", DType: serving.Float32, Shape: []int64{-1, 3, 2}},
	{Name: "ids", DType: serving.Int32, Shape: []int64{-1, 4}},
}}

// checkNamedRequest asserts what every accepted named request satisfies:
// each signature input present with the signature's shape and the batch,
// values within the element bound, finite floats, int32 values in range.
func checkNamedRequest(t *testing.T, r *serving.Request, sig serving.Signature, cfg *Config) {
	if r.Batch < 1 || r.Batch > cfg.MaxBatch || len(r.Inputs) != len(sig.Inputs) || r.CommSeq != nil || r.ItemIDs != nil {
		t.Fatalf("request batch %d, %d inputs accepted", r.Batch, len(r.Inputs))
	}
	for _, in := range sig.Inputs {
		x := r.Inputs[in.Name]
		want := append([]int64{int64(r.Batch)}, in.Shape[1:]...)
		if x == nil || !slices.Equal(x.Shape, want) || int64(x.Len()) != int64(r.Batch)*in.RowLen() {
			t.Fatalf("input %q: %+v accepted, want shape %v", in.Name, x, want)
		}
		for _, v := range x.Floats {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("input %q: non-finite %v accepted", in.Name, v)
			}
		}
		for _, v := range x.Ints {
			if in.DType == serving.Int32 && (v > math.MaxInt32 || v < math.MinInt32) {
				t.Fatalf("input %q: %d accepted as int32", in.Name, v)
			}
		}
	}
	for _, n := range r.LevelTopN {
		if n < 1 || int(n) > cfg.MaxLevelTopN {
			t.Fatalf("level_topn %v accepted", r.LevelTopN)
		}
	}
}

// FuzzNamedRESTBody feeds arbitrary bodies to the REST parser for a model
// with named inputs: a request or an error, never a panic or values past
// the limits. Run with: go test -fuzz FuzzNamedRESTBody ./server
func FuzzNamedRESTBody(f *testing.F) {
	fuzzRESTBody(f, namedFuzzSig, checkNamedRequest,
		`{"inputs": {"hist": [[[1, 2], [3, 4], [5, 6]]], "ids": [[1, 2, 3, 4]], "level_topn": [1,1,1,1,1,1]}}`,
		`{"instances": [{"hist": [[1, 2], [3, 4], [5, 6]], "ids": [1, 2, 3, 4]}, {"hist": [[1, 2], [3, 4], [5, 6]], "ids": [5, 6, 7, 8]}]}`,
		`{"inputs": [[[1, 2], [3, 4], [5, 6]]]}`,
		`{"inputs": {"hist": [[[1e39, 2], [3, 4], [5, 6]]], "ids": [[1, 2, 3, 4]]}}`,
		`{"inputs": {"hist": [[[1, 2], [3, 4], [5, 6]]], "ids": [[1, 2, 3, 4000000000]]}}`,
		`{"inputs": {"hist": [[[1, 2], [3, 4]]], "ids": [[1, 2, 3, 4]], "comm_seq": [[1]]}}`,
	)
}

// FuzzNamedPredictRequest decodes arbitrary PredictRequest bytes for a
// model with named inputs as the gRPC handler does.
func FuzzNamedPredictRequest(f *testing.F) {
	hist := make([]float32, 12)
	seed := &servingpb.PredictRequest{Inputs: map[string]*tfpb.TensorProto{
		"hist":       floatProto(hist, []int64{2, 3, 2}, false),
		"ids":        {Dtype: tfpb.DataType_DT_INT64, TensorShape: dims(2, 4), Int64Val: []int64{1, 2, 3, 4, 5, 6, 7, 8}},
		"level_topn": int32Tensor(1, 2, 3, 4, 5, 6),
	}}
	b, _ := proto.Marshal(seed)
	f.Add(b)
	seed.Inputs["hist"] = floatProto(hist[:6], []int64{1, 3, 2}, true)
	seed.Inputs["ids"] = &tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT32, TensorShape: dims(1, 4), IntVal: []int32{1}}
	b, _ = proto.Marshal(seed)
	f.Add(b)
	f.Add(manyKeysMessage(6, "hist"))
	cfg := DefaultConfig()
	cfg.MaxBatch = 8
	sig := namedFuzzSig
	f.Fuzz(func(t *testing.T, data []byte) {
		known := func(name string) bool { return checkInputName(name, sig) == nil }
		decodeWire(t, data, sig, &cfg, maxInputEntries(sig), known, checkNamedRequest)
	})
}
