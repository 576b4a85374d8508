package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --help (and -h) prints the command's help on stdout, exits 0 and runs
// nothing, even when the rest of the command line would run the command.
func TestHelpRunsNothing(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	csv := filepath.Join(t.TempDir(), "in.csv") // outside dir: the one file that may exist
	if err := os.WriteFile(csv, []byte("1,2,3,pv,1511544070\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := [][]string{
		{"synth", "--out", "x.csv", "--preset", "tiny"},
		{"demo", "--preset", "tiny", "--dir", "d"},
		{"demo"},
		{"prepare", csv, "-o", "ds"},
		{"train", "--run", "run", "--data", "ds"},
		{"extract", "--run", "run", "--out", "emb"},
	}
	if len(commands()) < 10 {
		t.Fatalf("%d commands, want the 10 of the pipeline", len(commands()))
	}
	for _, c := range commands() {
		cases = append(cases, []string{c.name})
	}
	for _, args := range cases {
		for _, h := range []string{"--help", "-h"} {
			full := append(append([]string{}, args...), h)
			var stdout, stderr bytes.Buffer
			code := Main(full, &stdout, &stderr)
			if code != 0 {
				t.Errorf("nann %s: exit %d, want 0; stderr:\n%s", strings.Join(full, " "), code, stderr.String())
			}
			if want := "Usage: nann " + args[0]; !strings.HasPrefix(stdout.String(), want) {
				t.Errorf("nann %s: stdout does not start with %q:\n%s", strings.Join(full, " "), want, stdout.String())
			}
			if stderr.Len() != 0 {
				t.Errorf("nann %s: wrote to stderr:\n%s", strings.Join(full, " "), stderr.String())
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("nann %s created %s", strings.Join(full, " "), ents[0].Name())
			}
		}
	}
}

// nann with no arguments is a usage error: the full usage, listing every
// command, on stderr and exit 2 (as for any other usage error).
func TestNoArgumentsPrintsUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main(nil, &stdout, &stderr); code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q", stdout.String())
	}
	if !strings.HasPrefix(stderr.String(), "Usage: nann <command>") {
		t.Errorf("stderr lacks the usage line:\n%s", stderr.String())
	}
	for _, c := range commands() {
		if !strings.Contains(stderr.String(), "\n  "+c.name+" ") {
			t.Errorf("usage does not list %q:\n%s", c.name, stderr.String())
		}
	}
}

// A wrong flag is reported once, followed by the command's usage line and
// where to find its help; nothing runs and the exit code is 2.
func TestUnknownFlagPrintsCommandUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"synth", "--out", filepath.Join(dir, "x.csv"), "--bogus"}, "nann: unknown flag --bogus\n"},
		{[]string{"synth", "--out", filepath.Join(dir, "x.csv"), "--preset", "huge"}, `nann: --preset must be one of`},
		{[]string{"synth"}, "nann: missing flags: --out=STRING\n"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main(tc.args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, code, exitUsage)
		}
		se := stderr.String()
		if !strings.HasPrefix(se, tc.err) || strings.Count(se, "nann: ") != 1 {
			t.Errorf("%v: stderr does not start with %q (once):\n%s", tc.args, tc.err, se)
		}
		for _, want := range []string{"Usage: nann synth --out=STRING [flags]", `Run "nann synth --help"`} {
			if !strings.Contains(se, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, want, se)
			}
		}
		if stdout.Len() != 0 {
			t.Errorf("%v: stdout: %q", tc.args, stdout.String())
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a refused command line created %s", ents[0].Name())
	}
}

// A command's error is printed once, as "nann: …", not also as a log line;
// with --log-format json it is one JSON log record instead.
func TestRunErrorPrintedOnce(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-run")
	args := []string{"eval", "--run", missing, "--index", t.TempDir()}
	var stdout, stderr bytes.Buffer
	if code := Main(args, &stdout, &stderr); code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "nann: ") || !strings.Contains(lines[0], missing) {
		t.Errorf("stderr is not one \"nann: …\" line naming %s:\n%s", missing, stderr.String())
	}

	stderr.Reset()
	if code := Main(append([]string{"--log-format", "json"}, args...), &stdout, &stderr); code != exitFail {
		t.Fatalf("json: exit %d, want %d", code, exitFail)
	}
	lines = strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "{") || !strings.Contains(lines[0], `"level":"ERROR"`) {
		t.Errorf("json: stderr is not one JSON error record:\n%s", stderr.String())
	}
}
