package server

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"nann/serving"
	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
)

// FuzzRESTBody feeds arbitrary bodies to the REST request parsers: they must
// return a request or an error, never panic or allocate past the limits.
// Run with: go test -fuzz FuzzRESTBody ./server (seeds in testdata/fuzz).
func FuzzRESTBody(f *testing.F) {
	fuzzRESTBody(f, serving.Signature{CommSeqLen: 4, SeqLen: 3, K: 2, DefaultLevelTopN: [6]int32{1, 1, 1, 1, 1, 1}}, checkRequest,
		`{"instances": [{"item_ids": [1, 2], "cate_ids": [3, 4], "level_topn": [1,2,3,4,5,6]}]}`,
		`{"inputs": {"item_ids": [[1, 2]], "level_topn": [1,2,3,4,5,6]}}`,
		`{"inputs": [[0.5, 1e3]]}`,
		`{"instances": [[[[[1]]]]]}`,
		`{"inputs": {"item_ids": [[1], [[2]]]}}`,
		`{"inputs": {"item_ids": [[], [], []]}}`,
		`{"inputs": {"item_ids": [[1]], "item_ids": [[2]]}}`,
		`{"signature_name": "predict", "instances": [[1, 2, 3, 4], [5, 6, 7, 8]]} `,
		`{"instances": [{"level_topn": [1,1,1,1,1,1], "item_ids": 3}]} trailing`,
	)
}

// fuzzRESTBody is a REST body fuzzer for sig, seeded with seeds: every
// body must decode to values within the limits or to an error, and every
// request built from the values must pass check.
func fuzzRESTBody(f *testing.F, sig serving.Signature, check func(*testing.T, *serving.Request, serving.Signature, *Config), seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	cfg := DefaultConfig()
	cfg.MaxBatch = 8
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := decodeRESTBody(bytes.NewReader(body), sig, &cfg)
		if err != nil {
			return
		}
		for name, x := range b.in {
			if n := int64(len(x.floats) + len(x.ints)); n > maxElements(name, sig, &cfg) {
				t.Fatalf("input %q: %d values decoded past the limit", name, n)
			}
		}
		if r, err := buildRequest(b.in, sig, &cfg); err == nil {
			check(t, r, sig, &cfg)
		}
	})
}

// FuzzPredictRequest decodes arbitrary PredictRequest bytes as the gRPC
// handler does.
func FuzzPredictRequest(f *testing.F) {
	seed := &servingpb.PredictRequest{Inputs: map[string]*tfpb.TensorProto{
		"comm_seq":   {Dtype: tfpb.DataType_DT_HALF, TensorShape: dims(1, 4), HalfVal: []int32{1, 2, 3, 4}},
		"level_topn": int32Tensor(1, 2, 3, 4, 5, 6),
	}}
	b, _ := proto.Marshal(seed)
	f.Add(b)
	seed2 := &servingpb.PredictRequest{Inputs: map[string]*tfpb.TensorProto{"item_ids": int64Tensor([][]int64{{1, 2}})}}
	b, _ = proto.Marshal(seed2)
	f.Add(b)
	f.Add(manyKeysMessage(6, "item_ids"))
	f.Add(manyKeysMessage(3, ""))
	cfg := DefaultConfig()
	cfg.MaxBatch = 8
	sig := serving.Signature{CommSeqLen: 4, SeqLen: 3, K: 2, DefaultLevelTopN: [6]int32{1, 1, 1, 1, 1, 1}}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := wireModelSpec(data); err != nil {
			return
		}
		known := func(name string) bool { _, ok := wantDType[name]; return ok }
		decodeWire(t, data, sig, &cfg, len(wantDType), known, checkRequest)
	})
}

// decodeWire decodes PredictRequest bytes for sig as the gRPC handler
// does: past the wire check the message holds at most maxInputs inputs;
// one whose name known refuses, or that does not decode, ends it; every
// decoded input is within its limit; a request built from them must pass
// check.
func decodeWire(t *testing.T, data []byte, sig serving.Signature, cfg *Config, maxInputs int, known func(string) bool,
	check func(*testing.T, *serving.Request, serving.Signature, *Config)) {
	t.Helper()
	if err := checkPredictWire(data, sig, cfg); err != nil {
		return
	}
	var req servingpb.PredictRequest
	if proto.Unmarshal(data, &req) != nil {
		return
	}
	if len(req.GetInputs()) > maxInputs {
		t.Fatalf("%d inputs passed the wire check", len(req.GetInputs()))
	}
	in := map[string]*tensor{}
	for name, tp := range req.GetInputs() {
		if !known(name) {
			return
		}
		x, err := decodeTensorProto(name, tp, sig, cfg)
		if err != nil {
			return
		}
		if n := int64(len(x.floats) + len(x.ints)); n > maxElements(name, sig, cfg) {
			t.Fatalf("input %q: %d values decoded past the limit", name, n)
		}
		in[name] = x
	}
	if r, err := buildRequest(in, sig, cfg); err == nil {
		check(t, r, sig, cfg)
	}
}

// checkRequest asserts the invariants every accepted request satisfies.
func checkRequest(t *testing.T, r *serving.Request, sig serving.Signature, cfg *Config) {
	if r.Batch < 1 || r.Batch > cfg.MaxBatch {
		t.Fatalf("batch %d accepted", r.Batch)
	}
	if r.CommSeq != nil && len(r.CommSeq) != r.Batch*sig.CommSeqLen {
		t.Fatalf("comm_seq of %d values for batch %d", len(r.CommSeq), r.Batch)
	}
	if r.ItemIDs != nil && len(r.ItemIDs) != r.Batch {
		t.Fatalf("%d id rows for batch %d", len(r.ItemIDs), r.Batch)
	}
	for _, row := range r.ItemIDs {
		if len(row) > sig.SeqLen {
			t.Fatalf("row of %d ids accepted", len(row))
		}
	}
	for _, n := range r.LevelTopN {
		if n < 1 || int(n) > cfg.MaxLevelTopN {
			t.Fatalf("level_topn %v accepted", r.LevelTopN)
		}
	}
}
