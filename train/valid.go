package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"nann/dataset"
	"nann/engine"
	"nann/eval"
	"nann/internal/meter"
	"nann/internal/parallel"
	"nann/internal/safefile"
	"nann/model"
	"nann/query"
)

// ValidK is the default cut-off of the validation recall that early
// stopping watches (the reference's Recall@200; Config.ValidK overrides it).
const ValidK = 200

// validK is the cut-off used: cfg.ValidK (ValidK if 0), at most the corpus.
func validK(cfg Config, numItems int) int {
	k := cfg.ValidK
	if k == 0 {
		k = ValidK
	}
	return min(k, numItems)
}

// Files of the validation curve and the best model in a run directory.
const (
	// ValidFile is RUN/valid.jsonl: one ValidRow per validation.
	ValidFile = "valid.jsonl"
	// BestFile is RUN/best.ckpt: the model with the best validation recall
	// so far (parameters and BatchNorm state, like model.ckpt).
	BestFile = "best.ckpt"
)

// ValidRow is one validation of the model during training.
type ValidRow struct {
	Step     int64   `json:"step"`
	Epoch    float64 `json:"epoch"`
	Users    int     `json:"users"`
	K        int     `json:"k"`
	Recall   float64 `json:"recall"`    // brute-force Recall@K on the validation users
	RecallSE float64 `json:"recall_se"` // its standard error over users
	// Best is whether this validation improved on every earlier one (it
	// then became RUN/best.ckpt); BadEvals counts those since the last
	// improvement, including this one.
	Best     bool    `json:"best"`
	BadEvals int     `json:"bad_evals"`
	Seconds  float64 `json:"seconds"`
	Time     string  `json:"time"`
}

// EarlyState is early stopping's state. Checkpoints carry it, so that a
// killed run resumes with the best recall and the patience count of the
// step it resumes from.
type EarlyState struct {
	Evals      int     `json:"evals"`       // validations so far
	BestStep   int64   `json:"best_step"`   // step of the best validation (RUN/best.ckpt)
	BestRecall float64 `json:"best_recall"` // its recall
	BestSE     float64 `json:"best_se"`
	BadEvals   int     `json:"bad_evals"` // validations in a row without improvement
}

// stopped reports whether patience has run out.
func (e *EarlyState) stopped(patience int) bool { return patience > 0 && e.BadEvals >= patience }

// ValidationSummary is the validation part of a report.
type ValidationSummary struct {
	K         int   `json:"k"`
	Users     int   `json:"users"`
	EvalEvery int64 `json:"eval_every"`
	Patience  int   `json:"patience"`
	EarlyState
	// StoppedEarly is whether patience ran out before the last step.
	StoppedEarly bool `json:"stopped_early"`
	// ResultStep is the step of the parameters in model.ckpt (the best
	// validation's, when RUN/best.ckpt matches the state).
	ResultStep int64      `json:"result_step"`
	Curve      []ValidRow `json:"curve"`
}

// validUsers is the fixed validation subset: the first n validation samples (0: all).
func validUsers(ds *dataset.Dataset, n int) []dataset.Sample {
	v := ds.Valid
	if n > 0 && len(v) > n {
		v = v[:n]
	}
	return v
}

// validRecall is brute-force Recall@k of m on the validation samples and
// its standard error over users. It scores with the compiled engine (float32
// tables, 5–8× the plain forward's items/s: a validation during training
// must be cheap), which agrees with the plain forward to rounding.
func validRecall(ctx context.Context, m *model.Model, ds *dataset.Dataset, samples []dataset.Sample, k int) (float64, float64, error) {
	e, err := CompileEngine(m, ds, engine.Options{})
	if err != nil {
		return 0, 0, err
	}
	defer e.Close()
	pm := query.Engine(e)
	queries := eval.Queries(query.FromSamples(ds, samples))
	r, err := eval.BruteForce(ctx, eval.Config{Ks: []int{k}, Workers: parallel.Workers(0)}, queries, pm)
	if err != nil {
		return 0, 0, err
	}
	p, n := r[0], float64(len(samples))
	se := 0.0
	if n > 1 {
		se = math.Sqrt(p * (1 - p) / (n - 1)) // the sample standard deviation of 0/1 hits over √n
	}
	return p, se, nil
}

// validate evaluates the current model on the validation subset, updates
// the early-stopping state, writes RUN/best.ckpt on an improvement and
// appends the row to RUN/valid.jsonl.
func (t *trainer) validate(ctx context.Context) error {
	start := time.Now()
	samples := validUsers(t.ds, t.cfg.ValidUsers)
	k := validK(t.cfg, t.ds.Meta.NumItems)
	rec, se, err := validRecall(ctx, t.m, t.ds, samples, k)
	if err != nil {
		return fmt.Errorf("validation at step %d: %w", t.pos.Step, err)
	}
	e := &t.early
	best := e.Evals == 0 || rec > e.BestRecall
	if best {
		meta := ckptMeta{Position: t.pos, Replicas: t.cfg.Replicas}
		if err := writeCheckpoint(filepath.Join(t.cfg.RunDir, BestFile), meta, modelTensors(t.m.Params(), t.m.State(), nil)); err != nil {
			return err
		}
		e.BestStep, e.BestRecall, e.BestSE, e.BadEvals = t.pos.Step, rec, se, 0
	} else {
		e.BadEvals++
	}
	e.Evals++
	row := ValidRow{Step: t.pos.Step, Epoch: float64(t.pos.Step) / float64(t.stepsPerEpoch), Users: len(samples), K: k,
		Recall: rec, RecallSE: se, Best: best, BadEvals: e.BadEvals, Seconds: time.Since(start).Seconds(),
		Time: time.Now().UTC().Format(time.RFC3339)}
	if err := appendValid(filepath.Join(t.cfg.RunDir, ValidFile), row); err != nil {
		return err
	}
	t.log.Info("validation", "step", row.Step, "users", row.Users, "k", k, "recall", f4(rec), "se", f4(se), "best", best,
		"best_step", e.BestStep, "best_recall", f4(e.BestRecall), "bad_evals", e.BadEvals, "patience", t.cfg.Patience, "seconds", f4(row.Seconds))
	return nil
}

// truncateValid drops the rows of RUN/valid.jsonl past step (validations an
// earlier session ran after its last checkpoint; the resumed run repeats
// them) and a torn last line.
func truncateValid(path string, step int64, log *slog.Logger) error {
	rows, err := readValid(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		meter.Logger(log).Warn("validation curve damaged; keeping the rows before the damage", "file", path, "err", err, "rows", len(rows))
	}
	var buf bytes.Buffer
	for _, r := range rows {
		if r.Step <= step {
			b, _ := json.Marshal(r)
			buf.Write(append(b, '\n'))
		}
	}
	return safefile.WriteBytes(path, buf.Bytes())
}

func appendValid(path string, r ValidRow) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// readValid reads RUN/valid.jsonl (readJSONL's rules).
func readValid(path string) ([]ValidRow, error) { return readJSONL[ValidRow](path) }

// useBest loads RUN/best.ckpt into the model if it is the one the state
// names, and returns the step of the parameters the model now holds.
func (t *trainer) useBest() int64 {
	if t.early.Evals == 0 {
		return t.pos.Step
	}
	path := filepath.Join(t.cfg.RunDir, BestFile)
	c, err := readCheckpoint(path)
	if err == nil && c.Step != t.early.BestStep {
		err = fmt.Errorf("it holds step %d, the validation state's best is step %d", c.Step, t.early.BestStep)
	}
	if err == nil {
		err = c.loadParams(t.m.Params(), t.m.State(), nil)
	}
	if err != nil {
		t.log.Warn("cannot use the best validation model; the result is the last step's", "file", path, "err", err, "step", t.pos.Step)
		return t.pos.Step
	}
	if c.Step != t.pos.Step {
		t.log.Info("the result is the best validation model", "step", c.Step, "recall", f4(t.early.BestRecall), "last_step", t.pos.Step)
	}
	return c.Step
}

func (t *trainer) validationSummary(resultStep int64) *ValidationSummary {
	if t.cfg.EvalEvery == 0 && t.early.Evals == 0 {
		return nil
	}
	rows, _ := readValid(filepath.Join(t.cfg.RunDir, ValidFile))
	s := &ValidationSummary{K: validK(t.cfg, t.ds.Meta.NumItems), Users: len(validUsers(t.ds, t.cfg.ValidUsers)),
		EvalEvery: t.cfg.EvalEvery, Patience: t.cfg.Patience, EarlyState: t.early,
		StoppedEarly: t.early.stopped(t.cfg.Patience) && t.pos.Step < t.totalSteps, ResultStep: resultStep, Curve: rows}
	return s
}
