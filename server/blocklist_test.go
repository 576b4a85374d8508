package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	dto "github.com/prometheus/client_model/go"

	"nann/internal/syncbuf"
	"nann/serving"
)

// gauge reads one series of s's metrics (-1 when absent).
func gauge(t *testing.T, s *Server, name, model string) float64 {
	t.Helper()
	v, ok := series(t, s, name, model)
	if !ok {
		return -1
	}
	return v
}

func series(t *testing.T, s *Server, name, model string) (float64, bool) {
	t.Helper()
	fams, err := s.met.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelOf(m, "model") == model {
				if f.GetType() == dto.MetricType_COUNTER {
					return m.GetCounter().GetValue(), true
				}
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// writeAtomically replaces path's content the way a deployment should
// (temporary file, rename).
func writeAtomically(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// directPredict runs one comm_seq request through the server's predict
// path (no network), as gRPC and REST do after admission.
func directPredict(t *testing.T, s *Server, model string, topK int32) *serving.Response {
	t.Helper()
	res, err := s.predict(context.Background(), target{model: model}, func(sig serving.Signature) (*serving.Request, string, error) {
		seq := make([]float32, 2*sig.CommSeqLen)
		seq[sig.CommSeqLen] = 1 // two different users
		return &serving.Request{Batch: 2, CommSeq: seq, LevelTopN: [6]int32{10, 10, 10, 10, 10, topK}}, "", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.resp
}

// blocklistServer is a server (not started: polled by hand or by its
// poll loop) of a fake model whose base path may hold a blocklist.
func blocklistServer(t *testing.T, wrap func(serving.Servable) serving.Servable, log *slog.Logger) (*Server, *fakeModel, string) {
	t.Helper()
	m := newFakeModel(t, 1)
	cfg := testConfig(m.base)
	cfg.PollInterval = time.Second
	load := m.load
	if wrap != nil {
		load = func(ctx context.Context, dir string) (serving.Servable, error) {
			sv, err := m.load(ctx, dir)
			if err != nil {
				return nil, err
			}
			return wrap(sv), nil
		}
	}
	s, err := New(cfg, load, log)
	if err != nil {
		t.Fatal(err)
	}
	return s, m, filepath.Join(m.base, BlocklistName)
}

// TestBlocklistReachesAnswersWithinOnePollInterval: a blocklist written
// just after a poll is in every answer one poll interval later (fake
// clock); answers stay full; a malformed file keeps the previous list and
// says which line; a removed file blocks nothing; size and age are
// metrics.
func TestBlocklistReachesAnswersWithinOnePollInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &syncbuf.Buffer{}
		s, _, path := blocklistServer(t, nil, slog.New(slog.NewTextHandler(logs, nil)))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s.pollModels(ctx)
		done := make(chan struct{})
		go func() { s.pollLoop(ctx, s.cfg.PollInterval, s.pollModels); close(done) }()
		defer func() { cancel(); <-done }()

		const k = 8
		before := directPredict(t, s, "nann", k)
		block := []int64{before.TopK[0][0], before.TopK[0][3], before.TopK[1][1]}
		time.Sleep(10 * time.Millisecond) // just after a poll
		writeAtomically(t, path, "# out of stock\n"+
			strings.Join([]string{i64(block[0]), i64(block[1]) + "  # since 10:00", "", i64(block[2])}, "\n")+"\n")
		time.Sleep(s.cfg.PollInterval)
		synctest.Wait()
		after := directPredict(t, s, "nann", k)
		for r, row := range after.TopK {
			if len(row) != k {
				t.Fatalf("row %d has %d ids, want a full %d", r, len(row), k)
			}
			for _, id := range block {
				if slices.Contains(row, id) {
					t.Fatalf("row %d %v holds blocked id %d one poll interval after the update", r, row, id)
				}
			}
		}
		if slices.Equal(before.TopK[0], after.TopK[0]) {
			t.Fatal("the answer did not change")
		}
		if got := gauge(t, s, "nann_serve_blocklist_items", "nann"); got != 3 {
			t.Fatalf("nann_serve_blocklist_items = %v, want 3", got)
		}
		if _, ok := series(t, s, "nann_serve_blocklist_age_seconds", "nann"); !ok {
			t.Fatalf("nann_serve_blocklist_age_seconds absent")
		}

		// Malformed: the previous list stays, the log names file and line.
		writeAtomically(t, path, "7\n8\n12x\n")
		time.Sleep(s.cfg.PollInterval)
		synctest.Wait()
		if again := directPredict(t, s, "nann", k); !slices.Equal(again.TopK[0], after.TopK[0]) {
			t.Fatalf("a malformed blocklist changed the answers: %v, was %v", again.TopK[0], after.TopK[0])
		}
		if !strings.Contains(logs.String(), BlocklistName+`:3: \"12x\" is not a raw item id`) {
			t.Fatalf("log does not name the bad line:\n%s", logs.String())
		}
		if got := gauge(t, s, "nann_serve_blocklist_failures_total", "nann"); got != 1 {
			t.Fatalf("blocklist failures = %v, want 1 (the same bad file is not re-read)", got)
		}
		if got := gauge(t, s, "nann_serve_blocklist_items", "nann"); got != 3 {
			t.Fatalf("nann_serve_blocklist_items = %v after a bad file, want 3", got)
		}

		// Removed: nothing is blocked.
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		time.Sleep(s.cfg.PollInterval)
		synctest.Wait()
		if back := directPredict(t, s, "nann", k); !slices.Equal(back.TopK[0], before.TopK[0]) {
			t.Fatalf("after the blocklist was removed: %v, want %v", back.TopK[0], before.TopK[0])
		}
		if got, ok := series(t, s, "nann_serve_blocklist_age_seconds", "nann"); ok {
			t.Fatalf("age reported without a blocklist: %v", got)
		}
	})
}

func i64(v int64) string { return strconv.FormatInt(v, 10) }

// opaque hides every method of a Servable but the interface's, like a
// servable that knows nothing of blocklists.
type opaque struct{ sv serving.Servable }

func (o opaque) Signature() serving.Signature { return o.sv.Signature() }
func (o opaque) Predict(ctx context.Context, r *serving.Request) (*serving.Response, error) {
	r2 := *r
	r2.Blocked = nil // it ignores the field
	return o.sv.Predict(ctx, &r2)
}
func (o opaque) Close() error { return o.sv.Close() }

// TestBlocklistCutFromServablesThatIgnoreIt: the server removes blocked
// ids from a servable that does not exclude them itself (rows may then be
// short), and says so once.
func TestBlocklistCutFromServablesThatIgnoreIt(t *testing.T) {
	logs := &syncbuf.Buffer{}
	s, _, path := blocklistServer(t, func(sv serving.Servable) serving.Servable { return opaque{sv} }, slog.New(slog.NewTextHandler(logs, nil)))
	ctx := context.Background()
	s.pollModels(ctx)
	before := directPredict(t, s, "nann", 6)
	writeAtomically(t, path, i64(before.TopK[0][2])+"\n"+i64(before.TopK[1][0])+"\n")
	s.pollModels(ctx)
	for range 2 {
		after := directPredict(t, s, "nann", 6)
		want0 := slices.Delete(slices.Clone(before.TopK[0]), 2, 3)
		want1 := before.TopK[1][1:]
		if !slices.Equal(after.TopK[0], want0) || !slices.Equal(after.TopK[1], want1) {
			t.Fatalf("got %v, want %v and %v", after.TopK, want0, want1)
		}
		if len(after.Scores[0]) != 5 || after.Scores[0][2] != before.Scores[0][3] {
			t.Fatalf("scores not cut with their ids: %v, was %v", after.Scores[0], before.Scores[0])
		}
	}
	if n := strings.Count(logs.String(), "does not exclude blocked items"); n != 1 {
		t.Fatalf("warned %d times, want once:\n%s", n, logs.String())
	}
}

func TestParseBlocklist(t *testing.T) {
	set, err := parseBlocklist("b", []byte("  5\n\n# c\n3 # x\n5\r\n9223372036854775807"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(set.IDs(), []int64{3, 5, 9223372036854775807}) {
		t.Fatalf("ids %v", set.IDs())
	}
	for _, c := range []struct{ text, mention string }{
		{"1\n0\n", "b:2: \"0\""},
		{"1\n-4\n", "b:2:"},
		{"1 2\n", "b:1:"},
		{"99999999999999999999\n", "b:1:"},
		{"\n\nx", "b:3:"},
		{strings.Repeat("1", 2<<20), "b:1:"},
	} {
		if _, err := parseBlocklist("b", []byte(c.text)); err == nil || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%.20q: got %v, want %q", c.text, err, c.mention)
		}
	}
}

// FuzzParseBlocklist: never a panic; every accepted id is positive and
// the set is sorted and unique.
func FuzzParseBlocklist(f *testing.F) {
	f.Add([]byte("1\n2 # c\n\n3\n"))
	f.Add([]byte("#\n-1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		set, err := parseBlocklist("f", b)
		if err != nil {
			return
		}
		ids := set.IDs()
		for i, id := range ids {
			if id <= 0 || (i > 0 && ids[i-1] >= id) {
				t.Fatalf("ids %v", ids)
			}
		}
	})
}
