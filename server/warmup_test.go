package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"nann/internal/syncbuf"
	"nann/serving"
	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
)

// probe records the requests a servable gets and whether its version was
// already AVAILABLE when each came.
type probe struct {
	serving.Servable
	mu       sync.Mutex
	reqs     []*serving.Request
	wasLive  []bool
	liveNow  func() bool
	excludes bool
}

func (p *probe) Predict(ctx context.Context, r *serving.Request) (*serving.Response, error) {
	p.mu.Lock()
	p.reqs = append(p.reqs, r)
	p.wasLive = append(p.wasLive, p.liveNow())
	p.mu.Unlock()
	return p.Servable.Predict(ctx, r)
}

// warmServer is a server (not started) of fake model versions wrapped in
// probes.
func warmServer(t *testing.T, warmupRequests int, versions ...int64) (*Server, *fakeModel, map[int64]*probe) {
	t.Helper()
	m := newFakeModel(t, versions...)
	cfg := testConfig(m.base)
	cfg.WarmupRequests = warmupRequests
	var mu sync.Mutex
	probes := map[int64]*probe{}
	var s *Server
	load := func(ctx context.Context, dir string) (serving.Servable, error) {
		sv, err := m.load(ctx, dir)
		if err != nil {
			return nil, err
		}
		num := sv.(*fakeServable).version
		p := &probe{Servable: sv, liveNow: func() bool {
			v, err := s.models.lookup("nann").mgr.acquire(&num)
			if err != nil {
				return false
			}
			s.models.lookup("nann").mgr.release(v)
			return true
		}}
		mu.Lock()
		probes[num] = p
		mu.Unlock()
		return p, nil
	}
	s, err := New(cfg, load, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	return s, m, probes
}

// TestSyntheticWarmupBeforeAvailable: a new version gets the configured
// synthetic requests (built from its signature, several batch sizes)
// before it is AVAILABLE; the warm-up is counted per model and version.
func TestSyntheticWarmupBeforeAvailable(t *testing.T) {
	s, _, probes := warmServer(t, 5, 1)
	s.pollModels(context.Background())
	p := probes[1]
	if len(p.reqs) != 5 {
		t.Fatalf("%d warm-up requests, want 5", len(p.reqs))
	}
	var batches []int
	for i, r := range p.reqs {
		if p.wasLive[i] {
			t.Fatalf("warm-up request %d reached the version after it was AVAILABLE", i+1)
		}
		if len(r.CommSeq) != r.Batch*fakeSig.CommSeqLen || r.LevelTopN != fakeSig.DefaultLevelTopN {
			t.Fatalf("warm-up request %d: batch %d, %d comm_seq values, level_topn %v", i+1, r.Batch, len(r.CommSeq), r.LevelTopN)
		}
		batches = append(batches, r.Batch)
	}
	if !slices.Equal(batches, []int{1, 2, 4, 8, 1}) {
		t.Fatalf("batch sizes %v", batches)
	}
	directPredict(t, s, "nann", 5)
	if len(p.reqs) != 6 || !p.wasLive[5] {
		t.Fatal("the first real request did not reach the AVAILABLE version")
	}
	fams, _ := s.met.reg.Gather()
	var got []string
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), "nann_serve_warmup_") {
			for _, m := range f.GetMetric() {
				got = append(got, f.GetName()+"/"+labelOf(m, "model")+"/"+labelOf(m, "version"))
				if f.GetName() == "nann_serve_warmup_requests_total" && m.GetCounter().GetValue() != 5 {
					t.Fatalf("warm-up requests counted %v", m.GetCounter().GetValue())
				}
			}
		}
	}
	if !slices.Equal(got, []string{"nann_serve_warmup_requests_total/nann/1", "nann_serve_warmup_seconds/nann/1"}) {
		t.Fatalf("warm-up series %v", got)
	}
}

// tfRecord frames data as one TFRecord record.
func tfRecord(data []byte) []byte {
	mask := func(b []byte) uint32 {
		c := crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
		return ((c >> 15) | (c << 17)) + 0xa282ead8
	}
	var out []byte
	out = binary.LittleEndian.AppendUint64(out, uint64(len(data)))
	out = binary.LittleEndian.AppendUint32(out, mask(out[:8]))
	out = append(out, data...)
	return binary.LittleEndian.AppendUint32(out, mask(data))
}

// predictionLog encodes a PredictionLog whose predict_log holds req (and
// log_metadata, which is skipped).
func predictionLog(t *testing.T, req *servingpb.PredictRequest) []byte {
	t.Helper()
	rb, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var pl []byte
	pl = protowire.AppendTag(pl, 1, protowire.BytesType)
	pl = protowire.AppendBytes(pl, rb)
	var out []byte
	out = protowire.AppendTag(out, 1, protowire.BytesType) // log_metadata
	out = protowire.AppendBytes(out, []byte{0x0a, 0x01, 'x'})
	out = protowire.AppendTag(out, 6, protowire.BytesType)
	return protowire.AppendBytes(out, pl)
}

func writeWarmup(t *testing.T, versionDir string, records ...[]byte) {
	t.Helper()
	path := filepath.Join(versionDir, WarmupFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Join(records, nil), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCRC32CMaskKnownValue pins the TFRecord checksum to the CRC-32C check
// value (crc32c("123456789") = 0xe3069283) and TF's mask.
func TestCRC32CMaskKnownValue(t *testing.T) {
	c := uint32(0xe3069283)
	if got, want := maskedCRC([]byte("123456789")), ((c>>15)|(c<<17))+0xa282ead8; got != want {
		t.Fatalf("masked crc %#x, want %#x", got, want)
	}
}

// TestRecordedWarmup: a version's assets.extra/tf_serving_warmup_requests
// (TFRecord of PredictionLog) replaces the synthetic requests; a bad
// record fails the load naming the record, and the older version keeps
// serving.
func TestRecordedWarmup(t *testing.T) {
	s, m, probes := warmServer(t, 4)
	rec := func(ids ...int64) []byte {
		return tfRecord(predictionLog(t, &servingpb.PredictRequest{ModelSpec: spec(0), Inputs: map[string]*tfpb.TensorProto{
			"item_ids": int64Tensor([][]int64{ids}), "level_topn": int32Tensor(5, 5, 5, 5, 5, 3)}}))
	}
	m.write(t, 1, "ok")
	writeWarmup(t, filepath.Join(m.base, "1"), rec(11, 12), rec(13), rec(14, 15, 16))
	ctx := context.Background()
	s.pollModels(ctx)
	p := probes[1]
	if p == nil || len(p.reqs) != 3 {
		t.Fatalf("recorded warm-up requests: %v", p)
	}
	for i, want := range [][]int64{{11, 12}, {13}, {14, 15, 16}} {
		if !slices.Equal(p.reqs[i].ItemIDs[0], want) || p.reqs[i].LevelTopN != [6]int32{5, 5, 5, 5, 5, 3} || p.wasLive[i] {
			t.Fatalf("warm-up request %d: %v %v live %v", i+1, p.reqs[i].ItemIDs, p.reqs[i].LevelTopN, p.wasLive[i])
		}
	}
	// Version 2's second record is corrupt: its load fails, 1 keeps serving.
	bad := rec(21)
	bad[len(bad)-1] ^= 1
	m.write(t, 2, "ok")
	writeWarmup(t, filepath.Join(m.base, "2"), rec(20), bad)
	// Version 3 records a request with an input the model does not take.
	m.write(t, 3, "ok")
	writeWarmup(t, filepath.Join(m.base, "3"), tfRecord(predictionLog(t, &servingpb.PredictRequest{Inputs: map[string]*tfpb.TensorProto{"user_emb": int32Tensor(1)}})))
	s.pollModels(ctx)
	st, err := s.modelStatus(target{model: "nann"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[int64]string{}
	for _, v := range st.ModelVersionStatus {
		msgs[v.Version] = v.State.String() + " " + v.Status.GetErrorMessage()
	}
	if !strings.Contains(msgs[2], "END") || !strings.Contains(msgs[2], "record 2: data checksum mismatch") {
		t.Fatalf("version 2: %s", msgs[2])
	}
	if !strings.Contains(msgs[3], "END") || !strings.Contains(msgs[3], "record 1") || !strings.Contains(msgs[3], "user_emb") {
		t.Fatalf("version 3: %s", msgs[3])
	}
	if !probes[2].Servable.(*fakeServable).closed.Load() || !probes[3].Servable.(*fakeServable).closed.Load() {
		t.Fatal("versions that failed warm-up were not closed")
	}
	if resp := directPredict(t, s, "nann", 4); len(resp.TopK) != 2 {
		t.Fatal("version 1 stopped serving")
	}
	if !strings.Contains(msgs[1], "AVAILABLE") {
		t.Fatalf("version 1: %s", msgs[1])
	}
}

func TestReadWarmupRecordsRefusesBadFiles(t *testing.T) {
	good := tfRecord(predictionLog(t, &servingpb.PredictRequest{}))
	classify := tfRecord(protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), nil))
	lenBad := slices.Clone(good)
	lenBad[8] ^= 1
	for _, c := range []struct {
		name    string
		b       []byte
		mention string
	}{
		{"empty", nil, "no warm-up records"},
		{"truncated header", good[:5], "truncated header"},
		{"length checksum", lenBad, "length checksum"},
		{"runs past the end", good[:len(good)-2], "past the end"},
		{"classify log", classify, "classify_log"},
		{"second record truncated", append(slices.Clone(good), good[:13]...), "record 2"},
	} {
		if _, err := readWarmupRecords("w", c.b); err == nil || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.mention)
		}
	}
	if reqs, err := readWarmupRecords("w", append(slices.Clone(good), good...)); err != nil || len(reqs) != 2 {
		t.Fatalf("two good records: %v %v", reqs, err)
	}
}

// FuzzReadWarmupRecords: arbitrary bytes never panic.
func FuzzReadWarmupRecords(f *testing.F) {
	f.Add(tfRecord(nil))
	f.Add(tfRecord([]byte{0x32, 0x02, 0x0a, 0x00}))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = readWarmupRecords("f", b)
	})
}

// batchOne answers only single-row requests, like a servable with a bug
// (or a limit) the synthetic warm-up runs into.
type batchOne struct{ serving.Servable }

func (b batchOne) Predict(ctx context.Context, r *serving.Request) (*serving.Response, error) {
	if r.Batch > 1 {
		return nil, errors.New("batchOne: batch > 1")
	}
	return b.Servable.Predict(ctx, r)
}

// TestSyntheticWarmupFailureStillPublishes: synthetic requests only warm
// caches; one that fails ends the warm-up (logged) and the version serves.
func TestSyntheticWarmupFailureStillPublishes(t *testing.T) {
	m := newFakeModel(t, 1)
	cfg := testConfig(m.base)
	cfg.WarmupRequests = 4
	logs := &syncbuf.Buffer{}
	s, err := New(cfg, func(ctx context.Context, dir string) (serving.Servable, error) {
		sv, err := m.load(ctx, dir)
		return batchOne{sv}, err
	}, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.pollModels(context.Background())
	if resp := directPredictBatch(t, s, 1); len(resp.TopK) != 1 {
		t.Fatal("version not serving")
	}
	if !strings.Contains(logs.String(), "synthetic warm-up request failed") || !strings.Contains(logs.String(), "batch=2") {
		t.Fatalf("log:\n%s", logs.String())
	}
	if got := gauge(t, s, "nann_serve_warmup_requests_total", "nann"); got != 1 {
		t.Fatalf("warm-up requests counted %v, want 1 (the batch-1 one)", got)
	}
}

func directPredictBatch(t *testing.T, s *Server, batch int) *serving.Response {
	t.Helper()
	res, err := s.predict(context.Background(), target{model: "nann"}, func(sig serving.Signature) (*serving.Request, string, error) {
		return &serving.Request{Batch: batch, CommSeq: make([]float32, batch*sig.CommSeqLen), LevelTopN: sig.DefaultLevelTopN}, "", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.resp
}
