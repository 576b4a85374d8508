package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nann/internal/servingtest"
	"nann/internal/syncbuf"
	"nann/serving"
	"nann/tfserving/servingpb"
)

// TestServeModelConfigFile runs `nann serve --model_config_file` with two
// models and checks that both are served, each with its own versions.
func TestServeModelConfigFile(t *testing.T) {
	if code := run([]string{"serve"}, &bytes.Buffer{}, &bytes.Buffer{}, func(context.Context, string) (serving.Servable, error) { return nil, nil }); code == 0 {
		t.Fatal("serve without a base path or config file succeeded")
	}
	dir := t.TempDir()
	bases := map[string][]string{"a": {"1", "2"}, "b": {"7"}}
	for name, vs := range bases {
		for _, v := range vs {
			if err := os.MkdirAll(filepath.Join(dir, name, v), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfgPath := filepath.Join(dir, "models.config")
	cfg := fmt.Sprintf(`model_config_list {
  config { name: "a" base_path: %q model_platform: "tensorflow" model_version_policy { all {} } version_labels { key: "stable" value: 1 } }
  config { name: "b" base_path: %q model_platform: "tensorflow" }
}`, filepath.Join(dir, "a"), filepath.Join(dir, "b"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(ctx context.Context, dir string) (serving.Servable, error) {
		return &stubServable{closed: make(chan struct{})}, nil
	}
	var stderr syncbuf.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- run([]string{"serve", "--host", "127.0.0.1", "--port", "0", "--rest_api_port", "0",
			"--model_config_file", cfgPath, "--model_config_file_poll_wait_seconds", "1",
			"--file_system_poll_wait_seconds", "0", "--warmup_requests", "0"}, &bytes.Buffer{}, &stderr, load)
	}()
	conn := servingtest.Dial(t, servingtest.GRPCAddrFromLog(t, stderr.String))
	ms := servingpb.NewModelServiceClient(conn)
	for name, want := range map[string]string{"a": "2 1", "b": "7"} {
		st, err := ms.GetModelStatus(context.Background(), &servingpb.GetModelStatusRequest{ModelSpec: &servingpb.ModelSpec{Name: name}})
		if err != nil {
			t.Fatalf("model %s: %v", name, err)
		}
		var got []string
		for _, v := range st.ModelVersionStatus {
			if v.State != servingpb.ModelVersionStatus_AVAILABLE {
				t.Fatalf("model %s: %v", name, v)
			}
			got = append(got, fmt.Sprint(v.Version))
		}
		if strings.Join(got, " ") != want {
			t.Fatalf("model %s versions %v, want %s", name, got, want)
		}
	}
	terminate(t, exit, &stderr)
}
