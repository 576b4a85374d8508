package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"nann/internal/servingtest"
	"nann/internal/syncbuf"
	"nann/serving"
)

type stubServable struct{ closed chan struct{} }

func (s *stubServable) Signature() serving.Signature {
	return serving.Signature{CommSeqLen: 4, SeqLen: 3, K: 1, DefaultLevelTopN: [6]int32{1, 1, 1, 1, 1, 1}}
}

func (s *stubServable) Predict(ctx context.Context, r *serving.Request) (*serving.Response, error) {
	return nil, errors.New("stub")
}

func (s *stubServable) Close() error { close(s.closed); return nil }

// terminate sends SIGTERM to this process, as an operator stops
// `nann serve`, and expects the run reporting on exit to end with code 0
// within 10 s.
func terminate(t *testing.T, exit <-chan int, stderr *syncbuf.Buffer) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit code %d:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}
}

// TestServeCommand runs `nann serve` with a stub loader, checks that
// it becomes healthy, then sends SIGTERM and expects a clean exit.
func TestServeCommand(t *testing.T) {
	if code := run([]string{"serve", "--model_base_path", t.TempDir()}, &bytes.Buffer{}, &bytes.Buffer{}, nil); code == 0 {
		t.Fatal("serve without a loader succeeded")
	}
	base := t.TempDir()
	if err := os.Mkdir(filepath.Join(base, "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	stub := &stubServable{closed: make(chan struct{})}
	load := func(ctx context.Context, dir string) (serving.Servable, error) { return stub, nil }
	var stderr syncbuf.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- run([]string{"serve", "--host", "127.0.0.1", "--port", "0", "--rest_api_port", "0",
			"--model_base_path", base, "--file_system_poll_wait_seconds", "0",
			"--warmup_requests", "0"}, &bytes.Buffer{}, &stderr, load) // the stub answers no request
	}()
	conn := servingtest.Dial(t, servingtest.GRPCAddrFromLog(t, stderr.String))
	h, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health %v %v", h, err)
	}
	terminate(t, exit, &stderr)
	select {
	case <-stub.closed:
	default:
		t.Fatal("model not closed on exit")
	}
}
