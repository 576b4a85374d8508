package train

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"nann/model"
)

func smallConfig(data, run string) Config {
	c := Default()
	c.Data, c.RunDir = data, run
	c.Seed, c.Epochs, c.Batch, c.Negatives, c.Replicas = 7, 2, 32, 8, 2
	c.CheckpointEvery, c.LogEvery, c.KeepCheckpoints = 5, 5, 2
	return c
}

var testData string

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if run := os.Getenv("NANN_TRAIN_HELPER_RUN"); run != "" {
		// Subprocess mode for TestResumeAfterSIGKILL: train, slowly after
		// step 10 so that the parent's kill lands well before the end.
		slow := func(stage string, step, _ int64) {
			if stage == "train steps" && step >= 10 {
				time.Sleep(200 * time.Millisecond)
			}
		}
		if _, err := Run(context.Background(), smallConfig(os.Getenv("NANN_TRAIN_HELPER_DATA"), run), Options{Progress: slow}); err != nil {
			os.Exit(3)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "nann-train-test-")
	if err != nil {
		panic(err)
	}
	testData = filepath.Join(dir, "data")
	if err := makeDataset(testData, 160, 300, 1); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func paramsOf(t *testing.T, m *model.Model) [][]float32 {
	t.Helper()
	var out [][]float32
	for _, p := range append(m.Params(), m.State()...) {
		out = append(out, p.W)
	}
	return out
}

// resumeSame resumes the run in dir from its directory alone, as
// `nann train --run DIR` does, with opt, and checks that the finished model
// has ref's parameters (what names the case).
func resumeSame(t *testing.T, what, dir string, opt Options, ref *model.Model) {
	t.Helper()
	if _, err := Run(context.Background(), Config{RunDir: dir}, opt); err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	sameParams(t, what, ref, m)
}

func sameParams(t *testing.T, what string, a, b *model.Model) {
	t.Helper()
	pa, pb := paramsOf(t, a), paramsOf(t, b)
	names := append(a.Params(), a.State()...)
	for i := range pa {
		if !slices.Equal(pa[i], pb[i]) {
			t.Fatalf("%s: tensor %s differs", what, names[i].Name)
		}
	}
}

// reference trains uninterrupted once per test binary.
func reference(t *testing.T) *model.Model {
	t.Helper()
	run := filepath.Join(t.TempDir(), "ref")
	rep, err := Run(context.Background(), smallConfig(testData, run), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Training.Steps != rep.Training.TotalSteps || rep.Training.Steps == 0 {
		t.Fatalf("trained %d of %d steps", rep.Training.Steps, rep.Training.TotalSteps)
	}
	for _, f := range []string{"config.json", "metrics.jsonl", "curves.png", "model.ckpt", "report.json"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Errorf("run dir lacks %s", f)
		}
	}
	m, err := LoadModel(run)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestResumeAfterCancelIsBitIdentical(t *testing.T) {
	ref := reference(t)
	run := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	// The progress callback runs after each step on the training goroutine.
	cancelAt13 := func(stage string, step, _ int64) {
		if stage == "train steps" && step == 13 {
			cancel()
		}
	}
	_, err := Run(ctx, smallConfig(testData, run), Options{Progress: cancelAt13})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(run, ckptDir, ckptName(13))); err != nil {
		t.Fatalf("no checkpoint at the cancelled step: %v", err)
	}
	// Resume with only the run directory, as `nann train --run DIR` does.
	resumeSame(t, "cancel at step 13 + resume", run, Options{}, ref)
}

func TestResumeAfterSIGKILL(t *testing.T) {
	ref := reference(t)
	run := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NANN_TRAIN_HELPER_RUN="+run, "NANN_TRAIN_HELPER_DATA="+testData)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(run, ckptDir, ckptName(10))
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(want); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("helper wrote no checkpoint at step 10")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a step or two past the checkpoint
	cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("helper was not killed mid-run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(run, modelFile)); err == nil {
		t.Fatal("helper finished before the kill")
	}
	resumeSame(t, "SIGKILL after step 10 + resume", run, Options{}, ref)
}

func TestResumeConflictAndCorruptFallback(t *testing.T) {
	ref := reference(t)
	run := filepath.Join(t.TempDir(), "run")
	cfg := smallConfig(testData, run)
	cfg.MaxSteps = 12
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatal(err)
	}
	// Conflicting flag on resume.
	bad := Config{RunDir: run, Batch: 64}
	if _, err := Run(context.Background(), bad, Options{Set: []string{"batch"}}); err == nil || !strings.Contains(err.Error(), "--batch=64") {
		t.Fatalf("conflict: %v", err)
	}
	// Corrupt the newest checkpoint (step 12); step 10 must be used.
	newest := filepath.Join(run, ckptDir, ckptName(12))
	b, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	os.WriteFile(newest, b, 0o644)
	// Lift the step bound (a mutable field) and finish.
	resumeSame(t, "corrupt newest checkpoint + resume", run, Options{Set: []string{"max_steps"}}, ref)
}

func TestBatchTooLargeForCorpus(t *testing.T) {
	cfg := smallConfig(testData, filepath.Join(t.TempDir(), "run"))
	cfg.Batch, cfg.Negatives = 100, 50
	_, err := Run(context.Background(), cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), "--negatives") {
		t.Fatalf("got %v", err)
	}
	// Nothing was recorded, so a retry may pick other settings.
	if _, err := os.Stat(filepath.Join(cfg.RunDir, configFile)); err == nil {
		t.Fatal("an infeasible run left a config.json behind")
	}
	cfg.Negatives = 2
	if _, err := Run(context.Background(), cfg, Options{}); err != nil {
		t.Fatalf("retry with fewer negatives: %v", err)
	}
}
