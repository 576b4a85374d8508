package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInt8Flags: `nann export --precision int8` writes a bundle whose
// manifest says int8, `nann eval --int8` evaluates a trained run with int8
// tables, and --int8 with an imported model is refused, naming the flag.
func TestInt8Flags(t *testing.T) {
	run, index := exportPipeline(t)
	base := t.TempDir()
	out, e, code := runMain(t, "export", "--run", run, "--index", index, "--base", base, "--precision", "int8", "--json")
	if code != 0 {
		t.Fatalf("export --precision int8: exit %d\n%s", code, e)
	}
	var rep struct {
		Manifest struct {
			Precision string `json:"precision"`
		} `json:"manifest"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Manifest.Precision != "int8" {
		t.Fatalf("export manifest precision %q (%v), want int8\n%s", rep.Manifest.Precision, err, out)
	}
	out, e, code = runMain(t, "eval", "--run", run, "--index", index, "--int8", "--users", "20", "--json")
	if code != 0 || !strings.Contains(out, "recall") {
		t.Fatalf("eval --int8: exit %d\n%s%s", code, out, e)
	}
	queries := filepath.Join(t.TempDir(), "users.npz")
	if err := os.WriteFile(queries, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, e, code = runMain(t, "eval", "--bundle", base, "--queries", queries, "--int8")
	if code == 0 || !strings.Contains(e, "--int8") {
		t.Fatalf("eval --bundle --int8: exit %d, stderr %q; want a refusal naming --int8", code, e)
	}
}
