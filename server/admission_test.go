package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"nann/tfserving/servingpb"
)

// countingBody serves head, then repeats fill for n bytes, then tail,
// counting what was read; it stands for a huge request body that is never
// held in memory by the test.
type countingBody struct {
	head, fill, tail string
	n                int64 // bytes of fill
	pos              int64
	read             atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	total := int64(len(b.head)) + b.n + int64(len(b.tail))
	if b.pos >= total {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && b.pos < total {
		switch {
		case b.pos < int64(len(b.head)):
			p[k] = b.head[b.pos]
		case b.pos < int64(len(b.head))+b.n:
			p[k] = b.fill[(b.pos-int64(len(b.head)))%int64(len(b.fill))]
		default:
			p[k] = b.tail[b.pos-int64(len(b.head))-b.n]
		}
		k++
		b.pos++
	}
	b.read.Add(int64(k))
	return k, nil
}

func (b *countingBody) size() int64 { return int64(len(b.head)) + b.n + int64(len(b.tail)) }

// serveREST runs one REST request through the handler in-process, so the
// test sees exactly how much of the body the server read.
func serveREST(ts *testServer, body *countingBody) (int, string) {
	req := httptest.NewRequest("POST", "/v1/models/nann:predict", body)
	rec := httptest.NewRecorder()
	ts.restHandler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// idsBody is a body of n item ids in one row, like the hostile probe (30 M
// ids, 60 MB).
func idsBody(ids int64) *countingBody {
	return &countingBody{head: `{"inputs": {"item_ids": [[1`, fill: ",1", n: 2 * (ids - 1), tail: `]]}}`}
}

// holdSlot starts a slow gRPC call that holds the only slot and returns
// when it does.
func holdSlot(t *testing.T, ts *testServer) <-chan error {
	// Count reads before the call starts: loaded after, a fast call's read
	// is already in the count and the wait below never ends (CI, 2026-12-02).
	reads := ts.predictReads.Load()
	done := make(chan error, 1)
	go func() {
		_, err := ts.predict.Predict(context.Background(), seqRequest(0))
		done <- err
	}()
	waitFor(t, "slot to fill", 4*time.Second, func() bool { return ts.lim.inFlight() == 1 && ts.predictReads.Load() == reads+1 })
	return done
}

// TestRefusedBeforeBodyRead: with the one slot taken and no queue, REST and
// gRPC predictions are refused (429 / RESOURCE_EXHAUSTED) without reading
// their bodies.
func TestRefusedBeforeBodyRead(t *testing.T) {
	m := newFakeModel(t, 1)
	m.delay = 5 * time.Second // longer than holdSlot's wait
	cfg := testConfig(m.base)
	cfg.MaxConcurrent, cfg.MaxQueue = 1, 0
	ts := startServer(t, cfg, m.load)
	raw := manyKeysMessage(100_000, "")
	done := holdSlot(t, ts)

	body := idsBody(30_000_000)
	code, msg := serveREST(ts, body)
	if code != http.StatusTooManyRequests || body.read.Load() != 0 {
		t.Errorf("REST: HTTP %d %s after reading %d of %d body bytes; want 429 having read none", code, msg, body.read.Load(), body.size())
	}

	reads := ts.predictReads.Load()
	err := ts.conn.Invoke(context.Background(), servingpb.PredictionService_Predict_FullMethodName, &rawMessage{b: raw}, &rawMessage{}, grpc.ForceCodecV2(passCodec{}))
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("gRPC: %v, want RESOURCE_EXHAUSTED", err)
	}
	if n := ts.predictReads.Load() - reads; n != 0 {
		t.Errorf("gRPC: the refused call's message was read (%d reads)", n)
	}
	if err := <-done; err != nil {
		t.Fatalf("admitted call failed: %v", err)
	}
}

// TestRESTLimitsStopReading: a body past an element, nesting or byte limit
// is refused after reading little more than the limit allows, not decoded
// whole.
func TestRESTLimitsStopReading(t *testing.T) {
	m := newFakeModel(t, 1)
	cfg := testConfig(m.base)
	cfg.MaxMessageBytes = 1 << 20
	ts := startServer(t, cfg, m.load)
	big := &countingBody{head: `{"signature_name": "`, fill: "x", n: 64 << 20, tail: `"}`}
	cases := []struct {
		name    string
		body    *countingBody
		code    int
		mention string
		maxRead int64
	}{
		// 256×50 = 12,800 ids are allowed; the 12,801st stops the read.
		{"30M ids", idsBody(30_000_000), 400, "more than 12800", 64 << 10},
		{"30M rows of instances", &countingBody{head: `{"instances": [{"item_ids": [1]}`, fill: `,{"item_ids": [1]}`, n: 18 * 30_000_000, tail: `]}`}, 400, "more than 256 rows", 64 << 10},
		{"30M empty lists", &countingBody{head: `{"inputs": {"item_ids": [[]`, fill: ",[]", n: 3 * 30_000_000, tail: `]}}`}, 400, "more than 12800 values", 64 << 10},
		{"deep nesting", &countingBody{head: `{"inputs": {"item_ids": `, fill: "[", n: 30_000_000, tail: ``}, 400, "nesting deeper than 4", 64 << 10},
		{"64 MB string", big, 413, "exceeds 1048576 bytes", int64(cfg.MaxMessageBytes) + 64<<10},
	}
	for _, c := range cases {
		code, msg := serveREST(ts, c.body)
		if code != c.code || !strings.Contains(msg, c.mention) || c.body.read.Load() > c.maxRead {
			t.Errorf("%s: HTTP %d %s after reading %d of %d bytes; want %d mentioning %q after at most %d", c.name, code, strings.TrimSpace(msg), c.body.read.Load(), c.body.size(), c.code, c.mention, c.maxRead)
		}
	}
}

// manyKeysMessage is a PredictRequest whose inputs map has n entries, as
// in the hostile probe (1.5 M keys); on the wire about 14 bytes each.
func manyKeysMessage(n int, key string) []byte {
	spec, _ := proto.Marshal(spec(0))
	b := protowire.AppendTag(nil, fieldModelSpec, protowire.BytesType)
	b = protowire.AppendBytes(b, spec)
	for i := range n {
		var entry []byte
		entry = protowire.AppendTag(entry, fieldMapKey, protowire.BytesType)
		k := key
		if k == "" {
			k = "k" + strings.Repeat("0", 7-len(itoa(i))) + itoa(i)
		}
		entry = protowire.AppendString(entry, k)
		entry = protowire.AppendTag(entry, fieldMapValue, protowire.BytesType)
		entry = protowire.AppendBytes(entry, nil)
		b = protowire.AppendTag(b, fieldInputs, protowire.BytesType)
		b = protowire.AppendBytes(b, entry)
	}
	return b
}

func itoa(i int) string { return fmtInt(i) }

func fmtInt(i int) string {
	if i == 0 {
		return "0"
	}
	var d []byte
	for ; i > 0; i /= 10 {
		d = append([]byte{byte('0' + i%10)}, d...)
	}
	return string(d)
}

// passCodec sends and receives *rawMessage bytes as they are.
type passCodec struct{}

func (passCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.(*rawMessage).b)}, nil
}
func (passCodec) Unmarshal(data mem.BufferSlice, v any) error {
	v.(*rawMessage).b = data.Materialize()
	return nil
}
func (passCodec) Name() string { return "proto" }

// TestGRPCManyInputKeysBounded: a message whose inputs map has 300,000
// entries (distinct unknown keys, or one valid key repeated) is refused
// from its wire form; decoding it whole allocates tens of bytes of heap
// per wire byte.
func TestGRPCManyInputKeysBounded(t *testing.T) {
	m := newFakeModel(t, 1)
	ts := startServer(t, testConfig(m.base), m.load)
	for _, c := range []struct{ key, mention string }{{"", `unknown input "k`}, {"item_ids", "more than 4 entries"}} {
		raw := manyKeysMessage(300_000, c.key)
		call := func() error {
			return ts.conn.Invoke(context.Background(), servingpb.PredictionService_Predict_FullMethodName, &rawMessage{b: raw}, &rawMessage{}, grpc.ForceCodecV2(passCodec{}))
		}
		if err := call(); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), c.mention) {
			t.Fatalf("got %v, want INVALID_ARGUMENT mentioning %q", err, c.mention)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		err := call()
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("key %q: message %d bytes, heap allocated while serving it %d bytes (%.1f×)", c.key, len(raw), alloc, float64(alloc)/float64(len(raw)))
		if status.Code(err) != codes.InvalidArgument {
			t.Fatal(err)
		}
		if limit := 4*uint64(len(raw)) + 4<<20; alloc > limit {
			t.Fatalf("serving a %d-byte message allocated %d bytes (limit %d): it was decoded whole", len(raw), alloc, limit)
		}
	}
}
