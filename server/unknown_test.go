package server

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"nann/serving"
	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
)

// catalogServable knows the item ids 1..100.
type catalogServable struct{ *fakeServable }

func (catalogServable) KnownItemID(raw int64) bool { return raw >= 1 && raw <= 100 }

func catalogLoader(m *fakeModel) serving.Loader {
	return func(ctx context.Context, dir string) (serving.Servable, error) {
		s, err := m.load(ctx, dir)
		if err != nil {
			return nil, err
		}
		return catalogServable{s.(*fakeServable)}, nil
	}
}

// TestUnknownItemIDs: ids the corpus does not hold are served as padding
// and counted (default), or refused naming the first one and its position
// (--unknown_item_ids=error), over gRPC and REST.
func TestUnknownItemIDs(t *testing.T) {
	topn := [6]int32{10, 10, 10, 10, 10, 4}
	req := func() *servingpb.PredictRequest {
		return &servingpb.PredictRequest{ModelSpec: spec(0), Inputs: map[string]*tfpb.TensorProto{
			"item_ids":   int64Tensor([][]int64{{1, 2, 3}, {4, 5000, 0}}),
			"cate_ids":   int64Tensor([][]int64{{7, 7, 7}, {8, 9, 0}}),
			"level_topn": int32Tensor(topn[:]...),
		}}
	}
	t.Run("padding", func(t *testing.T) {
		m := newFakeModel(t, 1)
		ts := startServer(t, testConfig(m.base), catalogLoader(m))
		resp, err := ts.predict.Predict(context.Background(), req())
		if err != nil {
			t.Fatal(err)
		}
		want := direct(t, 1, &serving.Request{Batch: 2, ItemIDs: [][]int64{{1, 2, 3}, {4, 0, 0}}, CateIDs: [][]int64{{7, 7, 7}, {8, 0, 0}}, LevelTopN: topn})
		if got := rowsOf(resp.Outputs["top_k"].Int64Val, resp.Outputs["top_k"]); !reflect.DeepEqual(got, want.TopK) {
			t.Fatalf("top_k %v, want %v (the unknown id served as padding)", got, want.TopK)
		}
		code, body := postJSON(t, ts.rest+"/v1/models/nann:predict", `{"inputs": {"item_ids": [[101, 102, 1]]}}`)
		if code != 200 {
			t.Fatalf("REST: %d %v", code, body)
		}
		if got := scrape(t, ts.rest+"/metrics", "nann_serve_unknown_item_ids_total"); got != "3" {
			t.Fatalf("nann_serve_unknown_item_ids_total = %q, want 3", got)
		}
	})
	t.Run("error", func(t *testing.T) {
		m := newFakeModel(t, 1)
		cfg := testConfig(m.base)
		cfg.UnknownItemIDs = UnknownIsError
		ts := startServer(t, cfg, catalogLoader(m))
		_, err := ts.predict.Predict(context.Background(), req())
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "unknown item id 5000 at [1, 1]") {
			t.Fatalf("gRPC: %v, want INVALID_ARGUMENT naming id 5000 at [1, 1]", err)
		}
		code, body := postJSON(t, ts.rest+"/v1/models/nann:predict", `{"inputs": {"item_ids": [[1, 0, 102]]}}`)
		if code != 400 || !strings.Contains(body["error"].(string), "unknown item id 102 at [0, 2]") {
			t.Fatalf("REST: %d %v", code, body)
		}
		if _, err := ts.predict.Predict(context.Background(), &servingpb.PredictRequest{ModelSpec: spec(0), Inputs: map[string]*tfpb.TensorProto{"item_ids": int64Tensor([][]int64{{1, 0, 100}})}}); err != nil {
			t.Fatalf("known ids and padding refused: %v", err)
		}
	})
}

// scrape returns the value of an unlabelled series on a metrics page.
func scrape(t *testing.T, url, series string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}
