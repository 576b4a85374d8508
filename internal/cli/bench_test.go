package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"nann/bench"
	"nann/dataset"
	"nann/internal/servingtest"
	"nann/server"
	"nann/serving"
)

// echoServable answers K ids and scores LevelTopN[0] items, after 200 µs.
type echoServable struct{}

func (echoServable) Signature() serving.Signature {
	return serving.Signature{CommSeqLen: 3200, SeqLen: 50, K: 10, DefaultLevelTopN: bench.DefaultLevelTopN}
}

func (echoServable) Predict(ctx context.Context, r *serving.Request) (*serving.Response, error) {
	time.Sleep(200 * time.Microsecond)
	k := int(r.LevelTopN[5])
	ids, scores := make([]int64, k), make([]float32, k)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	return &serving.Response{TopK: [][]int64{ids}, Scores: [][]float32{scores}, ItemsScored: []int{int(r.LevelTopN[0])}}, nil
}

func (echoServable) Close() error { return nil }

// TestBenchCommandMatrix runs the in-process × gRPC × REST matrix at two
// concurrencies in one command and checks the JSON, table and plots.
func TestBenchCommandMatrix(t *testing.T) {
	base := t.TempDir()
	if err := os.Mkdir(filepath.Join(base, "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	load := func(ctx context.Context, dir string) (serving.Servable, error) { return echoServable{}, nil }
	cfg := server.DefaultConfig()
	cfg.BasePath, cfg.GRPCAddr, cfg.RESTAddr, cfg.PollInterval = base, "127.0.0.1:0", "127.0.0.1:0", 0
	srv := servingtest.Start(t, cfg, load)

	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench",
		"--target", "inproc:" + base + ",grpc:" + srv.GRPCAddr() + ",rest:" + srv.RESTAddr(),
		"--concurrency", "1,2", "--duration", "300ms", "--warmup", "50ms", "--report-every", "100ms",
		"--input-count", "8", "--k", "7", "--json", "--metrics", "http://" + srv.RESTAddr() + "/metrics",
		"--table", filepath.Join(out, "table.md"), "--plot", filepath.Join(out, "lat.png"),
	}, &stdout, &stderr, load)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var doc struct {
		Runs  []*bench.Report `json:"runs"`
		Table string          `json:"table_markdown"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if len(doc.Runs) != 6 {
		t.Fatalf("%d runs, want 6", len(doc.Runs))
	}
	for i, r := range doc.Runs {
		if wantKind := []string{"inproc", "grpc", "rest"}[i/2]; r.Kind != wantKind || r.Concurrency != 1+i%2 {
			t.Errorf("run %d is %s c=%d", i, r.Kind, r.Concurrency)
		}
		if r.OK == 0 || r.ErrorCount() != 0 || r.MeanIDs != 7 {
			t.Errorf("run %d (%s): ok %d errors %v ids %.1f", i, r.Target, r.OK, r.Errors, r.MeanIDs)
		}
		// Items scored: from the servable in process, from the server's
		// metrics over the wire.
		if r.ItemsScored == nil || r.ItemsScored.Mean != 100 || r.Usage == nil {
			t.Errorf("run %d (%s): items scored %+v, usage %+v", i, r.Target, r.ItemsScored, r.Usage)
		}
		png := filepath.Join(out, "lat-"+string(rune('1'+i))+"-"+r.Kind+"-c"+string(rune('0'+r.Concurrency))+".png")
		if st, err := os.Stat(png); err != nil || st.Size() < 1000 {
			t.Errorf("plot %s: %v", png, err)
		}
	}
	table, err := os.ReadFile(filepath.Join(out, "table.md"))
	if err != nil || string(table) != doc.Table || strings.Count(doc.Table, "\n") != 8 || strings.Contains(doc.Table, "| — |") {
		t.Errorf("table (%v):\n%s", err, table)
	}
	t.Logf("\n%s", doc.Table)
	if !strings.Contains(stderr.String(), "bench progress") {
		t.Errorf("no progress lines on stderr:\n%s", stderr.String())
	}
}

func TestBenchCommandRejectsBadFlags(t *testing.T) {
	var stderr bytes.Buffer
	code := Main([]string{"bench", "--target", "ftp:x,grpc:", "--level-topn", "1,2,3", "--concurrency", "0", "--switch-every", "1s"}, io.Discard, &stderr)
	if code == 0 {
		t.Fatal("bad flags accepted")
	}
	for _, want := range []string{`unknown kind "ftp"`, `target "grpc:"`, "--level-topn: 3 values", "concurrency 0", "--switch-base"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("error output lacks %q:\n%s", want, stderr.String())
		}
	}
}

// Real test users of a prepared dataset, sent in process as raw ids.
func TestBenchCommandDatasetInputs(t *testing.T) {
	src := "/work/shared/data/userbehavior_histories_4k.csv"
	if _, err := os.Stat(src); err != nil {
		t.Skipf("shared data: %v", err)
	}
	ds := filepath.Join(t.TempDir(), "ds")
	opt := dataset.DefaultOptions()
	opt.NumTest, opt.NumValid = 8, 4
	if _, err := dataset.Prepare(context.Background(), src, ds, opt); err != nil {
		t.Fatal(err)
	}
	var rows atomic.Int64
	load := func(ctx context.Context, dir string) (serving.Servable, error) {
		return countingServable{rows: &rows}, nil
	}
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "--target", "inproc:" + t.TempDir(), "--inputs", "dataset:" + ds,
		"--duration", "200ms", "--warmup", "0s", "--json"}
	if code := run(args, &stdout, &stderr, load); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var doc struct{ Runs []*bench.Report }
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || len(doc.Runs) != 1 {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if r := doc.Runs[0]; r.OK == 0 || r.ErrorCount() != 0 || rows.Load() < r.OK {
		t.Errorf("ok %d errors %v, %d id rows seen", r.OK, r.Errors, rows.Load())
	}
	stderr.Reset()
	if code := run(append(args, "--embed-with", t.TempDir()), io.Discard, &stderr, load); code == 0 || !strings.Contains(stderr.String(), "--embed-with") {
		t.Errorf("--embed-with an empty directory: exit %d\n%s", code, stderr.String())
	}
}

// countingServable accepts raw-id requests only and counts them.
type countingServable struct{ rows *atomic.Int64 }

func (countingServable) Signature() serving.Signature { return echoServable{}.Signature() }

func (c countingServable) Predict(ctx context.Context, r *serving.Request) (*serving.Response, error) {
	if len(r.ItemIDs) != 1 || len(r.ItemIDs[0]) == 0 || len(r.CateIDs) != 1 || r.CommSeq != nil {
		return nil, errors.New("want one row of item and category ids")
	}
	c.rows.Add(1)
	return &serving.Response{TopK: [][]int64{{1}}, Scores: [][]float32{{1}}}, nil
}

func (countingServable) Close() error { return nil }
