package bench

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"nann/internal/servingtest"
	"nann/server"
	"nann/serving"
)

// versionServable answers with its version in every id, so a test can see
// which version served a request; it scores LevelTopN[0]+version items.
type versionServable struct {
	version int64
	delay   time.Duration
	closed  atomic.Bool
}

func (v *versionServable) Signature() serving.Signature {
	return serving.Signature{CommSeqLen: CommSeqLen, SeqLen: SeqLen, K: 10, DefaultLevelTopN: DefaultLevelTopN}
}

func (v *versionServable) Predict(ctx context.Context, r *serving.Request) (*serving.Response, error) {
	if v.closed.Load() {
		return nil, fmt.Errorf("version %d: Predict after Close", v.version)
	}
	if v.delay > 0 {
		time.Sleep(v.delay)
	}
	k := int(r.LevelTopN[5])
	resp := &serving.Response{}
	for range r.Batch {
		ids, scores := make([]int64, k), make([]float32, k)
		for j := range ids {
			ids[j], scores[j] = v.version*1000+int64(j)+1, float32(k-j)
		}
		resp.TopK, resp.Scores = append(resp.TopK, ids), append(resp.Scores, scores)
		resp.ItemsScored = append(resp.ItemsScored, int(r.LevelTopN[0])+int(v.version))
	}
	return resp, nil
}

func (v *versionServable) Close() error { v.closed.Store(true); return nil }

// versionLoader loads <base>/<n>/ as version n and logs the loads.
type versionLoader struct {
	mu     sync.Mutex
	loaded []int64
	delay  time.Duration
}

func (l *versionLoader) load(ctx context.Context, dir string) (serving.Servable, error) {
	n, err := strconv.ParseInt(filepath.Base(dir), 10, 64)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "model.bin")); err != nil {
		return nil, fmt.Errorf("version %d: %w", n, err)
	}
	l.mu.Lock()
	l.loaded = append(l.loaded, n)
	l.mu.Unlock()
	return &versionServable{version: n, delay: l.delay}, nil
}

func (l *versionLoader) versions() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int64(nil), l.loaded...)
}

func newBase(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	if err := os.MkdirAll(filepath.Join(base, "1", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"1/model.bin", "1/sub/table.npy"} {
		if err := os.WriteFile(filepath.Join(base, f), []byte("weights of "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return base
}

func startServer(t *testing.T, base string, l *versionLoader) *server.Server {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.BasePath, cfg.GRPCAddr, cfg.RESTAddr = base, "127.0.0.1:0", "127.0.0.1:0"
	cfg.PollInterval, cfg.ShutdownTimeout = 30*time.Millisecond, 5*time.Second
	return servingtest.Start(t, cfg, l.load)
}

// The three targets against nann's own server and the same servable
// in process: every answer is understood, and the table compares them.
func TestTargetsAgainstServer(t *testing.T) {
	base := newBase(t)
	l := &versionLoader{}
	srv := startServer(t, base, l)
	mock, err := MockInputs(4, CommSeqLen, [6]int32{300, 200, 200, 200, 200, 10}, 4)
	if err != nil {
		t.Fatal(err)
	}
	inputs := append(mock, Input{ItemIDs: []int64{3, 1, 4}, LevelTopN: [6]int32{300, 200, 200, 200, 200, 10}})
	inproc, err := OpenBundle(context.Background(), base, l.load)
	if err != nil {
		t.Fatal(err)
	}
	grpcT, err := DialGRPC(ServerConfig{Addr: srv.GRPCAddr(), MetricsURL: "http://" + srv.RESTAddr() + "/metrics"})
	if err != nil {
		t.Fatal(err)
	}
	restT, err := DialREST(ServerConfig{Addr: "http://" + srv.RESTAddr()})
	if err != nil {
		t.Fatal(err)
	}
	var reps []*Report
	for _, tg := range []Target{inproc, grpcT, restT} {
		rep := countRun(t, tg, inputs, 50)
		if rep.OK != 50 || rep.MeanIDs != 10 {
			t.Errorf("%s: ok %d errors %v mean ids %.1f; want 50 ok, 10 ids", tg.Name(), rep.OK, rep.Errors, rep.MeanIDs)
		}
		// In process the servable's count is read directly; the server
		// sends no items_scored output, so over the wire the mean comes
		// from its metrics (as does its CPU time).
		wantFrom := map[string]string{"inproc": "response", "grpc": "server metrics", "rest": "server metrics"}[tg.Kind()]
		if is := rep.ItemsScored; is == nil || is.Mean != 301 || rep.ItemsScoredFrom != wantFrom {
			t.Errorf("%s: items scored %+v from %q, want mean 301 from %s", tg.Name(), is, rep.ItemsScoredFrom, wantFrom)
		}
		if u := rep.Usage; u == nil || (u.ServerCPUSec == nil) != (tg.Kind() == "inproc") || u.CPUPerRequestMs < 0 {
			t.Errorf("%s: usage %+v", tg.Name(), u)
		}
		reps = append(reps, rep)
		if err := tg.Close(); err != nil {
			t.Error(err)
		}
	}
	tab := MarkdownTable(reps)
	t.Logf("\n%s", tab)
	if strings.Count(tab, "| — |") != 0 || !strings.Contains(tab, "| 1.000 |") {
		t.Errorf("every run should have an in-process ratio:\n%s", tab)
	}
}

// Switching versions under load: the switcher publishes hard-linked
// clones, the server loads each, no request fails, and Cleanup removes
// the published versions.
func TestVersionSwitchAgainstServer(t *testing.T) {
	base := newBase(t)
	l := &versionLoader{}
	srv := startServer(t, base, l)
	sw, err := NewVersionSwitcher(base)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := DialGRPC(ServerConfig{Addr: srv.GRPCAddr()})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	cfg := quickConfig(2, 800*time.Millisecond)
	cfg.SwitchEvery, cfg.Switch, cfg.SwapWindow = 200*time.Millisecond, sw.Switch, 100*time.Millisecond
	rep, err := Run(context.Background(), cfg, tg, mockInputsDim(t, 2, CommSeqLen))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", rep)
	if len(rep.Swaps) != 3 {
		t.Errorf("swaps %+v, want 3", rep.Swaps)
	}
	for _, s := range rep.Swaps {
		if s.Error != "" {
			t.Errorf("switch %d: %s", s.N, s.Error)
		}
	}
	if rep.ErrorCount() != 0 || rep.OK == 0 || rep.SwapLatency == nil || rep.SwapLatency.Count == 0 {
		t.Errorf("errors %v ok %d swap latency %+v", rep.Errors, rep.OK, rep.SwapLatency)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !containsAll(l.versions(), 1, 2, 3, 4) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if v := l.versions(); !containsAll(v, 1, 2, 3, 4) {
		t.Errorf("server loaded versions %v, want 1–4", v)
	}
	b, err := os.ReadFile(filepath.Join(base, "4", "sub", "table.npy"))
	if err != nil || string(b) != "weights of 1/sub/table.npy" {
		t.Errorf("published version 4 holds %q, %v", b, err)
	}
	if err := sw.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if vs, _ := serving.ListVersions(base); len(vs) != 1 || vs[0] != 1 {
		t.Errorf("after cleanup the base holds versions %v, want [1]", vs)
	}
}

func containsAll(have []int64, want ...int64) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

func mockInputsDim(t *testing.T, n, dim int) []Input {
	t.Helper()
	in, err := MockInputs(n, dim, [6]int32{300, 200, 200, 200, 200, 10}, 5)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestWritePlot(t *testing.T) {
	cfg := quickConfig(2, 400*time.Millisecond)
	cfg.SwitchEvery, cfg.Switch = 150*time.Millisecond, func(context.Context, int) error { return nil }
	rep, err := Run(context.Background(), cfg, sleepTarget(time.Millisecond), mockInputs(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lat.png")
	if err := WritePlot(path, rep); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() < 500 || r.Dy() < 200 {
		t.Errorf("image %v", r)
	}
	if err := WritePlot(path, &Report{}); err == nil {
		t.Error("an empty report was plotted")
	}
}

// BenchmarkTargets measures the per-request cost of each transport with a
// servable that does no work (K = 200 ids, 3200-wide float16 comm_seq),
// one request at a time: the overhead gRPC and REST add to the model.
//
//	go test ./bench -run '^$' -bench Targets
func BenchmarkTargets(b *testing.B) {
	base := b.TempDir()
	if err := os.MkdirAll(filepath.Join(base, "1"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "1", "model.bin"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	l := &versionLoader{}
	cfg := server.DefaultConfig()
	cfg.BasePath, cfg.GRPCAddr, cfg.RESTAddr, cfg.PollInterval = base, "127.0.0.1:0", "127.0.0.1:0", 0
	srv := servingtest.Start(b, cfg, l.load)
	ctx := context.Background()
	inputs, err := MockInputs(1, CommSeqLen, DefaultLevelTopN, 1)
	if err != nil {
		b.Fatal(err)
	}
	open := map[string]func() (Target, error){
		"inproc": func() (Target, error) { return OpenBundle(ctx, base, l.load) },
		"grpc":   func() (Target, error) { return DialGRPC(ServerConfig{Addr: srv.GRPCAddr()}) },
		"rest":   func() (Target, error) { return DialREST(ServerConfig{Addr: "http://" + srv.RESTAddr()}) },
	}
	for _, name := range []string{"inproc", "grpc", "rest"} {
		b.Run(name, func(b *testing.B) {
			tg, err := open[name]()
			if err != nil {
				b.Fatal(err)
			}
			defer tg.Close()
			p, err := tg.Prepare(&inputs[0])
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if res, err := tg.Do(ctx, p); err != nil || res.IDs != 200 {
					b.Fatalf("%v, %d ids", err, res.IDs)
				}
			}
		})
	}
}
