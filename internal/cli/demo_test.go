package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/x448/float16"

	"nann/bundle"
	"nann/dataset"
	"nann/internal/servingtest"
	"nann/retrieve"
	"nann/server"
	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
)

// TestDemoEndToEnd runs a scaled-down demo (tiny world, a few thousand
// training samples) through every step, checks the report, then checks
// that answers served over gRPC (float16 comm_seq, as a stock TF Serving
// client sends) and REST (raw ids) equal in-process retrieval on the bundle.
func TestDemoEndToEnd(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	args := []string{"--log-level", "warn", "demo", "--dir", dir, "--preset", "tiny", "--max-samples", "6000",
		"--eval-users", "60", "--bench-duration", "500ms", "--json"}
	if code := Main(args, &out, &errb); code != 0 {
		t.Fatalf("demo exited %d: %s", code, errb.String())
	}
	var rep demoReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out.String())
	}
	checkDemoReport(t, &rep)

	// A second run reuses every offline step.
	out.Reset()
	if code := Main(args, &out, &errb); code != 0 {
		t.Fatalf("second demo exited %d: %s", code, errb.String())
	}
	var rep2 demoReport
	if err := json.Unmarshal(out.Bytes(), &rep2); err != nil {
		t.Fatal(err)
	}
	for _, s := range rep2.Steps {
		if want := s.Name != "eval" && s.Name != "serve+bench"; s.Reused != want {
			t.Errorf("second run: step %s reused=%v", s.Name, s.Reused)
		}
	}
	checkServedEqualsInProcess(t, dir)
}

func checkDemoReport(t *testing.T, rep *demoReport) {
	t.Helper()
	if len(rep.Steps) != 8 || rep.Train == nil || rep.Eval == nil || len(rep.Bench) != 3 {
		t.Fatalf("incomplete report: %d steps, train %v, eval %v, %d benches", len(rep.Steps), rep.Train != nil, rep.Eval != nil, len(rep.Bench))
	}
	if rep.Data.NumItems < 1000 || rep.Eval.Items != rep.Data.NumItems || rep.Eval.Queries != 60 {
		t.Errorf("dataset %d items, eval over %d items and %d queries", rep.Data.NumItems, rep.Eval.Items, rep.Eval.Queries)
	}
	for _, r := range rep.Eval.Recall {
		if r.Beam < 0 || r.Beam > 1 || r.Exact == nil || *r.Exact < 0 || *r.Exact > 1 {
			t.Errorf("recall %+v", r)
		}
	}
	if rep.Eval.Scored.Mean <= 0 || rep.Eval.Scored.Mean > float64(rep.Data.NumItems) {
		t.Errorf("items scored %v", rep.Eval.Scored.Mean)
	}
	for _, b := range rep.Bench {
		if b.OK == 0 || b.ErrorCount() != 0 {
			t.Errorf("bench %s: %d ok, errors %v", b.Target, b.OK, b.Errors)
		}
	}
}

func checkServedEqualsInProcess(t *testing.T, dir string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	vdir := filepath.Join(dir, "bundles", "nann", "1")
	b, err := bundle.Open(ctx, vdir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.BasePath, cfg.GRPCAddr, cfg.RESTAddr, cfg.PollInterval = filepath.Dir(vdir), "127.0.0.1:0", "127.0.0.1:0", 0
	srv := servingtest.Start(t, cfg, bundle.Load)
	client := servingpb.NewPredictionServiceClient(servingtest.Dial(t, srv.GRPCAddr()))

	ds, err := dataset.Open(filepath.Join(dir, "dataset"), dataset.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	topn := [6]int32{20, 50, 50, 50, 50, 30}
	seq := make([]float32, b.Signature().CommSeqLen)
	for i, s := range ds.Test[:10] {
		items, cates := rawIDs(ds, s)
		if err := b.CommSeqFromRaw(items, cates, seq); err != nil {
			t.Fatal(err)
		}
		half := make([]int32, len(seq))
		for j, v := range seq {
			h := float16.Fromfloat32(v)
			half[j], seq[j] = int32(h.Bits()), h.Float32()
		}
		var want retrieve.Answer
		if err := b.Retrieve(seq, topn, &want); err != nil {
			t.Fatal(err)
		}
		wantIDs := make([]int64, len(want.Rows))
		for j, r := range want.Rows {
			wantIDs[j] = b.ItemID(r)
		}
		got := grpcPredict(t, client, half, topn)
		if !slices.Equal(got, wantIDs) {
			t.Fatalf("user %d: gRPC top_k %v, in-process %v", i, got, wantIDs)
		}
		// REST with raw ids: the server embeds them itself (in float32).
		if err := b.CommSeqFromRaw(items, cates, seq); err != nil {
			t.Fatal(err)
		}
		if err := b.Retrieve(seq, topn, &want); err != nil {
			t.Fatal(err)
		}
		for j, r := range want.Rows {
			wantIDs[j] = b.ItemID(r)
		}
		if got := restPredict(t, srv.RESTAddr(), items, topn); !slices.Equal(got, wantIDs) {
			t.Fatalf("user %d: REST top_k %v, in-process %v", i, got, wantIDs)
		}
	}
}

func rawIDs(ds *dataset.Dataset, s dataset.Sample) (items, cates []int64) {
	hi, hc := ds.History(s)
	for j := range hi {
		items = append(items, ds.ItemRaw[hi[j]])
		cates = append(cates, ds.CateRaw[hc[j]])
	}
	return items, cates
}

func grpcPredict(t *testing.T, client servingpb.PredictionServiceClient, half []int32, topn [6]int32) []int64 {
	t.Helper()
	dim := func(n int64) *tfpb.TensorShapeProto_Dim { return &tfpb.TensorShapeProto_Dim{Size: n} }
	req := &servingpb.PredictRequest{
		ModelSpec: &servingpb.ModelSpec{Name: "nann", SignatureName: "serving_default"},
		Inputs: map[string]*tfpb.TensorProto{
			"comm_seq": {Dtype: tfpb.DataType_DT_HALF, HalfVal: half,
				TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{dim(1), dim(int64(len(half)))}}},
			"level_topn": {Dtype: tfpb.DataType_DT_INT32, IntVal: topn[:],
				TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{dim(6)}}},
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := client.Predict(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Outputs["top_k"].Int64Val
}

func restPredict(t *testing.T, addr string, items []int64, topn [6]int32) []int64 {
	t.Helper()
	rows := servingtest.RESTTopK(t, addr, "nann", []map[string]any{{"item_ids": items, "level_topn": topn}})
	if len(rows) != 1 {
		t.Fatalf("REST answer: %d rows, want 1", len(rows))
	}
	return rows[0]
}
