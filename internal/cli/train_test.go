package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nann/internal/npy"
	"nann/train"
)

func runMain(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(append([]string{"--log-level", "warn"}, args...), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// runJSON runs nann with args (which ask for --json) and decodes its
// report into a T; a non-zero exit or a report that does not decode fails
// the test.
func runJSON[T any](t *testing.T, args ...string) T {
	t.Helper()
	out, e, c := runMain(t, args...)
	if c != 0 {
		t.Fatalf("nann %s: exit %d: %s", strings.Join(args, " "), c, e)
	}
	var rep T
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("nann %s: bad --json %q: %v", args[0], out, err)
	}
	return rep
}

// TestTrainExtractCommands runs synth → prepare → train → extract on a tiny
// world, then checks resume-flag conflicts.
func TestTrainExtractCommands(t *testing.T) {
	dir := t.TempDir()
	csv, data, run := filepath.Join(dir, "ub.csv"), filepath.Join(dir, "data"), filepath.Join(dir, "run")
	if _, e, c := runMain(t, "synth", "--preset", "tiny", "--users", "300", "--items", "500", "--out", csv); c != 0 {
		t.Fatalf("synth: %s", e)
	}
	if _, e, c := runMain(t, "prepare", "--out", data, csv); c != 0 {
		t.Fatalf("prepare: %s", e)
	}
	rep := runJSON[train.Report](t, "train", "--run", run, "--data", data, "--batch", "32", "--negatives", "4",
		"--max-steps", "6", "--checkpoint-every", "4", "--replicas", "2", "--eval-users", "30", "--json")
	if rep.Training.Steps != 6 || rep.Users < 1 || rep.Users > 30 || rep.Training.Config.Batch != 32 || len(rep.Recall) != 2 {
		t.Errorf("report %+v", rep)
	}
	if rep.Training.AdvShare <= 0 || rep.Training.LossXE <= 0 {
		t.Errorf("report lacks the adversarial share: adv_share %g, loss_xe %g", rep.Training.AdvShare, rep.Training.LossXE)
	}
	// Conflicting flag on resume names the flag; a mutable one is accepted.
	if _, e, c := runMain(t, "train", "--run", run, "--batch", "64"); c == 0 || !strings.Contains(e, "--batch=64") {
		t.Errorf("conflicting --batch accepted (exit %d): %s", c, e)
	}
	out, e, c := runMain(t, "train", "--run", run, "--max-steps", "8")
	if c != 0 || !strings.Contains(out, "Recall@200") || !strings.Contains(out, "adversarial term: adv_weight·loss_adv / loss_xe = ") {
		t.Fatalf("resume: exit %d\n%s\n%s", c, out, e)
	}
	if _, err := os.Stat(filepath.Join(run, "ckpt", "step-000000008.ckpt")); err != nil {
		t.Errorf("resumed run did not reach step 8: %v", err)
	}
	emb := filepath.Join(dir, "emb")
	if _, e, c := runMain(t, "extract", "--run", run, "--out", emb); c != 0 {
		t.Fatalf("extract: %s", e)
	}
	_, shape, err := npy.Read[float32](filepath.Join(emb, "item_embs.npy"))
	if err != nil || len(shape) != 2 || shape[1] != 64 || shape[0] != rep.Items {
		t.Errorf("item_embs.npy shape %v (want %d×64): %v", shape, rep.Items, err)
	}
}

// TestDemoProfileBeatsPopularity is the acceptance check: on the
// `small` synthetic world, `--profile demo` must reach brute-force Recall@50
// and Recall@200 of at least twice the popularity baseline's. It takes about
// 5 minutes on 2 cores, so it runs only with NANN_LONG=1.
func TestDemoProfileBeatsPopularity(t *testing.T) {
	if os.Getenv("NANN_LONG") != "1" {
		t.Skip("set NANN_LONG=1 to train the demo profile on the small world (~5 min)")
	}
	dir := t.TempDir()
	csv, data, run := filepath.Join(dir, "small.csv"), filepath.Join(dir, "small"), filepath.Join(dir, "run")
	if _, e, c := runMain(t, "synth", "--preset", "small", "--out", csv); c != 0 {
		t.Fatalf("synth: %s", e)
	}
	if _, e, c := runMain(t, "prepare", "--out", data, csv); c != 0 {
		t.Fatalf("prepare: %s", e)
	}
	rep := runJSON[train.Report](t, "train", "--run", run, "--data", data, "--profile", "demo", "--json")
	for _, k := range train.RecallKs {
		t.Logf("Recall@%d: model %.4f, popularity %.4f", k, rep.Recall[k], rep.Popularity[k])
		if rep.Recall[k] < 2*rep.Popularity[k] {
			t.Errorf("Recall@%d %.4f is below twice popularity's %.4f", k, rep.Recall[k], rep.Popularity[k])
		}
	}
}
