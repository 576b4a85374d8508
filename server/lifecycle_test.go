package server

import (
	"context"
	"math"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
)

func seqRequest(version int64) *servingpb.PredictRequest {
	return &servingpb.PredictRequest{ModelSpec: spec(version), Inputs: map[string]*tfpb.TensorProto{
		"comm_seq":   commSeqTensor(make([]float32, 3200), 1, "half_content"),
		"level_topn": int32Tensor(10, 10, 10, 10, 10, 3),
	}}
}

// load is six clients calling the server in a loop, counting the answers
// and the failures, until finish.
type load struct {
	stop         chan struct{}
	wg           sync.WaitGroup
	ok, failures atomic.Int64
	firstErr     atomic.Value
}

// startLoad starts six clients that repeat call, passing the version of
// each answer to onVersion.
func startLoad(call func() (*servingpb.PredictResponse, error), onVersion func(int64)) *load {
	l := &load{stop: make(chan struct{})}
	for range 6 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := call()
				if err != nil {
					l.failures.Add(1)
					l.firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				l.ok.Add(1)
				onVersion(resp.GetModelSpec().GetVersion().GetValue())
			}
		}()
	}
	return l
}

// finish stops the clients, waits for them, and fails the test if any
// request failed (while: when, for the message).
func (l *load) finish(t *testing.T, while string) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if f := l.failures.Load(); f != 0 {
		t.Fatalf("%d of %d requests failed %s; first: %v", f, f+l.ok.Load(), while, l.firstErr.Load())
	}
}

// TestVersionSwapUnderLoad publishes two new versions while clients keep
// calling; every request must succeed, each new version must take over,
// and retired versions must be closed only after their last request.
func TestVersionSwapUnderLoad(t *testing.T) {
	m := newFakeModel(t, 1)
	m.delay = 2 * time.Millisecond
	ts := startServer(t, testConfig(m.base), m.load)
	var newest atomic.Int64
	load := startLoad(func() (*servingpb.PredictResponse, error) {
		return ts.predict.Predict(context.Background(), seqRequest(0))
	}, func(v int64) {
		for cur := newest.Load(); v > cur && !newest.CompareAndSwap(cur, v); cur = newest.Load() {
		}
	})
	for _, v := range []int64{2, 3} {
		time.Sleep(50 * time.Millisecond)
		m.write(t, v, "ok")
		waitFor(t, "new version to serve", 5*time.Second, func() bool { return newest.Load() == v })
	}
	time.Sleep(50 * time.Millisecond)
	load.finish(t, "during version swaps")
	waitFor(t, "old versions closed", 2*time.Second, func() bool {
		return m.servable(1).closed.Load() && m.servable(2).closed.Load()
	})
	if m.servable(3).closed.Load() || m.lateCalls.Load() != 0 {
		t.Fatalf("newest closed %v, calls after close %d", m.servable(3).closed.Load(), m.lateCalls.Load())
	}
	if m.servable(1).calls.Load() == 0 || m.servable(2).calls.Load() == 0 || m.servable(3).calls.Load() == 0 {
		t.Fatalf("versions did not all serve: %d %d %d", m.servable(1).calls.Load(), m.servable(2).calls.Load(), m.servable(3).calls.Load())
	}
	t.Logf("%d requests across 3 versions, 0 failures", load.ok.Load())
}

// TestCorruptVersionKeepsOldServing: broken and panicking new versions are
// reported in the status while the old version keeps answering.
func TestCorruptVersionKeepsOldServing(t *testing.T) {
	m := newFakeModel(t, 1)
	ts := startServer(t, testConfig(m.base), m.load)
	ctx := context.Background()
	m.write(t, 2, "broken")
	m.write(t, 3, "panic")
	var st *servingpb.GetModelStatusResponse
	waitFor(t, "failed loads to be reported", 5*time.Second, func() bool {
		var err error
		st, err = ts.models.GetModelStatus(ctx, &servingpb.GetModelStatusRequest{ModelSpec: spec(0)})
		return err == nil && len(st.ModelVersionStatus) == 3 && st.ModelVersionStatus[1].State == servingpb.ModelVersionStatus_END
	})
	got := map[int64]*servingpb.ModelVersionStatus{}
	for _, s := range st.ModelVersionStatus {
		got[s.Version] = s
	}
	if got[1].State != servingpb.ModelVersionStatus_AVAILABLE ||
		!strings.Contains(got[2].Status.GetErrorMessage(), "corrupt model file") ||
		!strings.Contains(got[3].Status.GetErrorMessage(), "panic") {
		t.Fatalf("status %v", st)
	}
	resp, err := ts.predict.Predict(ctx, seqRequest(0))
	if err != nil || resp.GetModelSpec().GetVersion().GetValue() != 1 {
		t.Fatalf("old version not serving: %v %v", resp.GetModelSpec(), err)
	}
	_, err = ts.predict.Predict(ctx, seqRequest(2))
	if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("request for the broken version: %v", err)
	}
	// Fixing the broken directory (new mtime) makes it load.
	time.Sleep(20 * time.Millisecond)
	m.write(t, 4, "ok")
	waitFor(t, "fixed version to serve", 5*time.Second, func() bool {
		resp, err := ts.predict.Predict(ctx, seqRequest(0))
		return err == nil && resp.GetModelSpec().GetVersion().GetValue() == 4
	})
	if m.servable(1) == nil {
		t.Fatal("version 1 never loaded")
	}
	waitFor(t, "version 1 closed", 2*time.Second, func() bool { return m.servable(1).closed.Load() })
}

// TestMalformedRequests sends every kind of bad request over gRPC and REST
// and checks the code and that the message names the input; the server must
// stay healthy.
func TestMalformedRequests(t *testing.T) {
	m := newFakeModel(t, 1)
	cfg := testConfig(m.base)
	cfg.MaxBatch = 4
	cfg.MaxMessageBytes = 32 << 10
	ts := startServer(t, cfg, m.load)
	good := func() map[string]*tfpb.TensorProto {
		return map[string]*tfpb.TensorProto{"comm_seq": commSeqTensor(make([]float32, 3200), 1, "float_val"), "level_topn": int32Tensor(1, 2, 3, 4, 5, 6)}
	}
	with := func(name string, tp *tfpb.TensorProto) map[string]*tfpb.TensorProto {
		in := good()
		if tp == nil {
			delete(in, name)
		} else {
			in[name] = tp
		}
		return in
	}
	nan := make([]float32, 3200)
	nan[17] = float32(math32NaN())
	inf := make([]float32, 3200)
	inf[3199] = float32(math32Inf())
	cases := []struct {
		name    string
		spec    *servingpb.ModelSpec
		inputs  map[string]*tfpb.TensorProto
		filter  []string
		code    codes.Code
		mention string
	}{
		{"unknown model", &servingpb.ModelSpec{Name: "other"}, good(), nil, codes.NotFound, "other"},
		{"unknown version", spec(9), good(), nil, codes.NotFound, "version 9"},
		{"unknown label", &servingpb.ModelSpec{Name: "nann", VersionChoice: &servingpb.ModelSpec_VersionLabel{VersionLabel: "stable"}}, good(), nil, codes.NotFound, "stable"},
		{"unknown signature", &servingpb.ModelSpec{Name: "nann", SignatureName: "classify"}, good(), nil, codes.InvalidArgument, "classify"},
		{"unknown input", spec(0), with("user_emb", int32Tensor(1)), nil, codes.InvalidArgument, "user_emb"},
		{"missing comm_seq", spec(0), with("comm_seq", nil), nil, codes.InvalidArgument, "comm_seq"},
		{"wrong dtype", spec(0), with("comm_seq", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_DOUBLE, TensorShape: dims(1, 3200), DoubleVal: make([]float64, 3200)}), nil, codes.InvalidArgument, "comm_seq"},
		{"wrong width", spec(0), with("comm_seq", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: dims(1, 3199), FloatVal: make([]float32, 3199)}), nil, codes.InvalidArgument, "comm_seq"},
		{"rank 1", spec(0), with("comm_seq", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: dims(3200), FloatVal: make([]float32, 3200)}), nil, codes.InvalidArgument, "comm_seq"},
		{"value count", spec(0), with("comm_seq", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: dims(2, 3200), FloatVal: make([]float32, 3200)}), nil, codes.InvalidArgument, "comm_seq"},
		{"content bytes", spec(0), with("comm_seq", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_HALF, TensorShape: dims(1, 3200), TensorContent: make([]byte, 6399)}), nil, codes.InvalidArgument, "comm_seq"},
		{"half pattern", spec(0), with("comm_seq", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_HALF, TensorShape: dims(1, 3200), HalfVal: []int32{70000}}), nil, codes.InvalidArgument, "comm_seq"},
		{"batch too big", spec(0), with("comm_seq", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: dims(5, 3200), FloatVal: []float32{0}}), nil, codes.InvalidArgument, "comm_seq"},
		{"huge shape", spec(0), with("comm_seq", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: dims(1<<40, 1<<40), FloatVal: []float32{0}}), nil, codes.InvalidArgument, "comm_seq"},
		{"negative dim", spec(0), with("comm_seq", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: dims(-1, 3200)}), nil, codes.InvalidArgument, "comm_seq"},
		{"NaN", spec(0), with("comm_seq", commSeqTensor(nan, 1, "float_val")), nil, codes.InvalidArgument, "[0, 17]"},
		{"Inf in half", spec(0), with("comm_seq", commSeqTensor(inf, 1, "half_val")), nil, codes.InvalidArgument, "[0, 3199]"},
		{"topn dtype", spec(0), with("level_topn", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT64, TensorShape: dims(6), Int64Val: []int64{1, 2, 3, 4, 5, 6}}), nil, codes.InvalidArgument, "level_topn"},
		{"topn shape", spec(0), with("level_topn", int32Tensor(1, 2, 3)), nil, codes.InvalidArgument, "level_topn"},
		{"topn zero", spec(0), with("level_topn", int32Tensor(1, 2, 0, 4, 5, 6)), nil, codes.InvalidArgument, "level_topn"},
		{"topn too big", spec(0), with("level_topn", int32Tensor(1, 2, 3, 4, 5, 1<<30)), nil, codes.InvalidArgument, "level_topn"},
		{"ids too long", spec(0), map[string]*tfpb.TensorProto{"item_ids": int64Tensor([][]int64{make([]int64, 51)})}, nil, codes.InvalidArgument, "item_ids"},
		{"negative id", spec(0), map[string]*tfpb.TensorProto{"item_ids": int64Tensor([][]int64{{1, -2}})}, nil, codes.InvalidArgument, "item_ids"},
		{"cate shape", spec(0), map[string]*tfpb.TensorProto{"item_ids": int64Tensor([][]int64{{1, 2}}), "cate_ids": int64Tensor([][]int64{{1}})}, nil, codes.InvalidArgument, "cate_ids"},
		{"both forms", spec(0), with("item_ids", int64Tensor([][]int64{{1}})), nil, codes.InvalidArgument, "comm_seq"},
		{"output filter", spec(0), good(), []string{"logits"}, codes.InvalidArgument, "logits"},
		{"servable rejects", spec(0), with("level_topn", int32Tensor(778, 2, 3, 4, 5, 6)), nil, codes.InvalidArgument, "out of range"},
		{"servable panics", spec(0), with("level_topn", int32Tensor(777, 2, 3, 4, 5, 6)), nil, codes.Internal, "panic"},
		{"too many bytes", spec(0), with("comm_seq", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: dims(4, 3200), FloatVal: make([]float32, 4*3200)}), nil, codes.ResourceExhausted, ""},
	}
	ctx := context.Background()
	for _, c := range cases {
		_, err := ts.predict.Predict(ctx, &servingpb.PredictRequest{ModelSpec: c.spec, Inputs: c.inputs, OutputFilter: c.filter})
		if status.Code(err) != c.code || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: got %v, want %v mentioning %q", c.name, err, c.code, c.mention)
		}
	}
	restCases := []struct {
		name, method, path, body string
		code                     int
	}{
		{"bad JSON", "POST", "/v1/models/nann:predict", `{"inputs": [`, 400},
		{"unknown field", "POST", "/v1/models/nann:predict", `{"input": {}}`, 400},
		{"both formats", "POST", "/v1/models/nann:predict", `{"inputs": [[1]], "instances": [[1]]}`, 400},
		{"ragged", "POST", "/v1/models/nann:predict", `{"inputs": {"item_ids": [[1, 2], [3]]}}`, 400},
		{"not a number", "POST", "/v1/models/nann:predict", `{"inputs": {"item_ids": [["a"]]}}`, 400},
		{"float id", "POST", "/v1/models/nann:predict", `{"inputs": {"item_ids": [[1.5]]}}`, 400},
		{"overflow float32", "POST", "/v1/models/nann:predict", `{"instances": [[1e39]]}`, 400},
		{"wrong width", "POST", "/v1/models/nann:predict", `{"instances": [[1, 2, 3]]}`, 400},
		{"topn differs", "POST", "/v1/models/nann:predict", `{"instances": [{"item_ids": [1], "level_topn": [1,1,1,1,1,1]}, {"item_ids": [2], "level_topn": [1,1,1,1,1,2]}]}`, 400},
		{"too many rows", "POST", "/v1/models/nann:predict", `{"instances": [{"item_ids": [1]}, {"item_ids": [1]}, {"item_ids": [1]}, {"item_ids": [1]}, {"item_ids": [1]}]}`, 400},
		{"unknown model", "POST", "/v1/models/other:predict", `{"instances": [{"item_ids": [1]}]}`, 404},
		{"unknown version", "GET", "/v1/models/nann/versions/7", ``, 404},
		{"bad version", "GET", "/v1/models/nann/versions/x", ``, 400},
		{"bad route", "GET", "/v1/models/nann/foo/bar/baz", ``, 404},
		{"wrong method", "GET", "/v1/models/nann:predict", ``, 405},
		{"body too big", "POST", "/v1/models/nann:predict", `{"signature_name": "` + strings.Repeat("x", 40<<10) + `"}`, 413},
		{"elements past the limit", "POST", "/v1/models/nann:predict", `{"instances": [[` + strings.Repeat("0,", 10<<10) + `0]]}`, 400},
		{"servable panics", "POST", "/v1/models/nann:predict", `{"inputs": {"item_ids": [[1]], "level_topn": [777,1,1,1,1,1]}}`, 500},
	}
	for _, c := range restCases {
		req, _ := http.NewRequest(c.method, ts.rest+c.path, strings.NewReader(c.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		code, body := decodeResp(t, resp)
		if code != c.code || body["error"] == nil || body["error"] == "" {
			t.Errorf("REST %s: HTTP %d %v, want %d with an error", c.name, code, body, c.code)
		}
	}
	if _, err := ts.predict.Predict(ctx, &servingpb.PredictRequest{ModelSpec: spec(0), Inputs: good()}); err != nil {
		t.Fatalf("server unhealthy after bad requests: %v", err)
	}
	if code, _ := postJSON(t, ts.rest+"/v1/models/nann:predict", `{"inputs": {"item_ids": [[1, 2]]}}`); code != 200 {
		t.Fatalf("REST unhealthy after bad requests: %d", code)
	}
}

func math32NaN() float64 { return math.NaN() }
func math32Inf() float64 { return math.Inf(1) }

// TestOverloadRejectsQuickly fills the one slot and the one queue place;
// further requests must fail with RESOURCE_EXHAUSTED / 429 at once.
func TestOverloadRejectsQuickly(t *testing.T) {
	m := newFakeModel(t, 1)
	m.delay = 3 * time.Second // longer than the wait for the slot and queue to fill
	cfg := testConfig(m.base)
	cfg.MaxConcurrent, cfg.MaxQueue = 1, 1
	ts := startServer(t, cfg, m.load)
	var wg sync.WaitGroup
	var slowErrs atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ts.predict.Predict(context.Background(), seqRequest(0)); err != nil {
				slowErrs.Add(1)
			}
		}()
	}
	waitFor(t, "slot and queue to fill", 2500*time.Millisecond, func() bool { return ts.lim.inFlight() == 1 && ts.lim.waiting() == 1 })
	start := time.Now()
	_, err := ts.predict.Predict(context.Background(), seqRequest(0))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("overloaded gRPC: %v", err)
	}
	code, body := postJSON(t, ts.rest+"/v1/models/nann:predict", `{"inputs": {"item_ids": [[1]]}}`)
	if code != http.StatusTooManyRequests {
		t.Fatalf("overloaded REST: %d %v", code, body)
	}
	t.Logf("two rejections took %v", time.Since(start))
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("rejections took %v", d)
	}
	wg.Wait()
	if slowErrs.Load() != 0 {
		t.Fatalf("%d admitted requests failed", slowErrs.Load())
	}
}

// TestDeadlineAndCancelReachServable: a client deadline or cancellation
// stops a slow Predict early.
func TestDeadlineAndCancelReachServable(t *testing.T) {
	m := newFakeModel(t, 1)
	m.delay = 10 * time.Second
	ts := startServer(t, testConfig(m.base), m.load)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err := ts.predict.Predict(ctx, seqRequest(0))
	cancel()
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("deadline: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = ts.predict.Predict(ctx, seqRequest(0))
	if status.Code(err) != codes.Canceled {
		t.Fatalf("cancel: %v", err)
	}
	// The servable must have seen both cancellations: in-flight drops to 0
	// long before its 10 s delay.
	waitFor(t, "servable calls to end", 2*time.Second, func() bool { return ts.lim.inFlight() == 0 })
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}

// TestShutdownDrainsWithoutLeaks: cancelling the server context lets an
// in-flight request finish, closes the model, and leaves no goroutines.
func TestShutdownDrainsWithoutLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	m := newFakeModel(t, 1)
	m.delay = 300 * time.Millisecond
	ts := startServer(t, testConfig(m.base), m.load)
	watch, err := healthpb.NewHealthClient(ts.conn).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := watch.Recv(); err != nil || st.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health watch: %v %v", st, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := ts.predict.Predict(context.Background(), seqRequest(0))
		done <- err
	}()
	waitFor(t, "request in flight", 2*time.Second, func() bool { return ts.lim.inFlight() == 1 })
	stopStart := time.Now()
	ts.cancel()
	if err := <-done; err != nil {
		t.Fatalf("in-flight request failed during shutdown: %v", err)
	}
	if err := ts.Wait(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(stopStart); d > 2*time.Second {
		t.Fatalf("shutdown took %v with an open health watch", d)
	}
	t.Logf("shutdown with a slow in-flight request and a health watch took %v", time.Since(stopStart))
	if !m.servable(1).closed.Load() {
		t.Fatal("model not closed after shutdown")
	}
	if _, err := ts.predict.Predict(context.Background(), seqRequest(0)); err == nil {
		t.Fatal("server still answers after shutdown")
	}
	ts.conn.Close()
	http.DefaultClient.CloseIdleConnections()
	var after int
	deadline := time.Now().Add(3 * time.Second)
	for {
		after = runtime.NumGoroutine()
		if after <= before || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if after > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after shutdown\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

func TestConfigValidateReportsAll(t *testing.T) {
	cfg := Config{MaxBatch: -1, MaxLoadRetries: -1}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("empty config accepted")
	}
	for _, want := range []string{"model name", "base path", "gRPC address", "max batch", "max concurrent", "request timeout", "max load retries -1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate misses %q: %v", want, err)
		}
	}
	if err := testConfig("/x").Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(testConfig("/x"), nil, nil); err == nil {
		t.Fatal("nil loader accepted")
	}

}
