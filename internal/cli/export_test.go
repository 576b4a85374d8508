package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// exportPipeline runs synth → prepare → train → extract → index on a tiny
// world and returns the run and index directories.
func exportPipeline(t *testing.T) (run, index string) {
	t.Helper()
	dir := t.TempDir()
	csv, data, emb := filepath.Join(dir, "ub.csv"), filepath.Join(dir, "data"), filepath.Join(dir, "emb")
	run, index = filepath.Join(dir, "run"), filepath.Join(dir, "index")
	for _, args := range [][]string{
		{"synth", "--preset", "tiny", "--users", "300", "--items", "500", "--out", csv},
		{"prepare", "--out", data, csv},
		{"train", "--run", run, "--data", data, "--batch", "32", "--negatives", "4", "--max-steps", "2", "--eval-users", "10"},
		{"extract", "--run", run, "--out", emb},
		{"index", "--embs", filepath.Join(emb, "item_embs.npy"), "--out", index},
	} {
		if _, e, c := runMain(t, args...); c != 0 {
			t.Fatalf("nann %v: exit %d\n%s", args, c, e)
		}
	}
	return run, index
}

// TestExportHelperProcess is not a test: it runs `nann` with the arguments
// in NANN_TEST_MAIN_ARGS (newline-separated) when a test starts it as a child.
func TestExportHelperProcess(t *testing.T) {
	args := os.Getenv("NANN_TEST_MAIN_ARGS")
	if args == "" {
		t.Skip("only run as a child process")
	}
	os.Exit(Main(strings.Split(args, "\n"), os.Stdout, os.Stderr))
}

// TestExportConcurrentProcesses is issue 12 item 3 across processes: four
// `nann export` processes into one base all exit 0 with distinct versions,
// each version holds its own manifest, and the bundles load.
func TestExportConcurrentProcesses(t *testing.T) {
	run, index := exportPipeline(t)
	base := t.TempDir()
	const n = 4
	outs := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^TestExportHelperProcess$")
		cmd.Env = append(os.Environ(), "NANN_TEST_MAIN_ARGS="+strings.Join([]string{"--log-level", "warn",
			"export", "--run", run, "--index", index, "--base", base, "--json"}, "\n"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = cmd.Output()
			if errs[i] != nil {
				errs[i] = &exportErr{errs[i], stderr.String()}
			}
		}()
	}
	wg.Wait()
	var got []string
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("export process %d: %v", i, errs[i])
		}
		var r struct {
			Dir      string `json:"dir"`
			Manifest struct {
				ModelVer int64 `json:"model_version"`
			} `json:"manifest"`
		}
		if err := json.Unmarshal(outs[i], &r); err != nil {
			t.Fatalf("export process %d: %v\n%s", i, err, outs[i])
		}
		if filepath.Base(r.Dir) != strconv.FormatInt(r.Manifest.ModelVer, 10) {
			t.Errorf("export process %d: %s reported with manifest version %d", i, r.Dir, r.Manifest.ModelVer)
		}
		got = append(got, filepath.Base(r.Dir))
	}
	slices.Sort(got)
	if want := []string{"1", "2", "3", "4"}; !slices.Equal(got, want) {
		t.Fatalf("%d concurrent export processes reported versions %v, want %v", n, got, want)
	}
	for _, v := range got {
		b, err := os.ReadFile(filepath.Join(base, "nann", v, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			ModelVer int64 `json:"model_version"`
		}
		if err := json.Unmarshal(b, &m); err != nil || strconv.FormatInt(m.ModelVer, 10) != v {
			t.Errorf("version %s holds the manifest of version %d (%v)", v, m.ModelVer, err)
		}
	}
}

type exportErr struct {
	err    error
	stderr string
}

func (e *exportErr) Error() string { return e.err.Error() + "\n" + e.stderr }

// TestExportRefusesBadLevelTopN is issue 12 item 5 at export: a default
// level_topn above the corpus or above --max-level-topn makes `nann export`
// fail, naming the value, and leaves no version behind.
func TestExportRefusesBadLevelTopN(t *testing.T) {
	run, index := exportPipeline(t)
	base := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--level-topn", "100,200,200,200,200,99999"}, "level_topn[5] = 99999 exceeds"},
		{[]string{"--level-topn", "100,200,200,200,200,600"}, "level_topn[5] = 600 exceeds the corpus of 500 items"},
		{[]string{"--level-topn", "100,200,200,200,200,200", "--max-level-topn", "150"}, "level_topn[1] = 200 exceeds the server's max level_topn 150"},
	} {
		_, e, code := runMain(t, append([]string{"export", "--run", run, "--index", index, "--base", base}, c.args...)...)
		if code == 0 || !strings.Contains(e, c.want) {
			t.Errorf("export %v: exit %d, stderr %q; want a failure naming %q", c.args, code, e, c.want)
		}
	}
	if entries, err := os.ReadDir(filepath.Join(base, "nann")); err == nil && len(entries) > 0 {
		t.Errorf("refused exports left %v", entries)
	}
	if out, e, code := runMain(t, "export", "--run", run, "--index", index, "--base", base); code != 0 || !strings.Contains(out, "nann/1") {
		t.Fatalf("good export: exit %d\n%s%s", code, out, e)
	}
}

// copyTree copies the regular files of a flat directory.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// editNPY applies f to the data bytes (after the header) of a version 1.0
// .npy file.
func editNPY(t *testing.T, path string, f func(data []byte)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f(b[10+(int(b[8])|int(b[9])<<8):])
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExportRunsLoadValidation is issue 12 item 8: inputs the server would
// refuse (an unsorted item_raw_ids.npy, a reference-layout index file that
// does not match graph.hnsw) make `nann export` fail, naming the file, and
// nothing is published.
func TestExportRunsLoadValidation(t *testing.T) {
	run, index := exportPipeline(t)
	dir := t.TempDir()
	badIndex, badData := filepath.Join(dir, "index"), filepath.Join(dir, "data")
	copyTree(t, index, badIndex)
	editNPY(t, filepath.Join(badIndex, "neighbors_level_0_values.npy"), func(d []byte) { d[8*3] ^= 1 })
	copyTree(t, filepath.Join(filepath.Dir(index), "data"), badData)
	editNPY(t, filepath.Join(badData, "item_raw_ids.npy"), func(d []byte) {
		a, b := d[8*2:8*3], d[8*3:8*4]
		for i := range a {
			a[i], b[i] = b[i], a[i]
		}
	})
	base := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--index", badIndex}, "neighbors_level_0_values.npy"},
		{[]string{"--index", index, "--data", badData}, "item_raw_ids.npy"},
	} {
		_, e, code := runMain(t, append([]string{"export", "--run", run, "--base", base}, c.args...)...)
		if code == 0 || !strings.Contains(e, c.want) {
			t.Errorf("export %v: exit %d, stderr %q; want a failure naming %s", c.args, code, e, c.want)
		}
	}
	if entries, err := os.ReadDir(filepath.Join(base, "nann")); err == nil && len(entries) > 0 {
		t.Errorf("refused exports left %v", entries)
	}
}
