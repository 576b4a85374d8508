package python

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"nann/bundle"
	"nann/internal/cli"
	"nann/internal/npy"
	"nann/internal/numtest"
	"nann/internal/servingtest"
	"nann/item"
	"nann/server"
	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
	"nann/train"
)

// writeNPZ writes float32 arrays as an uncompressed .npz (np.savez).
func writeNPZ(path string, arrays map[string][]float32, shapes map[string][]int) error {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, v := range arrays {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store})
		if err != nil {
			return err
		}
		w.Write(npy.EncodeHeader("<f4", shapes[name]))
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// checkTorchONNX takes the model.onnx that the PyTorch trainer exported at
// the end of its run (nann_torch.export, the comm_seq contract) through
// nann: nann score on the run's item table gives torch's scores; nann
// import writes a bundle version that nann's server loads and serves, and
// a served Predict answers torch's best items with torch's scores.
func checkTorchONNX(t *testing.T, out string) {
	run := filepath.Join(out, "run")
	onnxPath := filepath.Join(run, "model.onnx")
	m, err := train.LoadModel(run)
	if err != nil {
		t.Fatal(err)
	}
	hi, hc, hshape, want := readTorchUsers(t, out)
	// comm_seq of the users: the lookup of the run's embedding tables (the
	// torch weights; checkTorchRun compared nann's model with torch's).
	u, l := hshape[0], hshape[1]
	sl, sw := m.Cfg.SeqLen, m.Cfg.SeqWidth()
	seq := make([]float32, u*sl*sw)
	for k := 0; k < u; k++ {
		if err := m.SequenceEmbedding(item.IDs(hi[k*l:(k+1)*l]), hc[k*l:(k+1)*l], seq[k*sl*sw:(k+1)*sl*sw]); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	users := filepath.Join(dir, "users.npz")
	if err := writeNPZ(users, map[string][]float32{"comm_seq": seq}, map[string][]int{"comm_seq": {u, sl, sw}}); err != nil {
		t.Fatal(err)
	}
	// nann score against torch.
	scores := filepath.Join(dir, "scores.npy")
	var stdout, stderr bytes.Buffer
	if code := cli.Main([]string{"--log-level", "warn", "score", "--onnx", onnxPath, "--item-embs", filepath.Join(run, "item_embs.npy"),
		"--users", users, "--out", scores}, &stdout, &stderr); code != 0 {
		t.Fatalf("nann score on the torch-exported model: exit %d: %s", code, stderr.String())
	}
	got, gshape, err := npy.Read[float32](scores)
	if err != nil {
		t.Fatal(err)
	}
	n := len(want) / u
	if len(gshape) != 2 || gshape[0] != u || gshape[1] != n {
		t.Fatalf("nann score wrote %v, want [%d %d]", gshape, u, n)
	}
	worst := 0.0
	for k := 0; k < u; k++ {
		ref := make([]float64, n)
		for i, x := range want[k*n : (k+1)*n] {
			ref[i] = float64(x)
		}
		worst = math.Max(worst, numtest.RelErr(got[k*n:(k+1)*n], ref))
	}
	t.Logf("torch-exported model.onnx through nann score: %d users × %d items, worst relative error %.3g", u, n, worst)
	if worst > 1e-4 {
		t.Errorf("nann score of the torch-exported model.onnx differs from torch by %g relative (want ≤ 1e-4)", worst)
	}
	// nann import, then served.
	base := filepath.Join(dir, "models")
	if code := cli.Main([]string{"--log-level", "warn", "import", "--tables", "float32", "--onnx", onnxPath, "--item-embs", filepath.Join(run, "item_embs.npy"),
		"--item-ids", filepath.Join(run, "item_ids.npy"), "--base", base, "--name", "torch", "--m", "8"}, &stdout, &stderr); code != 0 {
		t.Fatalf("nann import of the torch-exported model: exit %d: %s", code, stderr.String())
	}
	cfg := server.DefaultConfig()
	cfg.BasePath, cfg.ModelName, cfg.GRPCAddr, cfg.RESTAddr, cfg.PollInterval = filepath.Join(base, "torch"), "torch", "127.0.0.1:0", "", 20*time.Millisecond
	srv := servingtest.Start(t, cfg, bundle.Load)
	ctx := context.Background()
	client := servingpb.NewPredictionServiceClient(servingtest.Dial(t, srv.GRPCAddr()))
	// Beams as wide as the corpus: every reachable item is scored, so the
	// answer is torch's ranking.
	k := min(n, 20)
	w := int32(n)
	content := make([]byte, 4*len(seq))
	for i, x := range seq {
		binary.LittleEndian.PutUint32(content[4*i:], math.Float32bits(x))
	}
	req := &servingpb.PredictRequest{ModelSpec: &servingpb.ModelSpec{Name: "torch"}, Inputs: map[string]*tfpb.TensorProto{
		"comm_seq":   {Dtype: tfpb.DataType_DT_FLOAT, TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: int64(u)}, {Size: int64(sl)}, {Size: int64(sw)}}}, TensorContent: content},
		"level_topn": {Dtype: tfpb.DataType_DT_INT32, TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: 6}}}, IntVal: []int32{w, w, w, w, w, int32(k)}},
	}}
	var resp *servingpb.PredictResponse
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err = client.Predict(ctx, req)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("served Predict on the imported torch model: %v", err)
	}
	ids, sc := resp.Outputs["top_k"].GetInt64Val(), resp.Outputs["scores"].GetFloatVal()
	if len(ids) != u*k || len(sc) != u*k {
		t.Fatalf("served answer: %d ids, %d scores, want %d", len(ids), len(sc), u*k)
	}
	for q := 0; q < u; q++ {
		ref := want[q*n : (q+1)*n]
		best := 0
		for i, x := range ref {
			if x > ref[best] {
				best = i
			}
		}
		for j := 0; j < k; j++ {
			id, s := ids[q*k+j], sc[q*k+j]
			r := float64(ref[id-1]) // item_ids.npy: row r holds dense id r+1
			if math.Abs(float64(s)-r) > 1e-4*math.Max(1, math.Abs(r)) {
				t.Fatalf("user %d rank %d: served id %d scores %g, torch %g", q, j, id, s, r)
			}
		}
		if top := ids[q*k]; top != int64(best+1) && ref[top-1] < ref[best]-1e-5 {
			t.Errorf("user %d: served best id %d (torch %g), torch's best %d (%g)", q, top, ref[top-1], best+1, ref[best])
		}
	}
	t.Logf("imported and served: %d users, top %d of %d items with torch's scores", u, k, n)
}
