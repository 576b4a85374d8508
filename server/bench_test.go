package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"

	"nann/serving"
	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
)

// BenchmarkPredict measures the serving overhead for one user (comm_seq
// [1, 3200]) against calling the servable directly, on loopback:
//
//	go test -run XXX -bench Predict -benchtime 2s ./server
func BenchmarkPredict(b *testing.B) {
	m := newFakeModel(b, 1)
	s, err := New(testConfig(m.base), m.load, quietLogger())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); s.Wait() }()
	if err := s.Start(ctx); err != nil {
		b.Fatal(err)
	}
	ts := &testServer{Server: s}
	vals := randomSeq(rand.New(rand.NewPCG(1, 1)), 1)
	topn := []int32{100, 200, 200, 200, 200, 200}
	b.Run("direct", func(b *testing.B) {
		f := &fakeServable{version: 1}
		r := &serving.Request{Batch: 1, CommSeq: vals, LevelTopN: [6]int32(topn)}
		for b.Loop() {
			if _, err := f.Predict(context.Background(), r); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, form := range []string{"half_content", "half_val", "float_content"} {
		b.Run("grpc_"+form, func(b *testing.B) {
			conn := dial(b, ts)
			defer conn.Close()
			c := servingpb.NewPredictionServiceClient(conn)
			req := &servingpb.PredictRequest{ModelSpec: spec(0), Inputs: map[string]*tfpb.TensorProto{
				"comm_seq": commSeqTensor(vals, 1, form), "level_topn": int32Tensor(topn...)}}
			for b.Loop() {
				if _, err := c.Predict(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("rest_columnar", func(b *testing.B) {
		body, _ := json.Marshal(map[string]any{"inputs": map[string]any{"comm_seq": [][]float32{vals}, "level_topn": topn}})
		url := "http://" + s.RESTAddr() + "/v1/models/nann:predict"
		for b.Loop() {
			resp, err := http.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatal(resp.Status)
			}
		}
	})
}
