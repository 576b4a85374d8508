package bench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/x448/float16"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
)

// fakePrediction is a PredictionService that checks what the benchmark
// sends and answers K ids (the last two padding) and items_scored.
type fakePrediction struct {
	servingpb.UnimplementedPredictionServiceServer
	t      *testing.T
	want   []Input // the inputs, to check comm_seq / item_ids
	calls  atomic.Int64
	failed atomic.Int64
}

func (f *fakePrediction) fail(format string, args ...any) error {
	f.failed.Add(1)
	f.t.Errorf(format, args...)
	return status.Errorf(codes.InvalidArgument, format, args...)
}

func (f *fakePrediction) Predict(ctx context.Context, req *servingpb.PredictRequest) (*servingpb.PredictResponse, error) {
	f.calls.Add(1)
	if req.GetModelSpec().GetName() != "nann" || req.GetModelSpec().GetSignatureName() != "serving_default" {
		return nil, f.fail("model spec %v", req.GetModelSpec())
	}
	lt := req.GetInputs()["level_topn"]
	if lt.GetDtype() != tfpb.DataType_DT_INT32 || len(lt.GetIntVal()) != 6 || len(lt.GetTensorShape().GetDim()) != 1 {
		return nil, f.fail("level_topn %v", lt)
	}
	topn := lt.GetIntVal()
	if topn[0] == 7 {
		return nil, status.Error(codes.ResourceExhausted, "queue full")
	}
	if err := f.checkInput(req.GetInputs()); err != nil {
		return nil, err
	}
	k := int(topn[5])
	ids := make([]int64, k)
	for i := range k - 2 {
		ids[i] = int64(i + 1)
	}
	return &servingpb.PredictResponse{Outputs: map[string]*tfpb.TensorProto{
		"top_k":        {Dtype: tfpb.DataType_DT_INT64, TensorShape: shapeOf(1, k), Int64Val: ids},
		"items_scored": {Dtype: tfpb.DataType_DT_INT64, TensorShape: shapeOf(1), Int64Val: []int64{int64(topn[0]) * 10}},
	}}, nil
}

// checkInput finds the sent tensor among the inputs.
func (f *fakePrediction) checkInput(in map[string]*tfpb.TensorProto) error {
	if cs := in["comm_seq"]; cs != nil {
		d := cs.GetTensorShape().GetDim()
		if cs.GetDtype() != tfpb.DataType_DT_HALF || len(d) != 2 || d[0].GetSize() != 1 || int(d[1].GetSize())*2 != len(cs.GetTensorContent()) {
			return f.fail("comm_seq dtype %v shape %v, %d bytes", cs.GetDtype(), d, len(cs.GetTensorContent()))
		}
		got := make([]float32, d[1].GetSize())
		for i := range got {
			got[i] = float16.Frombits(binary.LittleEndian.Uint16(cs.GetTensorContent()[2*i:])).Float32()
		}
		for _, w := range f.want {
			if slices.Equal(w.CommSeq, got) {
				return nil
			}
		}
		return f.fail("comm_seq %v… matches no input", got[:3])
	}
	ids, cates := in["item_ids"], in["cate_ids"]
	for _, w := range f.want {
		if slices.Equal(w.ItemIDs, ids.GetInt64Val()) && slices.Equal(w.CateIDs, cates.GetInt64Val()) {
			return nil
		}
	}
	return f.fail("item_ids %v cate_ids %v match no input", ids, cates)
}

func startFakeGRPC(t *testing.T, f *fakePrediction) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	servingpb.RegisterPredictionServiceServer(s, f)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

func countRun(t *testing.T, tg Target, inputs []Input, n int64) *Report {
	t.Helper()
	cfg := quickConfig(2, 10*time.Second)
	cfg.Warmup, cfg.MaxRequests = 0, n
	rep, err := Run(context.Background(), cfg, tg, inputs)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestGRPCTarget(t *testing.T) {
	mock, err := MockInputs(3, CommSeqLen, [6]int32{100, 200, 200, 200, 200, 12}, 2)
	if err != nil {
		t.Fatal(err)
	}
	ids := Input{ItemIDs: []int64{5, 9, 11}, CateIDs: []int64{1, 2, 3}, LevelTopN: [6]int32{50, 1, 1, 1, 1, 12}}
	inputs := append(mock, ids)
	f := &fakePrediction{t: t, want: inputs}
	addr := startFakeGRPC(t, f)
	tg, err := DialGRPC(ServerConfig{Addr: addr, Conns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	rep := countRun(t, tg, inputs, 40)
	if rep.OK != 40 || rep.ErrorCount() != 0 || f.calls.Load() != 40 {
		t.Fatalf("ok %d errors %v calls %d", rep.OK, rep.Errors, f.calls.Load())
	}
	// 30 mock requests score 1000 items, 10 raw-id ones 500.
	if rep.MeanIDs != 10 || rep.ItemsScored == nil || rep.ItemsScored.Mean != 875 || rep.ItemsScored.Max != 1000 {
		t.Errorf("mean ids %.2f (want 10), items scored %+v (want mean 875)", rep.MeanIDs, rep.ItemsScored)
	}
	overload := []Input{{ItemIDs: []int64{1}, LevelTopN: [6]int32{7, 1, 1, 1, 1, 1}}}
	rep = countRun(t, tg, overload, 5)
	if rep.Errors["ResourceExhausted"] != 5 {
		t.Errorf("errors %v, want 5 ResourceExhausted", rep.Errors)
	}
}

func TestGRPCTargetBadAddress(t *testing.T) {
	if _, err := DialGRPC(ServerConfig{Addr: "no-port"}); err == nil {
		t.Error("an address without a port was accepted")
	}
	// Nothing listens there: the requests fail with Unavailable, fast.
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := lis.Addr().String()
	lis.Close()
	tg, err := DialGRPC(ServerConfig{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	rep := countRun(t, tg, []Input{{ItemIDs: []int64{1}, LevelTopN: DefaultLevelTopN}}, 4)
	if rep.Errors["Unavailable"] != 4 {
		t.Errorf("errors %v, want 4 Unavailable", rep.Errors)
	}
}

// restHandler checks the request like fakePrediction and answers in TF
// Serving's columnar format.
func restHandler(t *testing.T, want []Input, calls *atomic.Int64) http.HandlerFunc {
	var items atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			// 1 ms of server CPU per predict call so far.
			n := calls.Load()
			fmt.Fprintf(w, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %g\nnann_serve_items_scored_sum %d\nnann_serve_items_scored_count %d\n", 5+float64(n)/1000, items.Load(), n)
			return
		}
		calls.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/v1/models/nann:predict" {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		var body struct {
			SignatureName string `json:"signature_name"`
			Inputs        struct {
				CommSeq   [][]float32 `json:"comm_seq"`
				ItemIDs   [][]int64   `json:"item_ids"`
				CateIDs   [][]int64   `json:"cate_ids"`
				LevelTopN []int32     `json:"level_topn"`
			} `json:"inputs"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.SignatureName != "serving_default" || len(body.Inputs.LevelTopN) != 6 {
			t.Errorf("body: %v, %+v", err, body)
			w.WriteHeader(400)
			return
		}
		in := body.Inputs
		if in.LevelTopN[0] == 7 {
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error": "server overloaded"}`)
			return
		}
		found := false
		for _, wi := range want {
			found = found || (len(in.CommSeq) == 1 && slices.Equal(in.CommSeq[0], wi.CommSeq)) ||
				(len(in.ItemIDs) == 1 && len(in.CateIDs) == 1 && slices.Equal(in.ItemIDs[0], wi.ItemIDs) && slices.Equal(in.CateIDs[0], wi.CateIDs))
		}
		if !found {
			t.Errorf("request matches no input: %+v", in.LevelTopN)
		}
		k := int(in.LevelTopN[5])
		ids := make([]int64, k)
		for i := range k - 1 {
			ids[i] = int64(100 + i)
		}
		items.Add(int64(in.LevelTopN[0]) * 3)
		json.NewEncoder(w).Encode(map[string]any{"outputs": map[string]any{"top_k": [][]int64{ids}, "items_scored": []int{int(in.LevelTopN[0]) * 3}}})
	}
}

func TestRESTTarget(t *testing.T) {
	mock, err := MockInputs(3, CommSeqLen, [6]int32{100, 200, 200, 200, 200, 8}, 3)
	if err != nil {
		t.Fatal(err)
	}
	inputs := append(mock, Input{ItemIDs: []int64{4, 2}, CateIDs: []int64{7, 7}, LevelTopN: [6]int32{20, 1, 1, 1, 1, 8}})
	var calls atomic.Int64
	srv := httptest.NewServer(restHandler(t, inputs, &calls))
	defer srv.Close()
	tg, err := DialREST(ServerConfig{Addr: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	rep := countRun(t, tg, inputs, 40)
	if rep.OK != 40 || calls.Load() != 40 {
		t.Fatalf("ok %d errors %v calls %d", rep.OK, rep.Errors, calls.Load())
	}
	if rep.MeanIDs != 7 || rep.ItemsScored == nil || rep.ItemsScored.Mean != 240 || rep.ItemsScoredFrom != "response" {
		t.Errorf("mean ids %.2f (want 7), items scored %+v from %q (want mean (3×300+60)/4 = 240 from the response)", rep.MeanIDs, rep.ItemsScored, rep.ItemsScoredFrom)
	}
	if u := rep.Usage; u == nil || u.ServerCPUSec == nil || math.Abs(*u.ServerCPUSec-0.040) > 1e-9 || u.CPUPerRequestMs < 1 {
		t.Errorf("usage %+v, want 40 ms of server CPU, over 1 ms per request", u)
	}
	rep = countRun(t, tg, []Input{{ItemIDs: []int64{1}, LevelTopN: [6]int32{7, 1, 1, 1, 1, 1}}}, 5)
	if rep.Errors["HTTP 429"] != 5 {
		t.Errorf("errors %v, want 5 HTTP 429", rep.Errors)
	}
	if _, err := DialREST(ServerConfig{Addr: "ftp://x"}); err == nil {
		t.Error("a non-HTTP URL was accepted")
	}
}

func TestRESTBadAnswers(t *testing.T) {
	for name, body := range map[string]string{
		"not json":        `<html>`,
		"no top_k":        `{"outputs": {"scores": [[1]]}}`,
		"two rows":        `{"outputs": {"top_k": [[1], [2]]}}`,
		"bad items field": `{"outputs": {"top_k": [[1]], "items_scored": "many"}}`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }))
		tg, err := DialREST(ServerConfig{Addr: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := tg.Prepare(&Input{ItemIDs: []int64{1}, LevelTopN: DefaultLevelTopN})
		_, err = tg.Do(context.Background(), p)
		if ErrorCode(err) != CodeBadResponse {
			t.Errorf("%s: error %v, want BadResponse", name, err)
		}
		srv.Close()
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 34.11
nann_serve_items_scored_bucket{le="100"} 3
nann_serve_items_scored_sum 5.9600279e+07
nann_serve_items_scored_count 28869
go_goroutines 12
`
	s, err := parseMetrics(strings.NewReader(text))
	if err != nil || s != (ServerSample{CPUSeconds: 34.11, ItemsScoredSum: 5.9600279e+07, ItemsScoredCount: 28869}) {
		t.Errorf("%+v, %v", s, err)
	}
	if _, err := parseMetrics(strings.NewReader("go_goroutines 3\n")); err == nil {
		t.Error("metrics without CPU time accepted")
	}
	if _, err := parseMetrics(strings.NewReader("process_cpu_seconds_total lots\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad value: %v", err)
	}
}

// FuzzRESTResult checks that no answer body makes the REST parser panic.
func FuzzRESTResult(f *testing.F) {
	f.Add([]byte(`{"outputs": {"top_k": [[1, 2, 0]], "items_scored": [[5]]}}`))
	f.Add([]byte(`{"outputs": {"top_k": [[]], "items_scored": []}}`))
	f.Add([]byte(`{"error": "x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ans restAnswer
		if json.Unmarshal(b, &ans) != nil {
			return
		}
		res, err := restResult(&ans)
		if err == nil && (res.IDs < 0 || res.ItemsScored < -1) {
			t.Errorf("result %+v", res)
		}
	})
}
