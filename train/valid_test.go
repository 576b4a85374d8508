package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"nann/dataset"
	"nann/model"
)

func earlyConfig(run string) Config {
	c := smallConfig(testData, run)
	c.Epochs, c.EvalEvery, c.Patience, c.ValidUsers, c.ValidK = 4, 3, 3, 0, 20
	c.KeepCheckpoints = 100 // TestEarlyStoppingResumeAfterKill falls back to an older one
	return c
}

// curveOf is the validation curve without its timings.
func curveOf(t *testing.T, run string) []ValidRow {
	t.Helper()
	rows, err := readValid(filepath.Join(run, ValidFile))
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		rows[i].Seconds, rows[i].Time = 0, ""
	}
	return rows
}

func TestEarlyStopping(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	rep, err := Run(context.Background(), earlyConfig(run), Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := rep.Validation
	if v == nil || !v.StoppedEarly || rep.Training.Steps >= rep.Training.TotalSteps {
		t.Fatalf("did not stop early: %+v, %d of %d steps", v, rep.Training.Steps, rep.Training.TotalSteps)
	}
	curve := curveOf(t, run)
	if len(curve) != v.Evals || len(v.Curve) != v.Evals || v.BadEvals != 3 || curve[len(curve)-1].Step != rep.Training.Steps {
		t.Fatalf("curve of %d rows, state %+v, stopped at step %d", len(curve), v.EarlyState, rep.Training.Steps)
	}
	// The best row is the first with the highest recall; the three after it
	// did not improve on it; the result is its model.
	best := 0
	for i, r := range curve {
		if r.Step != int64(3*(i+1)) || r.Users != len(validUsers(mustOpen(t), 0)) || r.K != 20 {
			t.Fatalf("row %d: %+v", i, r)
		}
		if r.Recall > curve[best].Recall {
			best = i
		}
		if r.Best != (i == 0 || r.Recall > maxRecall(curve[:i])) {
			t.Fatalf("row %d: best flag %v, recall %g after a best of %g", i, r.Best, r.Recall, maxRecall(curve[:i]))
		}
	}
	if best != len(curve)-4 || v.BestStep != curve[best].Step || v.ResultStep != v.BestStep || v.BestRecall != curve[best].Recall {
		t.Fatalf("best row %d (step %d), state %+v, result step %d", best, curve[best].Step, v.EarlyState, v.ResultStep)
	}
	m, err := LoadModel(run)
	if err != nil {
		t.Fatal(err)
	}
	bestM, err := loadCheckpointModel(run, BestFile)
	if err != nil {
		t.Fatal(err)
	}
	sameParams(t, "model.ckpt vs best.ckpt", bestM, m)
	if _, err := os.Stat(filepath.Join(run, curvesFile)); err != nil {
		t.Fatal(err)
	}

	// Resumed as it is, the run stays stopped; with more patience it trains on.
	rep2, err := Run(context.Background(), Config{RunDir: run}, Options{})
	if err != nil || rep2.Training.Steps != rep.Training.Steps {
		t.Fatalf("resume of a stopped run: %v, %d steps, want %d", err, rep2.Training.Steps, rep.Training.Steps)
	}
	more := Config{RunDir: run, Patience: 100, MaxSteps: rep.Training.Steps + 6}
	rep3, err := Run(context.Background(), more, Options{Set: []string{"patience", "max_steps"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep3.Training.Steps != rep.Training.Steps+6 || rep3.Validation.StoppedEarly || rep3.Validation.Evals != v.Evals+2 {
		t.Fatalf("more patience: %d of %d steps, %+v", rep3.Training.Steps, rep3.Training.TotalSteps, rep3.Validation.EarlyState)
	}
}

func maxRecall(rows []ValidRow) float64 {
	m := -1.0
	for _, r := range rows {
		m = max(m, r.Recall)
	}
	return m
}

// A run killed after a validation but before the checkpoint that follows it
// (and after later steps) leaves best.ckpt and valid.jsonl ahead of its
// newest checkpoint. Resumed, it repeats those steps and validations and
// ends exactly where the uninterrupted run ends: the same curve, the same
// stop, the same result. So does a run interrupted during a validation.
func TestEarlyStoppingResumeAfterKill(t *testing.T) {
	ref := filepath.Join(t.TempDir(), "ref")
	want, err := Run(context.Background(), earlyConfig(ref), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantCurve := curveOf(t, ref)
	wantModel, err := LoadModel(ref)
	if err != nil {
		t.Fatal(err)
	}
	// The last validation that improved, and one step after it.
	var sb int64
	for _, r := range wantCurve {
		if r.Best {
			sb = r.Step
		}
	}
	if sb < 6 {
		t.Fatalf("best validation at step %d; the test wants an earlier checkpoint to fall back to", sb)
	}
	for _, cancelAt := range []int64{sb + 1, sb} {
		run := filepath.Join(t.TempDir(), "run")
		ctx, cancel := context.WithCancel(context.Background())
		stopAt := func(stage string, step, _ int64) {
			if stage == "train steps" && step == cancelAt {
				cancel()
			}
		}
		_, err := Run(ctx, earlyConfig(run), Options{Progress: stopAt})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel at %d: %v", cancelAt, err)
		}
		if cancelAt == sb {
			if !strings.Contains(err.Error(), "during the validation") {
				t.Fatalf("cancel during the validation at %d: %v", sb, err)
			}
		} else {
			// Simulate the kill: the checkpoints from the validation at sb on are gone.
			files, _ := listCheckpoints(run)
			for _, f := range files {
				var step int64
				if c, err := readCheckpoint(f); err == nil {
					step = c.Step
				}
				if step >= sb {
					os.Remove(f)
				}
			}
			if c, _, _ := newestCheckpoint(run, nil, nil); c == nil || c.Step >= sb || c.Early == nil {
				t.Fatalf("no earlier checkpoint with an early-stopping state to resume from: %+v", c)
			}
			if rows := curveOf(t, run); rows[len(rows)-1].Step != sb {
				t.Fatalf("valid.jsonl does not reach the validation at %d: %+v", sb, rows[len(rows)-1])
			}
		}
		got, err := Run(context.Background(), Config{RunDir: run}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Training.Steps != want.Training.Steps || got.Validation.EarlyState != want.Validation.EarlyState ||
			got.Validation.ResultStep != want.Validation.ResultStep || got.Validation.StoppedEarly != want.Validation.StoppedEarly {
			t.Fatalf("cancel at %d: resumed to step %d %+v, uninterrupted step %d %+v", cancelAt, got.Training.Steps, got.Validation, want.Training.Steps, want.Validation)
		}
		if c := curveOf(t, run); !slices.Equal(c, wantCurve) {
			t.Fatalf("cancel at %d: curve\n%+v\nuninterrupted\n%+v", cancelAt, c, wantCurve)
		}
		m, err := LoadModel(run)
		if err != nil {
			t.Fatal(err)
		}
		sameParams(t, "resumed result", wantModel, m)
	}
}

func TestValidationConfig(t *testing.T) {
	c := Default()
	c.Data, c.Patience = "x", 2
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "needs eval_every") {
		t.Fatalf("patience without eval_every: %v", err)
	}
	c.EvalEvery, c.ValidUsers, c.Patience = -1, -2, -3
	err := c.Validate()
	for _, want := range []string{"eval_every: -1", "valid_users: -2", "patience: -3"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	// valid_users fixes the validation subset: a resumed run may not change it.
	stored := Default()
	given := stored
	given.ValidUsers = 5
	if _, err := mergeResume(stored, given, []string{"valid_users"}); err == nil || !strings.Contains(err.Error(), "--valid-users=5") {
		t.Fatalf("valid_users change on resume: %v", err)
	}
}

func mustOpen(t *testing.T) *dataset.Dataset {
	t.Helper()
	ds, err := dataset.Open(testData, dataset.OpenOptions{NoVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

// loadCheckpointModel loads the parameters of RUN/name into the run's model.
func loadCheckpointModel(run, name string) (*model.Model, error) {
	mc, tc, err := ReadRunConfig(run)
	if err != nil {
		return nil, err
	}
	m, err := model.New(mc, tc.Seed)
	if err != nil {
		return nil, err
	}
	c, err := readCheckpoint(filepath.Join(run, name))
	if err != nil {
		return nil, err
	}
	return m, c.loadParams(m.Params(), m.State(), nil)
}
