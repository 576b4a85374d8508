package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSynthCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "ub.csv")
	var stdout, stderr bytes.Buffer
	args := []string{"--log-level", "warn", "synth", "--preset", "tiny", "--users", "120", "--seed", "7", "--out", out, "--json"}
	if code := Main(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rep synthReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stats.Users != 120 || rep.Config.Seed != 7 || int64(len(data)) != rep.Stats.Bytes ||
		int64(strings.Count(string(data), "\n")) != rep.Stats.Rows {
		t.Errorf("report %+v does not match the %d-byte file", rep, len(data))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left %d files in the output directory, want 1", len(entries))
	}
}

func TestSynthCommandBadFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"synth", "--preset", "tiny", "--users=-3", "--interests", "100000", "--out", filepath.Join(t.TempDir(), "x.csv")}
	if code := Main(args, &stdout, &stderr); code == 0 {
		t.Fatal("accepted negative users")
	}
	for _, want := range []string{"users = -3", "interests = 100000"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}
