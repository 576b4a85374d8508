package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/x448/float16"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"nann/serving"
	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
)

func dims(d ...int64) *tfpb.TensorShapeProto {
	s := &tfpb.TensorShapeProto{}
	for _, x := range d {
		s.Dim = append(s.Dim, &tfpb.TensorShapeProto_Dim{Size: x})
	}
	return s
}

func randomSeq(rng *rand.Rand, batch int) []float32 {
	v := make([]float32, batch*fakeSig.CommSeqLen)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// commSeqTensor encodes vals as comm_seq in one of four wire forms.
func commSeqTensor(vals []float32, batch int, form string) *tfpb.TensorProto {
	tp := &tfpb.TensorProto{TensorShape: dims(int64(batch), int64(fakeSig.CommSeqLen))}
	switch form {
	case "float_val":
		tp.Dtype, tp.FloatVal = tfpb.DataType_DT_FLOAT, vals
	case "float_content":
		tp.Dtype = tfpb.DataType_DT_FLOAT
		for _, v := range vals {
			tp.TensorContent = binary.LittleEndian.AppendUint32(tp.TensorContent, math.Float32bits(v))
		}
	case "half_val":
		tp.Dtype = tfpb.DataType_DT_HALF
		for _, v := range vals {
			tp.HalfVal = append(tp.HalfVal, int32(float16.Fromfloat32(v).Bits()))
		}
	case "half_content":
		tp.Dtype = tfpb.DataType_DT_HALF
		for _, v := range vals {
			tp.TensorContent = binary.LittleEndian.AppendUint16(tp.TensorContent, float16.Fromfloat32(v).Bits())
		}
	}
	return tp
}

func int32Tensor(vals ...int32) *tfpb.TensorProto {
	return &tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT32, TensorShape: dims(int64(len(vals))), IntVal: vals}
}

func int64Tensor(rows [][]int64) *tfpb.TensorProto {
	tp := &tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT64, TensorShape: dims(int64(len(rows)), int64(len(rows[0])))}
	for _, r := range rows {
		tp.Int64Val = append(tp.Int64Val, r...)
	}
	return tp
}

func spec(version int64) *servingpb.ModelSpec {
	s := &servingpb.ModelSpec{Name: "nann", SignatureName: "serving_default"}
	if version > 0 {
		s.VersionChoice = &servingpb.ModelSpec_Version{Version: wrapperspb.Int64(version)}
	}
	return s
}

// direct computes the answer of a fresh fake servable of the version.
func direct(t *testing.T, version int64, r *serving.Request) *serving.Response {
	t.Helper()
	f := &fakeServable{version: version}
	resp, err := f.Predict(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// rowsOf reshapes a [B, K] output into rows.
func rowsOf[T any](vals []T, tp *tfpb.TensorProto) [][]T {
	d := tp.GetTensorShape().GetDim()
	b, k := int(d[0].GetSize()), int(d[1].GetSize())
	out := make([][]T, b)
	for i := range out {
		out[i] = vals[i*k : (i+1)*k]
	}
	return out
}

func TestPredictGRPCMatchesServable(t *testing.T) {
	m := newFakeModel(t, 1)
	ts := startServer(t, testConfig(m.base), m.load)
	rng := rand.New(rand.NewPCG(1, 2))
	topn := [6]int32{50, 60, 70, 80, 90, 7}
	for _, form := range []string{"float_val", "float_content", "half_val", "half_content"} {
		t.Run(form, func(t *testing.T) {
			const batch = 3
			vals := randomSeq(rng, batch)
			want := &serving.Request{Batch: batch, CommSeq: append([]float32(nil), vals...), LevelTopN: topn}
			if strings.HasPrefix(form, "half") {
				for i, v := range want.CommSeq {
					want.CommSeq[i] = float16.Fromfloat32(v).Float32()
				}
			}
			resp, err := ts.predict.Predict(context.Background(), &servingpb.PredictRequest{
				ModelSpec: spec(0),
				Inputs: map[string]*tfpb.TensorProto{
					"comm_seq":   commSeqTensor(vals, batch, form),
					"level_topn": int32Tensor(topn[:]...),
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			exp := direct(t, 1, want)
			ids, scores := resp.Outputs["top_k"], resp.Outputs["scores"]
			if ids.GetDtype() != tfpb.DataType_DT_INT64 || scores.GetDtype() != tfpb.DataType_DT_FLOAT {
				t.Fatalf("output dtypes %v %v", ids.GetDtype(), scores.GetDtype())
			}
			if got := rowsOf(ids.Int64Val, ids); !reflect.DeepEqual(got, exp.TopK) {
				t.Fatalf("top_k %v, want %v", got, exp.TopK)
			}
			if got := rowsOf(scores.FloatVal, scores); !reflect.DeepEqual(got, exp.Scores) {
				t.Fatalf("scores %v, want %v", got, exp.Scores)
			}
			if v := resp.GetModelSpec().GetVersion().GetValue(); v != 1 || resp.GetModelSpec().GetName() != "nann" {
				t.Fatalf("model spec %v", resp.GetModelSpec())
			}
		})
	}
	t.Run("raw_ids_and_padding", func(t *testing.T) {
		items := [][]int64{{5, 6, 7, 0}, {9, 8, 0, 0}}
		cates := [][]int64{{1, 1, 2, 0}, {3, 3, 0, 0}}
		short := [6]int32{10, 10, 10, 10, 3, 4} // LevelTopN[4]==3: odd rows one short
		resp, err := ts.predict.Predict(context.Background(), &servingpb.PredictRequest{
			ModelSpec:    spec(0),
			Inputs:       map[string]*tfpb.TensorProto{"item_ids": int64Tensor(items), "cate_ids": int64Tensor(cates), "level_topn": int32Tensor(short[:]...)},
			OutputFilter: []string{"top_k"},
		})
		if err != nil {
			t.Fatal(err)
		}
		exp := direct(t, 1, &serving.Request{Batch: 2, ItemIDs: items, CateIDs: cates, LevelTopN: short})
		if _, ok := resp.Outputs["scores"]; ok {
			t.Fatal("output_filter ignored")
		}
		got := rowsOf(resp.Outputs["top_k"].Int64Val, resp.Outputs["top_k"])
		wantRow1 := append(append([]int64(nil), exp.TopK[1]...), 0)
		if !reflect.DeepEqual(got[0], exp.TopK[0]) || !reflect.DeepEqual(got[1], wantRow1) {
			t.Fatalf("top_k %v, want %v and padded %v", got, exp.TopK[0], wantRow1)
		}
	})
}

func postJSON(t *testing.T, url string, body any) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	if s, ok := body.(string); ok {
		buf.WriteString(s)
	} else if err := json.NewEncoder(&buf).Encode(body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/json", &buf)
	if err != nil {
		t.Fatal(err)
	}
	return decodeResp(t, resp)
}

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return decodeResp(t, resp)
}

func decodeResp(t *testing.T, resp *http.Response) (int, map[string]any) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("HTTP %d body %q: %v", resp.StatusCode, b, err)
	}
	return resp.StatusCode, out
}

// jsonRows converts a decoded JSON [[...]] to rows of T.
func jsonRows[T int64 | float32](v any) [][]T {
	var out [][]T
	for _, r := range v.([]any) {
		var row []T
		for _, x := range r.([]any) {
			row = append(row, T(x.(float64)))
		}
		out = append(out, row)
	}
	return out
}

func seqRows(vals []float32, batch int) [][]float32 {
	rows := make([][]float32, batch)
	for i := range rows {
		rows[i] = vals[i*fakeSig.CommSeqLen : (i+1)*fakeSig.CommSeqLen]
	}
	return rows
}

func TestPredictRESTMatchesServable(t *testing.T) {
	m := newFakeModel(t, 1, 2)
	cfg := testConfig(m.base)
	cfg.ServeVersions = 2
	ts := startServer(t, cfg, m.load)
	rng := rand.New(rand.NewPCG(3, 4))
	const batch = 2
	vals := randomSeq(rng, batch)
	topn := []int32{40, 50, 60, 70, 80, 6}
	want := &serving.Request{Batch: batch, CommSeq: vals, LevelTopN: [6]int32(topn)}

	t.Run("columnar", func(t *testing.T) {
		code, out := postJSON(t, ts.rest+"/v1/models/nann:predict", map[string]any{
			"inputs": map[string]any{"comm_seq": seqRows(vals, batch), "level_topn": topn}})
		if code != 200 {
			t.Fatalf("HTTP %d %v", code, out)
		}
		exp := direct(t, 2, want)
		o := out["outputs"].(map[string]any)
		if got := jsonRows[int64](o["top_k"]); !reflect.DeepEqual(got, exp.TopK) {
			t.Fatalf("top_k %v, want %v", got, exp.TopK)
		}
		if got := jsonRows[float32](o["scores"]); !reflect.DeepEqual(got, exp.Scores) {
			t.Fatalf("scores %v, want %v", got, exp.Scores)
		}
	})
	t.Run("rows_named_version", func(t *testing.T) {
		inst := []map[string]any{}
		for _, r := range seqRows(vals, batch) {
			inst = append(inst, map[string]any{"comm_seq": r, "level_topn": topn})
		}
		code, out := postJSON(t, ts.rest+"/v1/models/nann/versions/1:predict", map[string]any{"signature_name": "predict", "instances": inst})
		if code != 200 {
			t.Fatalf("HTTP %d %v", code, out)
		}
		exp := direct(t, 1, want)
		for i, p := range out["predictions"].([]any) {
			row := p.(map[string]any)
			if got := jsonRows[int64]([]any{row["top_k"]}); !reflect.DeepEqual(got[0], exp.TopK[i]) {
				t.Fatalf("row %d top_k %v, want %v", i, got[0], exp.TopK[i])
			}
			if got := jsonRows[float32]([]any{row["scores"]}); !reflect.DeepEqual(got[0], exp.Scores[i]) {
				t.Fatalf("row %d scores %v, want %v", i, got[0], exp.Scores[i])
			}
		}
	})
	t.Run("bare_rows_default_topn", func(t *testing.T) {
		code, out := postJSON(t, ts.rest+"/v1/models/nann:predict", map[string]any{"instances": seqRows(vals, batch)})
		if code != 200 {
			t.Fatalf("HTTP %d %v", code, out)
		}
		exp := direct(t, 2, &serving.Request{Batch: batch, CommSeq: vals, LevelTopN: fakeSig.DefaultLevelTopN})
		p0 := out["predictions"].([]any)[0].(map[string]any)
		if got := jsonRows[int64]([]any{p0["top_k"]}); !reflect.DeepEqual(got[0], exp.TopK[0]) {
			t.Fatalf("top_k %v, want %v", got[0], exp.TopK[0])
		}
	})
}

func TestMetadataStatusHealthMetrics(t *testing.T) {
	m := newFakeModel(t, 3)
	ts := startServer(t, testConfig(m.base), m.load)
	ctx := context.Background()
	sigs := signatureDefs(t, ts)
	def := sigs.SignatureDef["serving_default"]
	if def.GetInputs()["comm_seq"].GetDtype() != tfpb.DataType_DT_HALF || def.GetInputs()["comm_seq"].GetTensorShape().GetDim()[1].GetSize() != 3200 ||
		def.GetOutputs()["top_k"].GetDtype() != tfpb.DataType_DT_INT64 || sigs.SignatureDef["predict"] == nil {
		t.Fatalf("signature def %v", def)
	}
	st, err := ts.models.GetModelStatus(ctx, &servingpb.GetModelStatusRequest{ModelSpec: spec(0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.ModelVersionStatus) != 1 || st.ModelVersionStatus[0].Version != 3 || st.ModelVersionStatus[0].State != servingpb.ModelVersionStatus_AVAILABLE {
		t.Fatalf("status %v", st)
	}
	code, js := getJSON(t, ts.rest+"/v1/models/nann")
	if code != 200 || fmt.Sprint(js["model_version_status"]) != "[map[state:AVAILABLE status:map[error_code:OK error_message:] version:3]]" {
		t.Fatalf("REST status %d %v", code, js)
	}
	code, js = getJSON(t, ts.rest+"/v1/models/nann/versions/3/metadata")
	if code != 200 || !strings.Contains(fmt.Sprint(js["metadata"]), "comm_seq") {
		t.Fatalf("REST metadata %d %v", code, js)
	}
	h, err := healthpb.NewHealthClient(ts.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "tensorflow.serving.PredictionService"})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health %v %v", h, err)
	}
	if _, err := ts.predict.Predict(ctx, &servingpb.PredictRequest{ModelSpec: spec(0), Inputs: map[string]*tfpb.TensorProto{
		"comm_seq": commSeqTensor(make([]float32, 3200), 1, "float_val")}}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(ts.rest + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`nann_serve_requests_total{code="OK",method="Predict",protocol="grpc"} 1`,
		`nann_serve_requests_total{code="OK",method="GetModelStatus",protocol="rest"} 1`,
		`nann_serve_loaded_versions 1`,
		`nann_serve_items_scored_count 1`,
		`nann_serve_request_duration_seconds_bucket`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// waitFor polls cond until it holds or the time runs out.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
