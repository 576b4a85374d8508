package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"nann/serving"
	"nann/tfserving/servingpb"
)

// fakeServable answers deterministically from its inputs and version, so a
// test can compute the expected answer by calling it directly.
type fakeServable struct {
	version int64
	delay   time.Duration
	closed  atomic.Bool
	calls   atomic.Int64
	// lateCalls counts Predict calls after Close (must stay 0).
	lateCalls *atomic.Int64
}

var fakeSig = serving.Signature{CommSeqLen: 3200, SeqLen: 50, K: 5, DefaultLevelTopN: [6]int32{100, 200, 200, 200, 200, 5}}

func (f *fakeServable) Signature() serving.Signature { return fakeSig }

func (f *fakeServable) Predict(ctx context.Context, r *serving.Request) (*serving.Response, error) {
	f.calls.Add(1)
	if f.closed.Load() {
		f.lateCalls.Add(1)
		return nil, errors.New("fake: Predict after Close")
	}
	if r.LevelTopN[0] == 777 {
		panic("fake: asked to panic")
	}
	if r.LevelTopN[0] == 778 {
		return nil, fmt.Errorf("fake: item id out of range: %w", serving.ErrInvalidInput)
	}
	if f.delay > 0 {
		t := time.NewTimer(f.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	k := int(r.LevelTopN[5])
	resp := &serving.Response{TopK: make([][]int64, r.Batch), Scores: make([][]float32, r.Batch), ItemsScored: make([]int, r.Batch)}
	for b := range r.Batch {
		seed := f.rowSeed(r, b)
		n := k
		if r.LevelTopN[4] == 3 { // short rows, to exercise padding
			n = k - b%2
		}
		resp.TopK[b] = make([]int64, n)
		resp.Scores[b] = make([]float32, n)
		for j, c := 0, uint64(0); j < n; c++ {
			id := int64((seed+c*7919)%1_000_000) + 1
			if r.Blocked.Has(id) { // excluded inside "retrieval": the row stays full
				continue
			}
			resp.TopK[b][j] = id
			resp.Scores[b][j] = float32(k-j) + float32(seed%1000)/1000 + float32(f.version)
			j++
		}
		resp.ItemsScored[b] = int(r.LevelTopN[0]) + 3*int(r.LevelTopN[2])
	}
	return resp, nil
}

// ExcludesBlockedItems: the fake skips blocked ids and keeps rows full.
func (f *fakeServable) ExcludesBlockedItems() bool { return true }

func (f *fakeServable) rowSeed(r *serving.Request, b int) uint64 {
	h := uint64(1469598103934665603)
	mix := func(x uint64) { h = (h ^ x) * 1099511628211 }
	if r.CommSeq != nil {
		for _, v := range r.CommSeq[b*fakeSig.CommSeqLen : (b+1)*fakeSig.CommSeqLen] {
			mix(uint64(math.Float32bits(v)))
		}
	}
	if r.ItemIDs != nil {
		for _, id := range r.ItemIDs[b] {
			mix(uint64(id))
		}
		mix(uint64(len(r.CateIDs)))
		if r.CateIDs != nil {
			for _, id := range r.CateIDs[b] {
				mix(uint64(id) << 1)
			}
		}
	}
	for _, n := range r.LevelTopN {
		mix(uint64(n))
	}
	return h
}

func (f *fakeServable) Close() error {
	if f.closed.Swap(true) {
		return errors.New("fake: closed twice")
	}
	return nil
}

// fakeModel is a base path of fake versions: each version directory holds
// a file "model" saying "ok", "broken" or "panic".
type fakeModel struct {
	base      string
	delay     time.Duration
	loadDelay time.Duration // how long each load takes
	mu        sync.Mutex
	loaded    map[int64]*fakeServable
	lateCalls atomic.Int64
}

func newFakeModel(t testing.TB, versions ...int64) *fakeModel {
	t.Helper()
	m := &fakeModel{base: t.TempDir(), loaded: map[int64]*fakeServable{}}
	for _, v := range versions {
		m.write(t, v, "ok")
	}
	return m
}

func (m *fakeModel) write(t testing.TB, version int64, content string) {
	t.Helper()
	dir := filepath.Join(m.base, strconv.FormatInt(version, 10))
	tmp := dir + ".tmp"
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "model"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
}

func (m *fakeModel) load(ctx context.Context, dir string) (serving.Servable, error) {
	b, err := os.ReadFile(filepath.Join(dir, "model"))
	if err != nil {
		return nil, err
	}
	switch strings.TrimSpace(string(b)) {
	case "broken":
		return nil, errors.New("fake: corrupt model file")
	case "panic":
		panic("fake: loader panic")
	}
	time.Sleep(m.loadDelay)
	v, _ := strconv.ParseInt(filepath.Base(dir), 10, 64)
	s := &fakeServable{version: v, delay: m.delay, lateCalls: &m.lateCalls}
	m.mu.Lock()
	m.loaded[v] = s
	m.mu.Unlock()
	return s, nil
}

func (m *fakeModel) servable(v int64) *fakeServable {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loaded[v]
}

// testServer is a running server on loopback with a gRPC client.
type testServer struct {
	*Server
	cancel  context.CancelFunc
	conn    *grpc.ClientConn
	predict servingpb.PredictionServiceClient
	models  servingpb.ModelServiceClient
	rest    string
}

func testConfig(base string) Config {
	cfg := DefaultConfig()
	cfg.BasePath = base
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.RESTAddr = "127.0.0.1:0"
	cfg.PollInterval = 20 * time.Millisecond
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.WarmupRequests = 0 // the warm-up tests turn it on
	return cfg
}

func quietLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// signatureDefs asks ts's gRPC metadata for the signature defs of the
// newest version.
func signatureDefs(t *testing.T, ts *testServer) *servingpb.SignatureDefMap {
	t.Helper()
	md, err := ts.predict.GetModelMetadata(context.Background(), &servingpb.GetModelMetadataRequest{ModelSpec: spec(0), MetadataField: []string{"signature_def"}})
	if err != nil {
		t.Fatal(err)
	}
	var sigs servingpb.SignatureDefMap
	if err := md.Metadata["signature_def"].UnmarshalTo(&sigs); err != nil {
		t.Fatal(err)
	}
	return &sigs
}

func startServer(t *testing.T, cfg Config, load serving.Loader) *testServer {
	t.Helper()
	s, err := New(cfg, load, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	return wrapServer(t, s)
}

// wrapServer starts s and connects a gRPC client to it.
func wrapServer(t *testing.T, s *Server) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ts := &testServer{Server: s, cancel: cancel, conn: conn,
		predict: servingpb.NewPredictionServiceClient(conn),
		models:  servingpb.NewModelServiceClient(conn),
		rest:    "http://" + s.RESTAddr()}
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) stop() {
	ts.conn.Close()
	ts.cancel()
	ts.Wait()
}

func dial(tb testing.TB, ts *testServer) *grpc.ClientConn {
	conn, err := grpc.NewClient(ts.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	return conn
}
