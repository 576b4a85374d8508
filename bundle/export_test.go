package bundle_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"nann/bundle"
	"nann/internal/cli"
)

// pipeline is a tiny trained run, its dataset and its index.
type pipeline struct{ data, run, index string }

// makePipeline runs synth → prepare → train → extract → index on a tiny
// world with the nann commands (about a second).
func makePipeline(t *testing.T) pipeline {
	t.Helper()
	dir := t.TempDir()
	p := pipeline{data: filepath.Join(dir, "data"), run: filepath.Join(dir, "run"), index: filepath.Join(dir, "index")}
	csv, emb := filepath.Join(dir, "ub.csv"), filepath.Join(dir, "emb")
	for _, args := range [][]string{
		{"synth", "--preset", "tiny", "--users", "300", "--items", "500", "--out", csv},
		{"prepare", "--out", p.data, csv},
		{"train", "--run", p.run, "--data", p.data, "--batch", "32", "--negatives", "4", "--max-steps", "2", "--eval-users", "10"},
		{"extract", "--run", p.run, "--out", emb},
		{"index", "--embs", filepath.Join(emb, "item_embs.npy"), "--out", p.index},
	} {
		var stderr bytes.Buffer
		if code := cli.Main(append([]string{"--log-level", "error"}, args...), &bytes.Buffer{}, &stderr); code != 0 {
			t.Fatalf("nann %v: exit %d\n%s", args, code, stderr.String())
		}
	}
	return p
}

func (p pipeline) options(base string) bundle.ExportOptions {
	o := bundle.DefaultExportOptions()
	o.RunDir, o.IndexDir, o.Base = p.run, p.index, base
	return o
}

// treeSum hashes every file under dir (paths and bytes).
func treeSum(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		h.Write([]byte(p + "\x00"))
		h.Write(b)
		return err
	})
	if err != nil {
		t.Errorf("hash %s: %v", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestExportConcurrentVersionsAreImmutable is issue 12 item 3: concurrent
// exports into one base must all succeed with distinct versions, each
// version's manifest must name its own number, and no version's bytes may
// change once its export has returned.
func TestExportConcurrentVersionsAreImmutable(t *testing.T) {
	p := makePipeline(t)
	base := t.TempDir()
	const n = 4
	type result struct {
		dir, sum string
		m        *bundle.Manifest
		err      error
	}
	res := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &res[i]
			if r.dir, r.m, r.err = bundle.Export(context.Background(), p.options(base)); r.err == nil {
				r.sum = treeSum(t, r.dir)
			}
		}()
	}
	wg.Wait()
	var dirs []string
	for i, r := range res {
		if r.err != nil {
			t.Fatalf("export %d: %v", i, r.err)
		}
		dirs = append(dirs, r.dir)
	}
	slices.Sort(dirs)
	var want []string
	for v := 1; v <= n; v++ {
		want = append(want, filepath.Join(base, "nann", strconv.Itoa(v)))
	}
	if !slices.Equal(dirs, want) {
		t.Fatalf("concurrent exports went to %v, want %v (one version each)", dirs, want)
	}
	// One more export afterwards takes the next number.
	dir, _, err := bundle.Export(context.Background(), p.options(base))
	if err != nil || dir != filepath.Join(base, "nann", strconv.Itoa(n+1)) {
		t.Fatalf("later export: %s, %v", dir, err)
	}
	for i, r := range res {
		if got := treeSum(t, r.dir); got != r.sum {
			t.Errorf("export %d: %s changed after its export returned", i, r.dir)
		}
		m, err := bundle.ReadManifest(r.dir)
		if err != nil {
			t.Fatal(err)
		}
		if v := strconv.FormatInt(m.ModelVer, 10); v != filepath.Base(r.dir) || m.ModelVer != r.m.ModelVer || !m.Created.Equal(r.m.Created) {
			t.Errorf("export %d: %s holds the manifest of version %d created %v; the export returned version %d created %v",
				i, r.dir, m.ModelVer, m.Created, r.m.ModelVer, r.m.Created)
		}
		if _, err := bundle.Load(context.Background(), r.dir); err != nil {
			t.Errorf("export %d: %v", i, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(base, "nann"))
	if len(entries) != n+1 {
		t.Errorf("base holds %d entries, want the %d versions only (staging left behind?)", len(entries), n+1)
	}
}

// TestExportExplicitVersionImmutable: an explicit --version that exists is
// refused and the existing version is left as it was.
func TestExportExplicitVersionImmutable(t *testing.T) {
	p := makePipeline(t)
	base := t.TempDir()
	dir, _, err := bundle.Export(context.Background(), p.options(base))
	if err != nil {
		t.Fatal(err)
	}
	sum := treeSum(t, dir)
	o := p.options(base)
	o.Version = 1
	if _, _, err := bundle.Export(context.Background(), o); err == nil {
		t.Fatal("export onto an existing version succeeded")
	}
	if treeSum(t, dir) != sum {
		t.Fatal("refused export changed the existing version")
	}
}

// TestExportCleansStaleStaging: an export killed mid-way leaves its hidden
// staging directory behind; the next export into the same model directory
// removes it (it is ours and unlocked) and says so in the log, and leaves
// alone a hidden directory of the user's that only looks similar.
func TestExportCleansStaleStaging(t *testing.T) {
	p := makePipeline(t)
	base := t.TempDir()
	modelDir := filepath.Join(base, "nann")
	stale := filepath.Join(modelDir, ".export.nann-staging-123456")
	users := filepath.Join(modelDir, ".export-mine")
	for _, d := range []string{stale, users} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "engine.bin"), make([]byte, 1000), 0o644); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-2 * time.Minute) // left by a run killed a while ago
		os.Chtimes(d, old, old)
	}
	var logged strings.Builder
	o := p.options(base)
	o.Log = slog.New(slog.NewTextHandler(&logged, nil))
	dir, _, err := bundle.Export(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale staging %s still there (err %v)", stale, err)
	}
	if _, err := os.Stat(filepath.Join(users, "engine.bin")); err != nil {
		t.Errorf("the user's %s was touched: %v", users, err)
	}
	if !strings.Contains(logged.String(), "stale temporary") || !strings.Contains(logged.String(), stale) {
		t.Errorf("log does not name the removed staging:\n%s", logged.String())
	}
	ents, err := os.ReadDir(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), "nann-staging") {
			t.Errorf("export left staging %s", e.Name())
		}
	}
	if filepath.Base(dir) != "1" {
		t.Errorf("exported %s, want version 1", dir)
	}
}
