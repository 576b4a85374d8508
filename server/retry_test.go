package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"nann/serving"
	"nann/tfserving/servingpb"
)

// retryManager returns a manager of a base directory holding version 1,
// whose loader fails the first fails times (always if fails < 0) and then
// loads a fake; tries collects the times of the loads since start. Retries
// wait 1 s, doubling up to retryMax.
func retryManager(t *testing.T, fails int, retryMax time.Duration) (m *manager, tries *[]time.Duration, start time.Time) {
	t.Helper()
	base := t.TempDir()
	if err := os.Mkdir(filepath.Join(base, "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	tries = new([]time.Duration)
	load := func(ctx context.Context, dir string) (serving.Servable, error) {
		*tries = append(*tries, time.Since(start))
		if fails < 0 || len(*tries) <= fails {
			return nil, errors.New("fake: bundle still being copied")
		}
		return &fakeServable{version: 1}, nil
	}
	m = newManager(base, 1, load, quietLogger(), nil)
	m.retryFirst, m.retryMax = time.Second, retryMax
	return m, tries, start
}

// TestFailedVersionRetriedWithBackoff: a version whose files are
// incomplete (the loader fails 3 times) is retried after 1 s, 2 s and 4 s
// although its directory's mtime never changes, and then becomes
// AVAILABLE; between tries it is left alone.
func TestFailedVersionRetriedWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, tries, start := retryManager(t, 3, time.Minute)
		ctx := context.Background()
		for time.Since(start) < 20*time.Second {
			m.poll(ctx)
			time.Sleep(100 * time.Millisecond)
		}
		want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}
		if !slices.Equal(*tries, want) {
			t.Fatalf("load tried at %v, want at %v", *tries, want)
		}
		st, err := m.statuses(nil)
		if err != nil || st[0].State != servingpb.ModelVersionStatus_AVAILABLE {
			t.Fatalf("status %v %v, want AVAILABLE", st, err)
		}
		m.closeAll()
	})
}

// TestRetryBackoffCapped: the wait between tries doubles up to the cap.
func TestRetryBackoffCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, tries, start := retryManager(t, -1, 5*time.Second)
		for time.Since(start) < 30*time.Second {
			m.poll(context.Background())
			time.Sleep(100 * time.Millisecond)
		}
		// 0, 1, 3, 7, then every 5 s: 12, 17, 22, 27.
		want := []time.Duration{0, 1, 3, 7, 12, 17, 22, 27}
		for i := range want {
			want[i] *= time.Second
		}
		if !slices.Equal(*tries, want) {
			t.Fatalf("tries at %v, want at %v", *tries, want)
		}
	})
}

// TestRetriesGiveUpUntilDirectoryChanges: with maxRetries 2 a version that
// never loads is tried three times (0, 1 s, 3 s) and then left alone,
// however long the server runs, until its directory's mtime changes,
// which earns it a fresh round of tries.
func TestRetriesGiveUpUntilDirectoryChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, tries, start := retryManager(t, -1, time.Minute)
		m.maxRetries = 2
		for time.Since(start) < 5*time.Minute {
			m.poll(context.Background())
			time.Sleep(time.Second)
		}
		want := []time.Duration{0, time.Second, 3 * time.Second}
		if !slices.Equal(*tries, want) {
			t.Fatalf("load tried at %v, want only at %v", *tries, want)
		}
		st, err := m.statuses(nil)
		if err != nil || st[0].State != servingpb.ModelVersionStatus_END || st[0].Status.GetErrorMessage() == "" {
			t.Fatalf("status %v %v, want END with the load error", st, err)
		}
		later := time.Now().Add(time.Hour)
		if err := os.Chtimes(filepath.Join(m.base, "1"), later, later); err != nil {
			t.Fatal(err)
		}
		m.poll(context.Background())
		if len(*tries) != len(want)+1 {
			t.Fatalf("a changed directory was not retried: tries at %v", *tries)
		}
	})
}
