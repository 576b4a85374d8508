package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
)

// TestUnservedVerbsNamed: :classify and :regress say that only :predict is
// served, whatever the HTTP method (they used to say "use GET").
func TestUnservedVerbsNamed(t *testing.T) {
	m := newFakeModel(t, 1)
	ts := startServer(t, testConfig(m.base), m.load)
	for _, c := range []struct{ method, path string }{
		{"POST", "/v1/models/nann:classify"},
		{"POST", "/v1/models/nann/versions/1:regress"},
		{"GET", "/v1/models/nann:classify"},
	} {
		req, _ := http.NewRequest(c.method, ts.rest+c.path, strings.NewReader(`{"examples": []}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		code, body := decodeResp(t, resp)
		msg, _ := body["error"].(string)
		if code != http.StatusNotImplemented || !strings.Contains(msg, "only :predict is") || strings.Contains(msg, "use GET") {
			t.Errorf("%s %s: HTTP %d %q, want 501 saying only :predict is served", c.method, c.path, code, msg)
		}
	}
}

// TestShapeErrorShowsWholeShape: a shape past the element limit is named
// with all its dims, not the ones filled so far.
func TestShapeErrorShowsWholeShape(t *testing.T) {
	m := newFakeModel(t, 1)
	ts := startServer(t, testConfig(m.base), m.load)
	_, err := ts.predict.Predict(context.Background(), &servingpb.PredictRequest{ModelSpec: spec(0), Inputs: map[string]*tfpb.TensorProto{
		"comm_seq": {Dtype: tfpb.DataType_DT_FLOAT, TensorShape: dims(1<<40, 1<<40), FloatVal: []float32{0}},
	}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "shape [1099511627776 1099511627776] exceeds") {
		t.Fatalf("got %v, want the whole shape named", err)
	}
}

// TestMetadataOutputShapes: the metadata's output shapes hold for an
// answer whose width is the request's level_topn[5] (7), not K (5).
func TestMetadataOutputShapes(t *testing.T) {
	m := newFakeModel(t, 1)
	ts := startServer(t, testConfig(m.base), m.load)
	ctx := context.Background()
	sigs := signatureDefs(t, ts)
	resp, err := ts.predict.Predict(ctx, &servingpb.PredictRequest{ModelSpec: spec(0), Inputs: map[string]*tfpb.TensorProto{
		"comm_seq":   commSeqTensor(make([]float32, 3200), 1, "float_val"),
		"level_topn": int32Tensor(10, 10, 10, 10, 10, 7),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"top_k", "scores"} {
		meta := sigs.SignatureDef["serving_default"].GetOutputs()[name].GetTensorShape().GetDim()
		got := resp.Outputs[name].GetTensorShape().GetDim()
		if len(meta) != len(got) {
			t.Fatalf("%s: metadata rank %d, answer rank %d", name, len(meta), len(got))
		}
		for i := range meta {
			if meta[i].GetSize() != -1 && meta[i].GetSize() != got[i].GetSize() {
				t.Errorf("%s: metadata says dim %d is %d, the answer has %d", name, i, meta[i].GetSize(), got[i].GetSize())
			}
		}
	}
}
