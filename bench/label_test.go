package bench

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nann/internal/servingtest"
	"nann/server"
)

// TestVersionLabelTargets: with ServerConfig.VersionLabel the gRPC and
// REST targets ask for the labelled version (here the older one, not the
// newest), and an unknown label's requests are counted as errors.
func TestVersionLabelTargets(t *testing.T) {
	base := newBase(t)
	if err := os.MkdirAll(filepath.Join(base, "2"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "2", "model.bin"), []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(t.TempDir(), "models.config")
	if err := os.WriteFile(cfgFile, fmt.Appendf(nil, `model_config_list { config { name: "m" base_path: %q
	  model_version_policy { all {} } version_labels { key: "old" value: 1 } } }`, base), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.ModelConfigFile, cfg.GRPCAddr, cfg.RESTAddr = cfgFile, "127.0.0.1:0", "127.0.0.1:0"
	cfg.PollInterval, cfg.ShutdownTimeout, cfg.WarmupRequests = 0, 5*time.Second, 0
	l := &versionLoader{}
	srv := servingtest.Start(t, cfg, l.load)
	mock, err := MockInputs(2, CommSeqLen, [6]int32{10, 10, 10, 10, 10, 5}, 1)
	if err != nil {
		t.Fatal(err)
	}
	rest := "http://" + srv.RESTAddr()
	for _, label := range []string{"old", "nope"} {
		g, err := DialGRPC(ServerConfig{Addr: srv.GRPCAddr(), Model: "m", VersionLabel: label})
		if err != nil {
			t.Fatal(err)
		}
		r, err := DialREST(ServerConfig{Addr: rest, Model: "m", VersionLabel: label})
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range []Target{g, r} {
			rep := countRun(t, tg, mock, 10)
			errs := int64(0)
			for _, n := range rep.Errors {
				errs += n
			}
			if label == "old" && (rep.OK != 10 || errs != 0) || label == "nope" && (rep.OK != 0 || errs != 10) {
				t.Errorf("%s label %q: ok %d errors %v", tg.Name(), label, rep.OK, rep.Errors)
			}
			tg.Close()
		}
	}
	resp, err := http.Get(rest + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `nann_serve_model_predictions_total{model="m",version="1"} 20`) || strings.Contains(string(b), `version="2"} `) {
		t.Fatalf("labelled requests did not all reach version 1:\n%s", grepLines(string(b), "nann_serve_model_predictions_total"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
