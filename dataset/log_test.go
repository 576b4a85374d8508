package dataset

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Prepare logs only to the logger in its options and reports its progress
// only through the callback: the global logger sees nothing.
func TestPrepareLogsToItsLogger(t *testing.T) {
	var global bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&global, nil)))
	defer slog.SetDefault(old)
	content := strings.Repeat("1,10,100,pv,3\n1,11,100,buy,2\n2,10,100,cart,1\n", 5)
	p := writeCSV(t, content)

	var own bytes.Buffer
	var mu sync.Mutex
	var last, total int64
	opt := DefaultOptions()
	opt.Log = slog.New(slog.NewTextHandler(&own, nil))
	opt.Progress = func(stage string, done, tot int64) {
		mu.Lock()
		defer mu.Unlock()
		if !strings.HasPrefix(stage, "parse ") {
			t.Errorf("stage %q", stage)
		}
		last, total = max(last, done), tot
	}
	if _, err := Prepare(context.Background(), p, filepath.Join(t.TempDir(), "ds"), opt); err != nil {
		t.Fatal(err)
	}
	if global.Len() != 0 {
		t.Errorf("the global logger got %q", global.String())
	}
	if !strings.Contains(own.String(), "msg=prepared") {
		t.Errorf("the options' logger got %q, want the prepared line", own.String())
	}
	if total != int64(len(content)) || last != total {
		t.Errorf("progress ended at %d of %d, want %d of %d", last, total, len(content), len(content))
	}

	// Without a logger or callback it is silent.
	if _, err := Prepare(context.Background(), p, filepath.Join(t.TempDir(), "ds"), DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if global.Len() != 0 {
		t.Errorf("the global logger got %q", global.String())
	}
}
