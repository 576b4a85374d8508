package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every command that writes a directory refuses an output path that exists
// and is not a directory of its own kind; the victim keeps its exact bytes
// (`nann prepare good.csv -o good.csv` used to delete the input, and
// `nann demo --dir X --fresh` removes X).
func TestOutRefusesForeignPaths(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "good.csv")
	const content = "1,10,100,pv,3\n1,11,100,pv,4\n"
	os.WriteFile(csv, []byte(content), 0o644)
	foreign := filepath.Join(dir, "home")
	os.Mkdir(foreign, 0o755)
	os.WriteFile(filepath.Join(foreign, "thesis.tex"), []byte("years of work"), 0o600)
	for _, args := range [][]string{
		{"prepare", csv, "-o", csv},
		{"prepare", csv, "-o", foreign},
		{"prepare", csv, "-o", filepath.Join(dir, "ds"), "--tfrecord", csv},
		{"prepare", csv, "-o", filepath.Join(dir, "ds"), "--tfrecord", foreign},
		{"demo", "--dir", csv, "--preset", "tiny"},
		{"demo", "--dir", foreign, "--fresh", "--preset", "tiny"},
		{"train", "--run", csv, "--data", filepath.Join(dir, "ds")},
		{"train", "--run", foreign, "--data", filepath.Join(dir, "ds")},
		{"extract", "--run", filepath.Join(dir, "run"), "--out", csv},
		{"extract", "--run", filepath.Join(dir, "run"), "--out", foreign},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main(args, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "refusing") {
			t.Errorf("%v: exit %d, %s", args, code, stderr.String())
		}
		if b, err := os.ReadFile(csv); err != nil || string(b) != content {
			t.Fatalf("%v: %s is now %q (%v)", args, csv, b, err)
		}
		if b, err := os.ReadFile(filepath.Join(foreign, "thesis.tex")); err != nil || string(b) != "years of work" {
			t.Fatalf("%v: thesis.tex is now %q (%v)", args, b, err)
		}
		if ents, _ := os.ReadDir(foreign); len(ents) != 1 {
			t.Fatalf("%v: %s now holds %v", args, foreign, ents)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ds")); !os.IsNotExist(err) {
		t.Fatalf("a refused prepare left %s: %v", filepath.Join(dir, "ds"), err)
	}
}
