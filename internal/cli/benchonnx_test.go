package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"nann/bench"
	"nann/bundle"
	"nann/internal/onnxtest"
	"nann/internal/servingtest"
	"nann/server"
)

// TestBenchImported: nann bench, in process, over gRPC and over REST, on a
// served imported bundle with --inputs npz:users.npz: every request is
// answered with K ids and the items scored.
func TestBenchImported(t *testing.T) {
	base, _, _ := importForTest(t, "din17")
	cfg := server.DefaultConfig()
	cfg.BasePath, cfg.GRPCAddr, cfg.RESTAddr, cfg.PollInterval = base, "127.0.0.1:0", "127.0.0.1:0", 0
	srv := servingtest.Start(t, cfg, bundle.Load)
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench",
		"--target", "inproc:" + base + ",grpc:" + srv.GRPCAddr() + ",rest:" + srv.RESTAddr(),
		"--duration", "300ms", "--warmup", "50ms", "--report-every", "0", "--input-count", "8",
		"--inputs", "npz:" + onnxtest.Path("din17.npz"), "--level-topn", "20,50,30,30,30,25", "--json",
		"--metrics", "http://" + srv.RESTAddr() + "/metrics",
	}, &stdout, &stderr, bundle.Load)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var doc struct {
		Runs []*bench.Report `json:"runs"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if len(doc.Runs) != 3 {
		t.Fatalf("%d runs, want 3", len(doc.Runs))
	}
	for i, r := range doc.Runs {
		if r.Kind != []string{"inproc", "grpc", "rest"}[i] || r.OK == 0 || r.ErrorCount() != 0 || r.MeanIDs != 25 {
			t.Errorf("run %d (%s): ok %d errors %v ids %.1f", i, r.Target, r.OK, r.Errors, r.MeanIDs)
		}
		if r.ItemsScored == nil || r.ItemsScored.Mean < 25 || r.ItemsScored.Mean > 200 {
			t.Errorf("run %d (%s): items scored %+v", i, r.Target, r.ItemsScored)
		}
	}
	// A mismatched users.npz is refused before any run, naming the input.
	stdout.Reset()
	stderr.Reset()
	code = run([]string{"bench", "--target", "inproc:" + base, "--duration", "100ms", "--warmup", "0s",
		"--inputs", "npz:" + onnxtest.Path("cross.npz")}, &stdout, &stderr, bundle.Load)
	if code == 0 || !strings.Contains(stderr.String(), `"hist"`) {
		t.Fatalf("cross users on the din17 model: exit %d\n%s", code, stderr.String())
	}
}
