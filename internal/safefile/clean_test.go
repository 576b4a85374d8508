package safefile

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// CleanStale removes only unlocked temporaries of our own naming for the
// given target, and logs each removal.
func TestCleanStale(t *testing.T) {
	dir := t.TempDir()
	mkdir := func(name string) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(p, 0o755)
		os.WriteFile(filepath.Join(p, "big"), make([]byte, 1000), 0o644)
		return p
	}
	mkfile := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	old := time.Now().Add(-2 * time.Hour)
	stale := []string{
		mkdir(".ds.nann-staging-123"),
		mkdir(".ds.nann-old-9"),
		mkfile(".ds.nann-tmp-77", "half"),
	}
	for _, p := range stale {
		os.Chtimes(p, old, old) // abandoned a while ago
	}
	legacyOld := mkdir(".ds.staging-456")
	os.Chtimes(legacyOld, old, old)
	stale = append(stale, legacyOld)
	keep := map[string]string{
		mkfile("ds.old", "the user's"):                "the user's",
		mkfile(".ds.staging-notes", "user"):           "user",
		mkfile(".ds.nann-tmp-12x", "user"):            "user",
		mkfile(".other.nann-tmp-5", "another target"): "another target",
		mkfile("ds", "a file named like the target"):  "a file named like the target",
	}
	legacyYoung := mkdir(".ds.staging-789") // may belong to a running older nann
	// Just created and not yet locked: its creator is between os.MkdirTemp
	// and flock (a concurrent export's cleanup once removed such a staging
	// directory from under it).
	creating := mkdir(".ds.nann-staging-555")
	inUse, err := NewStaging(filepath.Join(dir, "ds"))
	if err != nil {
		t.Fatal(err)
	}
	defer inUse.Abort()
	var logBuf bytes.Buffer
	removed, err := CleanStale(dir, "ds", slog.New(slog.NewTextHandler(&logBuf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	slices.Sort(stale)
	if !slices.Equal(removed, stale) {
		t.Fatalf("removed %v, want %v", removed, stale)
	}
	for _, p := range stale {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
		if !strings.Contains(logBuf.String(), p) {
			t.Errorf("removal of %s not logged: %s", p, logBuf.String())
		}
	}
	for p, want := range keep {
		if b, err := os.ReadFile(p); err != nil || string(b) != want {
			t.Errorf("%s: %q %v", p, b, err)
		}
	}
	for _, p := range []string{legacyYoung, creating, inUse.Path} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	if !strings.Contains(logBuf.String(), "bytes=1000") {
		t.Errorf("log lacks sizes: %s", logBuf.String())
	}
	// Any target (a run directory's own temporaries).
	for _, name := range []string{".metrics.jsonl.nann-tmp-1", ".step-000000005.ckpt.tmp-2", ".other.nann-tmp-5"} {
		if name != ".other.nann-tmp-5" {
			mkfile(name, "x")
		}
		os.Chtimes(filepath.Join(dir, name), old, old)
	}
	removed, _ = CleanStale(dir, "", nil)
	if len(removed) != 3 { // the two files and .other.nann-tmp-5
		t.Fatalf("any-target clean removed %v", removed)
	}
}

// A temporary file is locked while Write fills it.
func TestWriteTemporaryLocked(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	err := Write(p, func(w io.Writer) error {
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 || !strings.HasPrefix(ents[0].Name(), ".f.nann-tmp-") {
			t.Errorf("temporary %v", ents)
		}
		if removed, err := CleanStale(dir, "f", nil); len(removed) != 0 || err != nil {
			t.Errorf("a temporary in use was cleaned: %v %v", removed, err)
		}
		_, err := w.Write([]byte("ok"))
		return err
	})
	if b, _ := os.ReadFile(p); err != nil || string(b) != "ok" {
		t.Fatalf("%q %v", b, err)
	}
}
