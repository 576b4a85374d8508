package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"nann/dataset"
	"nann/internal/meter"
	"nann/internal/parallel"
	"nann/internal/safefile"
	"nann/model"
	"nann/nn"
)

// runFile is RUN/config.json.
type runFile struct {
	Format  string       `json:"format"`  // "nann-run"
	Version int          `json:"version"` // 1
	Model   model.Config `json:"model"`
	Train   Config       `json:"train"`
}

const (
	runFormat  = "nann-run"
	configFile = "config.json"
	modelFile  = "model.ckpt"
)

// Options are the inputs of Run beyond the configuration.
type Options struct {
	// Set lists the json names of the Config fields the user gave
	// explicitly; on resume only these are compared with config.json.
	Set []string
	// NoVerify skips the dataset's payload checksums when it is opened
	// (dataset.OpenOptions.NoVerify); by default they are checked.
	NoVerify bool
	// Log receives the progress messages and warnings (nil: none).
	Log *slog.Logger
	// Progress, if not nil, is called with stage "train steps" after each
	// step, "item embeddings" and "evaluate users" during the final
	// evaluation, with the units done and in all; it may be called from
	// several goroutines at once.
	Progress meter.Func
}

// Run trains (or resumes) the run in cfg.RunDir and evaluates the result.
// A new run needs cfg.Data; an existing one continues from its newest
// valid checkpoint. On cancellation it writes a checkpoint and returns the
// context's error.
func Run(ctx context.Context, cfg Config, opt Options) (*Report, error) {
	log := meter.Logger(opt.Log)
	rf, err := openRun(cfg, opt.Set, log)
	if err != nil {
		return nil, err
	}
	ds, err := dataset.Open(rf.Train.Data, dataset.OpenOptions{NoVerify: opt.NoVerify})
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	t, err := newTrainer(rf, ds, log, opt.Progress)
	if err != nil {
		return nil, err
	}
	if err := t.train(ctx); err != nil {
		return nil, err
	}
	t.resultStep = t.useBest()
	if err := t.finish(); err != nil {
		return nil, err
	}
	rep, err := evaluate(ctx, t.m, ds, rf.Train.EvalUsers, opt.Progress)
	if err != nil {
		return nil, err
	}
	rep.Training = t.summary()
	rep.Validation = t.validationSummary(t.resultStep)
	if err := writeJSON(filepath.Join(cfg.RunDir, ReportFile), rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// RunKind recognises a run directory (config.json): an existing --run
// must be one (resumed) or be empty.
var RunKind = safefile.Kind{Name: "training run", Markers: []string{configFile}}

// openRun creates the run directory and its config.json, or reads an
// existing one and merges cfg into it. An existing path that is not a run
// directory (a file, a non-empty directory without config.json) is refused.
func openRun(cfg Config, set []string, log *slog.Logger) (*runFile, error) {
	if cfg.RunDir == "" {
		return nil, errors.New("no run directory")
	}
	if err := safefile.CheckOut(filepath.Clean(cfg.RunDir), RunKind); err != nil {
		return nil, fmt.Errorf("--run: %w", err)
	}
	// Temporary files of an interrupted earlier session (checkpoints,
	// metrics, model): the run directory is ours, so any of our naming.
	for _, d := range []string{cfg.RunDir, filepath.Join(cfg.RunDir, ckptDir)} {
		if _, err := safefile.CleanStale(d, "", log); err != nil {
			log.Warn("cannot remove stale temporaries", "dir", d, "err", err)
		}
	}
	path := filepath.Join(cfg.RunDir, configFile)
	b, err := os.ReadFile(path)
	if err == nil {
		var rf runFile
		if err := json.Unmarshal(b, &rf); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if rf.Format != runFormat || rf.Version != 1 {
			return nil, fmt.Errorf("%s: format %q version %d, want %q version 1", path, rf.Format, rf.Version, runFormat)
		}
		merged, err := mergeResume(rf.Train, cfg, set)
		if err != nil {
			return nil, fmt.Errorf("resume %s: %w", cfg.RunDir, err)
		}
		if err := merged.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if merged != rf.Train {
			rf.Train = merged
			if err := writeJSON(path, &rf); err != nil {
				return nil, err
			}
		}
		rf.Train.RunDir = cfg.RunDir
		log.Info("resuming run", "run", cfg.RunDir, "data", rf.Train.Data)
		return &rf, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if cfg.Data == "" {
		return nil, fmt.Errorf("%s has no %s: a new run needs a dataset (--data)", cfg.RunDir, configFile)
	}
	cfg.resolve()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Sizes only: Run verifies the checksums when it opens the data to train.
	ds, err := dataset.Open(cfg.Data, dataset.OpenOptions{NoVerify: true})
	if err != nil {
		return nil, err
	}
	mc := modelConfig(ds.Meta)
	err = feasible(cfg, ds)
	ds.Close()
	if err != nil { // before config.json exists, so that a retry may change any flag
		return nil, err
	}
	if err := mc.Validate(); err != nil {
		return nil, fmt.Errorf("model config for %s: %w", cfg.Data, err)
	}
	// config.json first: from then on the directory is recognisably a run.
	if err := os.MkdirAll(cfg.RunDir, 0o755); err != nil {
		return nil, err
	}
	rf := &runFile{Format: runFormat, Version: 1, Model: mc, Train: cfg}
	if err := writeJSON(path, rf); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.RunDir, ckptDir), 0o755); err != nil {
		return nil, err
	}
	log.Info("new run", "run", cfg.RunDir, "data", cfg.Data, "profile", cfg.Profile, "replicas", cfg.Replicas)
	return rf, nil
}

// modelConfig is the reference model sized for a dataset.
func modelConfig(m dataset.Meta) model.Config {
	mc := model.Default()
	mc.NumItems, mc.NumCates, mc.SeqLen = m.NumItems, m.NumCates, m.SeqLen
	return mc
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return safefile.WriteBytes(path, append(b, '\n'))
}

// trainer is one training session over a run.
type trainer struct {
	rf      *runFile
	cfg     Config
	ds      *dataset.Dataset
	m       *model.Model
	workers []*model.Worker
	opt     *AdamW
	sampler *Sampler
	src     *rand.PCG
	rng     *rand.Rand
	pos     Position

	stepsPerEpoch, totalSteps int64
	perm                      []uint32
	permEpoch                 int

	batch  model.Batch
	shards []model.Batch
	negs   []int32
	log1mp []float64 // log1p(−p) per dense id

	metrics     *metricsLog
	early       EarlyState // validation and early stopping (valid.go)
	resultStep  int64      // step of the parameters finish writes
	startStep   int64
	startTime   time.Time
	trainTime   time.Duration
	checkpoints int

	// Time spent this session in batch assembly and sampling, in the
	// workers' forward/backward, and in the gradient sum + AdamW + BN update.
	timeFill, timeWorkers, timeUpdate time.Duration

	log      *slog.Logger
	progress meter.Func
}

func newTrainer(rf *runFile, ds *dataset.Dataset, log *slog.Logger, progress meter.Func) (*trainer, error) {
	cfg := rf.Train
	mc := modelConfig(ds.Meta)
	if mc.NumItems != rf.Model.NumItems || mc.NumCates != rf.Model.NumCates || mc.SeqLen != rf.Model.SeqLen {
		return nil, fmt.Errorf("dataset %s has %d items, %d categories, max length %d; the run's model was made for %d, %d, %d",
			cfg.Data, mc.NumItems, mc.NumCates, mc.SeqLen, rf.Model.NumItems, rf.Model.NumCates, rf.Model.SeqLen)
	}
	t := &trainer{rf: rf, cfg: cfg, ds: ds, permEpoch: -1, log: meter.Logger(log), progress: progress}
	n := int64(len(ds.Train))
	if cfg.MaxSamples > 0 {
		n = min(n, cfg.MaxSamples)
	}
	t.stepsPerEpoch = n / int64(cfg.Batch)
	if err := feasible(cfg, ds); err != nil {
		return nil, err
	}
	if cfg.EvalEvery > 0 && len(ds.Valid) == 0 {
		return nil, fmt.Errorf("eval_every %d: dataset %s has no validation users", cfg.EvalEvery, cfg.Data)
	}
	t.totalSteps = t.stepsPerEpoch * int64(cfg.Epochs)
	if cfg.MaxSteps > 0 {
		t.totalSteps = min(t.totalSteps, cfg.MaxSteps)
	}
	var err error
	if t.sampler, err = NewSampler(ds.ItemWeight); err != nil {
		return nil, fmt.Errorf("dataset %s item_weight.npy: %w", cfg.Data, err)
	}
	t.log1mp = make([]float64, len(ds.ItemWeight))
	for i := range t.log1mp {
		t.log1mp[i] = math.Log1p(-t.sampler.Prob(int32(i)))
	}
	if err := t.restore(); err != nil {
		return nil, err
	}
	t.allocBatch()
	return t, nil
}

// feasible checks that the dataset can supply the configured steps: one
// batch of samples per epoch and Batch×Negatives distinct negatives.
func feasible(cfg Config, ds *dataset.Dataset) error {
	n := int64(len(ds.Train))
	if cfg.MaxSamples > 0 {
		n = min(n, cfg.MaxSamples)
	}
	if n < int64(cfg.Batch) {
		return fmt.Errorf("dataset %s: %d training samples (max_samples %d) do not fill one batch of %d; use a smaller --batch", cfg.Data, len(ds.Train), cfg.MaxSamples, cfg.Batch)
	}
	support := 0
	for _, w := range ds.ItemWeight.Rows() {
		if w > 0 {
			support++
		}
	}
	if need := cfg.Batch * cfg.Negatives; need > support {
		return fmt.Errorf("batch×negatives = %d×%d = %d distinct negatives per step, but dataset %s has only %d items that can be sampled; use smaller --batch / --negatives (e.g. --profile demo)",
			cfg.Batch, cfg.Negatives, need, cfg.Data, support)
	}
	return nil
}

// fresh initialises model, optimiser, RNG and position for step 0.
func (t *trainer) fresh() error {
	m, err := model.New(t.rf.Model, t.cfg.Seed)
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	t.m = m
	t.opt = NewAdamW(t.cfg, m.Params())
	t.src = rand.NewPCG(t.cfg.Seed, 0x5a3b1e)
	t.rng = rand.New(t.src)
	t.pos = Position{ShuffleSeed: t.cfg.Seed*0x9e3779b97f4a7c15 + 0x2545f4914f6cdd1d}
	return nil
}

// restore loads the newest usable checkpoint, or starts fresh.
func (t *trainer) restore() error {
	if err := t.fresh(); err != nil {
		return err
	}
	c, path, err := newestCheckpoint(t.cfg.RunDir, t.log, func(c *Checkpoint) error {
		if c.Replicas != t.cfg.Replicas {
			return fmt.Errorf("written with %d replicas, the run has %d", c.Replicas, t.cfg.Replicas)
		}
		if c.Step > t.stepsPerEpoch*int64(t.cfg.Epochs) {
			return fmt.Errorf("step %d is past the run's %d steps", c.Step, t.stepsPerEpoch*int64(t.cfg.Epochs))
		}
		return c.loadParams(t.m.Params(), t.m.State(), t.opt)
	})
	if err != nil {
		return err
	}
	if c == nil {
		files, _ := listCheckpoints(t.cfg.RunDir)
		if len(files) > 0 {
			t.log.Warn("no usable checkpoint, starting from step 0", "run", t.cfg.RunDir)
			return t.fresh()
		}
		return nil
	}
	if err := t.src.UnmarshalBinary(c.RNG); err != nil {
		return fmt.Errorf("%s: RNG state: %w", path, err)
	}
	t.opt.Step = c.Step
	t.pos = c.Position
	if c.Early != nil {
		t.early = *c.Early
	}
	t.log.Info("resumed from checkpoint", "file", path, "step", c.Step, "epoch", c.Epoch)
	return nil
}

func (t *trainer) allocBatch() {
	B, L, C := t.cfg.Batch, t.rf.Model.SeqLen, t.cfg.Negatives+1
	t.batch = model.Batch{B: B, L: L, C: C,
		HistItems: make([]int32, B*L), HistCates: make([]int32, B*L),
		CandItems: make([]int32, B*C), CandCates: make([]int32, B*C), LogQ: make([]float32, B*C)}
	t.negs = make([]int32, B*t.cfg.Negatives)
	R := t.cfg.Replicas
	t.shards = make([]model.Batch, R)
	t.workers = make([]*model.Worker, R)
	for r := range R {
		lo, hi := r*B/R, (r+1)*B/R
		t.shards[r] = model.Batch{B: hi - lo, L: L, C: C,
			HistItems: t.batch.HistItems[lo*L : hi*L], HistCates: t.batch.HistCates[lo*L : hi*L],
			CandItems: t.batch.CandItems[lo*C : hi*C], CandCates: t.batch.CandCates[lo*C : hi*C], LogQ: t.batch.LogQ[lo*C : hi*C]}
		t.workers[r] = t.m.NewWorker()
	}
}

// epochPerm returns the sample order of epoch e: a Fisher–Yates shuffle
// of all training samples with PCG(ShuffleSeed, e).
func (t *trainer) epochPerm(e int) []uint32 {
	if t.permEpoch == e {
		return t.perm
	}
	n := len(t.ds.Train)
	if cap(t.perm) < n {
		t.perm = make([]uint32, n)
	}
	p := t.perm[:n]
	for i := range p {
		p[i] = uint32(i)
	}
	r := rand.New(rand.NewPCG(t.pos.ShuffleSeed, uint64(e)))
	for i := n - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	t.perm, t.permEpoch = p, e
	return p
}

// fillBatch builds the batch of step s (0-based, global).
func (t *trainer) fillBatch(s int64) error {
	e, k := int(s/t.stepsPerEpoch), s%t.stepsPerEpoch
	perm := t.epochPerm(e)
	B, L, C, N := t.cfg.Batch, t.batch.L, t.batch.C, t.cfg.Negatives
	tries, err := t.sampler.SampleUnique(t.rng, t.negs)
	if err != nil {
		return fmt.Errorf("step %d: %w; use smaller --batch / --negatives", s, err)
	}
	logQ := func(id int32) float32 {
		c := -math.Expm1(float64(tries) * t.log1mp[id])
		return float32(math.Log(max(c, 1e-30)))
	}
	b := &t.batch
	for i := range B {
		smp := t.ds.Train[perm[k*int64(B)+int64(i)]]
		t.ds.Fill(smp, b.HistItems[i*L:(i+1)*L], b.HistCates[i*L:(i+1)*L])
		it, ct := t.ds.Target(smp)
		b.CandItems[i*C], b.CandCates[i*C], b.LogQ[i*C] = int32(it), ct, logQ(int32(it))
		for j := range N {
			id := t.negs[i*N+j]
			b.CandItems[i*C+1+j], b.CandCates[i*C+1+j], b.LogQ[i*C+1+j] = id, t.ds.ItemCate[id], logQ(id)
		}
	}
	return nil
}

// stepStats sums the workers' statistics of one step.
type stepStats struct {
	loss, lossXE, lossAdv float64 // sums over samples
	correct, correctNo, n int
}

func (a *stepStats) add(s model.StepStats) {
	a.loss += s.Loss * float64(s.N)
	a.lossXE += s.LossXE * float64(s.N)
	a.lossAdv += s.LossAdv * float64(s.N)
	a.correct += s.Correct
	a.correctNo += s.CorrectNoLogQ
	a.n += s.N
}

// step runs one training step: batch, parallel forward/backward over the
// shards, gradient sum in shard order, AdamW, BN moving averages in shard
// order.
func (t *trainer) step() (stepStats, error) {
	var agg stepStats
	t0 := time.Now()
	if err := t.fillBatch(t.pos.Step); err != nil {
		return agg, err
	}
	t1 := time.Now()
	for r := range t.shards {
		if err := t.shards[r].Validate(t.rf.Model); err != nil {
			return agg, fmt.Errorf("step %d, shard %d: %w", t.pos.Step, r, err)
		}
	}
	lo := model.LossOptions{AdvEps: float32(t.cfg.AdvEps), AdvWeight: float32(t.cfg.AdvWeight)}
	stats := make([]model.StepStats, len(t.workers))
	parallel.For(context.Background(), len(t.workers), len(t.workers), func(_ context.Context, r int) error {
		stats[r] = t.workers[r].Step(&t.shards[r], lo)
		return nil
	})
	t2 := time.Now()
	grads := make([][][]float32, len(t.workers))
	for r, w := range t.workers {
		grads[r] = w.Grads()
		agg.add(stats[r])
	}
	t.opt.Apply(t.m.Params(), grads, runtime.GOMAXPROCS(0))
	for r, w := range t.workers {
		if err := t.m.UpdateMovingAverages(w.BNStats()); err != nil {
			return agg, fmt.Errorf("step %d, shard %d: %w", t.pos.Step, r, err)
		}
	}
	t3 := time.Now()
	t.timeFill += t1.Sub(t0)
	t.timeWorkers += t2.Sub(t1)
	t.timeUpdate += t3.Sub(t2)
	t.pos.Step++
	t.pos.Epoch, t.pos.StepInEpoch = int(t.pos.Step/t.stepsPerEpoch), t.pos.Step%t.stepsPerEpoch
	t.pos.Samples += int64(t.cfg.Batch)
	return agg, nil
}

// train runs steps until totalSteps, checkpointing on schedule and on
// cancellation.
func (t *trainer) train(ctx context.Context) error {
	var err error
	if t.metrics, err = openMetrics(filepath.Join(t.cfg.RunDir, metricsFile), t.pos.Step, t.log); err != nil {
		return err
	}
	defer t.metrics.close()
	if err := truncateValid(filepath.Join(t.cfg.RunDir, ValidFile), t.pos.Step, t.log); err != nil {
		return err
	}
	t.startStep, t.startTime = t.pos.Step, time.Now()
	defer func() { t.trainTime = time.Since(t.startTime) }()
	if t.pos.Step >= t.totalSteps {
		t.log.Info("training already complete", "step", t.pos.Step, "total", t.totalSteps)
		return nil
	}
	if t.early.stopped(t.cfg.Patience) {
		t.log.Info("training stopped early (raise --patience to continue)", "step", t.pos.Step, "best_step", t.early.BestStep,
			"best_recall", f4(t.early.BestRecall), "bad_evals", t.early.BadEvals, "patience", t.cfg.Patience)
		return nil
	}
	t.log.Info("training", "from_step", t.pos.Step, "total_steps", t.totalSteps, "steps_per_epoch", t.stepsPerEpoch,
		"batch", t.cfg.Batch, "negatives", t.cfg.Negatives, "replicas", t.cfg.Replicas, "params", paramCount(t.m.Params()))
	bar := meter.New(t.progress, "train steps", t.totalSteps)
	bar.Set(t.pos.Step)
	var acc stepStats
	last, lastStep := time.Now(), t.pos.Step
	for t.pos.Step < t.totalSteps {
		if ctx.Err() != nil {
			if err := t.checkpoint(); err != nil {
				return err
			}
			return fmt.Errorf("interrupted at step %d, checkpoint written (resume with `nann train --run %s`): %w", t.pos.Step, t.cfg.RunDir, ctx.Err())
		}
		s, err := t.step()
		if err != nil {
			return err
		}
		bar.Add(1)
		acc.loss, acc.lossXE, acc.lossAdv = acc.loss+s.loss, acc.lossXE+s.lossXE, acc.lossAdv+s.lossAdv
		acc.correct, acc.correctNo, acc.n = acc.correct+s.correct, acc.correctNo+s.correctNo, acc.n+s.n
		if t.pos.Step%t.cfg.LogEvery == 0 || t.pos.Step == t.totalSteps {
			now := time.Now()
			if err := t.logRow(acc, t.pos.Step-lastStep, now.Sub(last)); err != nil {
				return err
			}
			acc, last, lastStep = stepStats{}, now, t.pos.Step
		}
		validated := t.cfg.EvalEvery > 0 && (t.pos.Step%t.cfg.EvalEvery == 0 || t.pos.Step == t.totalSteps)
		if validated {
			// Interrupted here, the run resumes from the previous checkpoint
			// and repeats the steps since then, and this validation.
			if err := t.validate(ctx); err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("interrupted during the validation at step %d; resuming repeats the steps since the last checkpoint (`nann train --run %s`): %w", t.pos.Step, t.cfg.RunDir, ctx.Err())
				}
				return err
			}
			if t.early.stopped(t.cfg.Patience) {
				t.log.Info("early stopping: no validation improvement", "step", t.pos.Step, "bad_evals", t.early.BadEvals,
					"patience", t.cfg.Patience, "best_step", t.early.BestStep, "best_recall", f4(t.early.BestRecall))
				break
			}
		}
		// A validation is followed by a checkpoint, so that the early-stopping
		// state it carries matches RUN/best.ckpt after a kill.
		if (validated || t.pos.Step%t.cfg.CheckpointEvery == 0) && t.pos.Step < t.totalSteps {
			if err := t.checkpoint(); err != nil {
				return err
			}
		}
	}
	return t.checkpoint()
}

func (t *trainer) logRow(a stepStats, steps int64, dt time.Duration) error {
	n := float64(max(a.n, 1))
	row := metricsRow{
		Step: t.pos.Step, Epoch: float64(t.pos.Step) / float64(t.stepsPerEpoch),
		Loss: a.loss / n, LossXE: a.lossXE / n, LossAdv: a.lossAdv / n, AdvShare: advShare(t.cfg.AdvWeight, a.lossAdv, a.lossXE),
		Acc: float64(a.correct) / n, AccNoLogQ: float64(a.correctNo) / n,
		SamplesPerS: float64(a.n) / dt.Seconds(), StepSeconds: dt.Seconds() / float64(max(steps, 1)), Time: time.Now().UTC().Format(time.RFC3339),
	}
	t.log.Info("train", "step", row.Step, "epoch", fmt.Sprintf("%.3f", row.Epoch), "loss", f4(row.Loss), "loss_xe", f4(row.LossXE),
		"loss_adv", f4(row.LossAdv), "adv_share", f4(row.AdvShare), "acc", f4(row.Acc), "acc_nologq", f4(row.AccNoLogQ), "samples_per_s", int(row.SamplesPerS), "step_ms", int(1000*row.StepSeconds))
	return t.metrics.write(row)
}

func f4(x float64) string { return fmt.Sprintf("%.4g", x) }

func paramCount(ps []*nn.Param) int {
	n := 0
	for _, p := range ps {
		n += len(p.W)
	}
	return n
}

// checkpoint writes RUN/ckpt/step-N.ckpt and prunes old ones.
func (t *trainer) checkpoint() error {
	rng, err := t.src.MarshalBinary()
	if err != nil {
		return err
	}
	path := filepath.Join(t.cfg.RunDir, ckptDir, ckptName(t.pos.Step))
	if _, err := os.Stat(path); err == nil && t.pos.Step == t.startStep {
		return nil // nothing new since the checkpoint we resumed from
	}
	meta := ckptMeta{Position: t.pos, Replicas: t.cfg.Replicas, RNG: rng}
	if t.early.Evals > 0 {
		early := t.early
		meta.Early = &early
	}
	if err := writeCheckpoint(path, meta, modelTensors(t.m.Params(), t.m.State(), t.opt)); err != nil {
		return err
	}
	t.checkpoints++
	t.log.Debug("checkpoint", "file", path, "step", t.pos.Step)
	pruneCheckpoints(t.cfg.RunDir, t.cfg.KeepCheckpoints, t.log)
	return nil
}

// finish writes the inference model and the training curves.
func (t *trainer) finish() error {
	meta := ckptMeta{Position: t.pos, Replicas: t.cfg.Replicas}
	if err := writeCheckpoint(filepath.Join(t.cfg.RunDir, modelFile), meta, modelTensors(t.m.Params(), t.m.State(), nil)); err != nil {
		return err
	}
	if err := plotCurves(filepath.Join(t.cfg.RunDir, metricsFile), filepath.Join(t.cfg.RunDir, curvesFile)); err != nil {
		t.log.Warn("cannot plot training curves", "err", err)
	}
	if last, ok := lastMetrics(filepath.Join(t.cfg.RunDir, metricsFile)); ok {
		reportAdvShare(t.cfg, last, t.log)
	}
	return nil
}

// TrainingSummary describes the training part of a report.
type TrainingSummary struct {
	Steps          int64   `json:"steps"`
	TotalSteps     int64   `json:"total_steps"`
	StepsPerEpoch  int64   `json:"steps_per_epoch"`
	Samples        int64   `json:"samples"`
	SessionSteps   int64   `json:"session_steps"`
	SessionSeconds float64 `json:"session_seconds"`
	SamplesPerS    float64 `json:"samples_per_s"`
	// ModelGFLOPPerStep is the model's count of the matrix-product FLOPs of
	// one step in the reference's formulation (model.Config.TrainFLOPs; the
	// implementation's attention rewrite executes fewer), ModelGFLOPs the
	// rate this session achieved in those terms, PeakGFLOPs this machine's
	// float32 AVX2 FMA peak (PeakGFLOPs(); 0 if unknown).
	ModelGFLOPPerStep float64 `json:"model_gflop_per_step"`
	ModelGFLOPs       float64 `json:"model_gflops"`
	PeakGFLOPs        float64 `json:"peak_gflops"`
	// FillSeconds, WorkerSeconds and UpdateSeconds split the session's step
	// time: batch assembly and negative sampling; the workers' parallel
	// forward/backward; gradient sum, AdamW and BN moving averages.
	FillSeconds   float64 `json:"fill_seconds"`
	WorkerSeconds float64 `json:"worker_seconds"`
	UpdateSeconds float64 `json:"update_seconds"`
	// LossXE, LossAdv and AdvShare are those of the last metrics row:
	// AdvShare = AdvWeight·LossAdv / LossXE, what the adversarial term
	// adds to the loss relative to the cross-entropy.
	LossXE   float64 `json:"loss_xe"`
	LossAdv  float64 `json:"loss_adv"`
	AdvShare float64 `json:"adv_share"`
	Config   Config  `json:"config"`
}

func (t *trainer) summary() TrainingSummary {
	s := TrainingSummary{Steps: t.pos.Step, TotalSteps: t.totalSteps, StepsPerEpoch: t.stepsPerEpoch, Samples: t.pos.Samples,
		SessionSteps: t.pos.Step - t.startStep, SessionSeconds: t.trainTime.Seconds(), Config: t.cfg}
	s.ModelGFLOPPerStep = t.rf.Model.TrainFLOPs(t.cfg.Batch, t.batch.L, t.batch.C, t.cfg.AdvEps > 0 && t.cfg.AdvWeight > 0) / 1e9
	if s.SessionSeconds > 0 {
		s.SamplesPerS = float64(s.SessionSteps*int64(t.cfg.Batch)) / s.SessionSeconds
		s.ModelGFLOPs = s.ModelGFLOPPerStep * float64(s.SessionSteps) / s.SessionSeconds
	}
	s.PeakGFLOPs = PeakGFLOPs()
	s.FillSeconds, s.WorkerSeconds, s.UpdateSeconds = t.timeFill.Seconds(), t.timeWorkers.Seconds(), t.timeUpdate.Seconds()
	if last, ok := lastMetrics(filepath.Join(t.cfg.RunDir, metricsFile)); ok {
		s.LossXE, s.LossAdv, s.AdvShare = last.LossXE, last.LossAdv, last.AdvShare
	}
	return s
}
