package bundle

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"nann/internal/servingtest"
	"nann/server"
	"nann/serving"
	"nann/tfserving"
	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
)

// TestServedFiltersEqualInProcess: a bundle served over gRPC and REST with
// filter inputs answers exactly what Predict answers in process for the
// same filter, and the metadata lists the filter inputs.
func TestServedFiltersEqualInProcess(t *testing.T) {
	base := t.TempDir()
	b := openTestBundle(t, filepath.Join(base, "1"))
	cfg := server.DefaultConfig()
	cfg.BasePath, cfg.GRPCAddr, cfg.RESTAddr = base, "127.0.0.1:0", "127.0.0.1:0"
	cfg.WarmupRequests, cfg.PollInterval, cfg.ShutdownTimeout = 0, 50*time.Millisecond, 5*time.Second
	srv := servingtest.Start(t, cfg, Load)
	ctx := context.Background()
	client := servingpb.NewPredictionServiceClient(servingtest.Dial(t, srv.GRPCAddr()))

	hist := [][]int64{{1000, 1007, 1014, 1021}, {1070, 1077, 0, 0}}
	excl := [][]int64{{1028, 1035, 1042}, {1000, 0, 0}}
	incCates := [][]int64{{51, 52, 53, 54, 55}, {0, 0, 0, 0, 0}} // row 1: no restriction
	exclCates := [][]int64{{53}, {56}}
	history := []bool{true, true}
	topn := [6]int32{10, 30, 30, 30, 30, 20}
	want, err := b.Predict(ctx, &serving.Request{Batch: 2, ItemIDs: [][]int64{slices.Clone(hist[0]), slices.Clone(hist[1])}, LevelTopN: topn,
		Filter: &serving.Filter{ExcludeItemIDs: excl, ExcludeHistory: history, IncludeCateIDs: incCates, ExcludeCateIDs: exclCates}})
	if err != nil {
		t.Fatal(err)
	}
	for row, ids := range want.TopK {
		if len(ids) != int(topn[5]) {
			t.Fatalf("in-process row %d: %d items, want a full answer of %d", row, len(ids), topn[5])
		}
		for _, id := range ids {
			c := testItemCate(int((id - 1000) / 7))
			if slices.Contains(excl[row], id) || slices.Contains(hist[row], id) || c == exclCates[row][0] || (row == 0 && !slices.Contains(incCates[0], c)) {
				t.Fatalf("in-process row %d answered excluded item %d (category %d)", row, id, c)
			}
		}
	}

	// gRPC: int64 lists, DT_BOOL flags.
	rows := func(r [][]int64) *tfpb.TensorProto {
		var v []int64
		for _, x := range r {
			v = append(v, x...)
		}
		return &tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT64, TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: int64(len(r))}, {Size: int64(len(r[0]))}}}, Int64Val: v}
	}
	resp, err := client.Predict(ctx, &servingpb.PredictRequest{
		ModelSpec: &servingpb.ModelSpec{Name: "nann"},
		Inputs: map[string]*tfpb.TensorProto{
			tfserving.ItemIDs:        rows(hist),
			tfserving.ExcludeItemIDs: rows(excl),
			tfserving.IncludeCateIDs: rows(incCates),
			tfserving.ExcludeCateIDs: rows(exclCates),
			tfserving.ExcludeHistory: {Dtype: tfpb.DataType_DT_BOOL, TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: 2}}}, BoolVal: history},
			tfserving.LevelTopN:      {Dtype: tfpb.DataType_DT_INT32, TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: 6}}}, IntVal: topn[:]},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.Outputs[tfserving.TopK].GetInt64Val()
	for row := range 2 {
		if g := got[row*int(topn[5]) : (row+1)*int(topn[5])]; !slices.Equal(g, want.TopK[row]) {
			t.Fatalf("gRPC row %d: %v, in process %v", row, g, want.TopK[row])
		}
	}

	// REST, row format.
	inst := make([]map[string]any, 2)
	for i := range inst {
		inst[i] = map[string]any{tfserving.ItemIDs: hist[i], tfserving.ExcludeItemIDs: excl[i], tfserving.IncludeCateIDs: incCates[i],
			tfserving.ExcludeCateIDs: exclCates[i], tfserving.ExcludeHistory: history[i], tfserving.LevelTopN: topn}
	}
	rest := servingtest.RESTTopK(t, srv.RESTAddr(), "nann", inst)
	if len(rest) != 2 {
		t.Fatalf("REST: %d rows, want 2", len(rest))
	}
	for row := range 2 {
		if !slices.Equal(rest[row], want.TopK[row]) {
			t.Fatalf("REST row %d: %v, in process %v", row, rest[row], want.TopK[row])
		}
	}

	// The metadata lists the filter inputs.
	md, err := client.GetModelMetadata(ctx, &servingpb.GetModelMetadataRequest{ModelSpec: &servingpb.ModelSpec{Name: "nann"}, MetadataField: []string{"signature_def"}})
	if err != nil {
		t.Fatal(err)
	}
	var sigs servingpb.SignatureDefMap
	if err := md.Metadata["signature_def"].UnmarshalTo(&sigs); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{tfserving.ExcludeItemIDs, tfserving.ExcludeHistory, tfserving.IncludeCateIDs, tfserving.ExcludeCateIDs} {
		if sigs.SignatureDef["serving_default"].GetInputs()[name] == nil {
			t.Fatalf("metadata does not list input %q", name)
		}
	}
}
