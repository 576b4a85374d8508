package train

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A --run that is a regular file or a non-empty directory that is not a
// run is refused, and its contents keep their exact bytes.
func TestRunRefusesForeignDir(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "good.csv")
	os.WriteFile(file, []byte("1,2,3,pv,4\n"), 0o644)
	foreign := filepath.Join(base, "photos")
	os.Mkdir(foreign, 0o755)
	os.WriteFile(filepath.Join(foreign, "a.jpg"), []byte("jpeg"), 0o644)
	for _, run := range []string{file, foreign} {
		cfg := smallConfig(testData, run)
		cfg.MaxSteps = 1
		if _, err := Run(context.Background(), cfg, Options{}); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("--run %s: %v", run, err)
		}
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "1,2,3,pv,4\n" {
		t.Fatalf("%s: %q %v", file, b, err)
	}
	if ents, _ := os.ReadDir(foreign); len(ents) != 1 {
		t.Fatalf("%s now holds %v", foreign, ents)
	}
	if b, _ := os.ReadFile(filepath.Join(foreign, "a.jpg")); string(b) != "jpeg" {
		t.Fatalf("a.jpg: %q", b)
	}
}

// Temporaries a killed session left in the run directory (a checkpoint
// being written, metrics) are removed when the run is resumed.
func TestResumeCleansStaleTemporaries(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	cfg := smallConfig(testData, run)
	cfg.MaxSteps = 2
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	stale := []string{
		filepath.Join(run, ckptDir, ".step-000000010.ckpt.nann-tmp-123456"),
		filepath.Join(run, ".metrics.jsonl.nann-tmp-99"),
	}
	old := time.Now().Add(-2 * time.Minute) // left by a run killed a while ago
	for _, p := range stale {
		os.WriteFile(p, make([]byte, 1<<16), 0o644)
		os.Chtimes(p, old, old)
	}
	user := filepath.Join(run, "notes.nann-tmp-1") // not hidden: not ours
	os.WriteFile(user, []byte("mine"), 0o644)
	cfg.MaxSteps = 3
	if _, err := Run(context.Background(), cfg, Options{Set: []string{"max_steps"}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there (%v)", p, err)
		}
	}
	if b, _ := os.ReadFile(user); string(b) != "mine" {
		t.Fatalf("%s: %q", user, b)
	}
}
