package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nann/eval"
)

func sweepCSV(t *testing.T, path string, shift float64) {
	t.Helper()
	f := func(x float64) *float64 { return &x }
	var pts []eval.Point
	for i, frac := range []float64{0.004, 0.01, 0.02, 0.05} {
		for _, m := range []string{eval.MethodBeam, eval.MethodSL2G} {
			pts = append(pts, eval.Point{Beam: m + string(rune('a'+i)), Method: m, K: 200, Queries: 100, Items: 1000,
				Recall: 0.2 + frac + shift, RecallSE: 0.01, ExactRecall: f(0.3), ExactRecallSE: f(0.01),
				Coverage: f(0.5 + 5*frac), CoverageSE: f(0.02), GapSE: f(0.005), ScoredMean: 1000 * frac, ScoredFraction: frac})
		}
	}
	var b bytes.Buffer
	if err := eval.WritePointsCSV(&b, pts); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPlotCommand(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	sweepCSV(t, a, 0)
	sweepCSV(t, b, 0.02)
	out := filepath.Join(dir, "fig.png")
	stdout, stderr, code := runMain(t, "plot", "--csv", "eps 0, no FGSM="+a, "--csv", "eps 3e-4="+b, "--out", out, "--k", "200", "--min-pct", "0.5", "--max-pct", "3")
	if code != 0 || !strings.Contains(stdout, "2 runs") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	png, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("no PNG: %v", err)
	}
	// A figure may replace a PNG, not any other file; bad CSVs are named.
	if _, _, err := runMainErr("plot", "--csv", a, "--out", a); !strings.Contains(err, "not a PNG") {
		t.Errorf("--out over a CSV: %s", err)
	}
	if _, _, err := runMainErr("plot", "--csv", out, "--out", filepath.Join(dir, "x.png")); !strings.Contains(err, "fig.png") {
		t.Errorf("a PNG as --csv: %s", err)
	}
	if _, _, err := runMainErr("plot", "--csv", a, "--out", filepath.Join(dir, "x.png"), "--k", "50"); !strings.Contains(err, "no point left") {
		t.Errorf("no point at k 50: %s", err)
	}
}

func runMainErr(args ...string) (string, int, string) {
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	return stdout.String(), code, stderr.String()
}
