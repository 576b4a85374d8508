package cli

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"nann/train"
)

// TrainCmd trains or resumes a run. Flags left unset take the profile's
// value for a new run and the stored value (config.json) when resuming;
// a set flag that conflicts with a resumed run is an error.
type TrainCmd struct {
	RunDir  string  `name:"run" help:"Run directory (config, checkpoints, metrics, model); resumed if it exists." required:""`
	Data    *string `help:"Prepared dataset directory (nann prepare); needed for a new run."`
	Profile *string `help:"Starting settings for the flags left unset: reference (SPEC defaults, shown below) or demo (${train_demo_profile}; the small world in minutes)." enum:"reference,demo"`
	Seed    *uint64 `help:"Seed of initialisation, sampling and shuffles (default ${train_seed})."`

	Epochs      *int     `help:"Epochs (default ${train_epochs})."`
	Batch       *int     `help:"Positives per step (default ${train_batch})."`
	Negatives   *int     `help:"Sampled negatives per positive, distinct across the batch (default ${train_negatives})."`
	MaxSamples  *int64   `name:"max-samples" help:"Samples per epoch, a fresh random subset each epoch (default all)."`
	MaxSteps    *int64   `name:"max-steps" help:"Stop after this many steps in total (default no limit)."`
	Replicas    *int     `help:"Data-parallel shards per batch (default: number of CPUs; fixed for a run)."`
	LR          *float64 `name:"lr" help:"AdamW learning rate (default ${train_lr})."`
	WeightDecay *float64 `name:"weight-decay" help:"Decoupled weight decay per step (default ${train_weight_decay})."`
	AdvEps      *float64 `name:"adv-eps" help:"FGSM step on item embeddings; 0 disables the adversarial term (default ${train_adv_eps})."`
	AdvWeight   *float64 `name:"adv-weight" help:"Weight of the adversarial KL term (default ${train_adv_weight})."`

	CheckpointEvery *int64 `name:"checkpoint-every" help:"Steps between checkpoints (default ${train_checkpoint_every})."`
	KeepCheckpoints *int   `name:"keep-checkpoints" help:"Newest checkpoints kept (default ${train_keep_checkpoints})."`
	LogEvery        *int64 `name:"log-every" help:"Steps between log lines / metrics rows (default ${train_log_every})."`
	EvalUsers       *int   `name:"eval-users" help:"Test users in the final evaluation (default all)."`
	EvalEvery       *int64 `name:"eval-every" help:"Validate every N steps (and at the last step): brute-force Recall@200 on a fixed subset of the validation users; the best model goes to RUN/best.ckpt and becomes the result, the curve to RUN/valid.jsonl (default 0: never)."`
	ValidUsers      *int   `name:"valid-users" help:"Validation users of those evaluations, the first N of the validation split; fixed for a run (default ${train_valid_users}; 0: all)."`
	ValidK          *int   `name:"valid-k" help:"Cut-off of the validation recall (default 200, the reference's Recall@200; at most the corpus)."`
	Patience        *int   `help:"Stop once this many validations in a row have not improved on the best (early stopping; default 0: never stop early). May be raised on resume to continue."`

	NoVerify bool `name:"no-verify" help:"Skip the dataset's payload checksums when opening it (checked by default; one pass over the files)."`
	JSON     bool `name:"json" help:"Print the report as JSON."`
}

// config builds the requested configuration and the names of the fields
// set explicitly.
func (c *TrainCmd) config() (train.Config, []string, error) {
	profile := "reference"
	if c.Profile != nil {
		profile = *c.Profile
	}
	cfg, err := train.Profile(profile)
	if err != nil {
		return cfg, nil, err
	}
	cfg.RunDir = c.RunDir
	var set []string
	if c.Profile != nil {
		set = append(set, "profile")
	}
	if c.Data != nil {
		abs, err := filepath.Abs(*c.Data)
		if err != nil {
			return cfg, nil, err
		}
		cfg.Data = abs
		set = append(set, "data")
	}
	setv := func(name string, ok bool, apply func()) {
		if ok {
			apply()
			set = append(set, name)
		}
	}
	setv("seed", c.Seed != nil, func() { cfg.Seed = *c.Seed })
	setv("epochs", c.Epochs != nil, func() { cfg.Epochs = *c.Epochs })
	setv("batch", c.Batch != nil, func() { cfg.Batch = *c.Batch })
	setv("negatives", c.Negatives != nil, func() { cfg.Negatives = *c.Negatives })
	setv("max_samples", c.MaxSamples != nil, func() { cfg.MaxSamples = *c.MaxSamples })
	setv("max_steps", c.MaxSteps != nil, func() { cfg.MaxSteps = *c.MaxSteps })
	setv("replicas", c.Replicas != nil, func() { cfg.Replicas = *c.Replicas })
	setv("lr", c.LR != nil, func() { cfg.LR = *c.LR })
	setv("weight_decay", c.WeightDecay != nil, func() { cfg.WeightDecay = *c.WeightDecay })
	setv("adv_eps", c.AdvEps != nil, func() { cfg.AdvEps = *c.AdvEps })
	setv("adv_weight", c.AdvWeight != nil, func() { cfg.AdvWeight = *c.AdvWeight })
	setv("checkpoint_every", c.CheckpointEvery != nil, func() { cfg.CheckpointEvery = *c.CheckpointEvery })
	setv("keep_checkpoints", c.KeepCheckpoints != nil, func() { cfg.KeepCheckpoints = *c.KeepCheckpoints })
	setv("log_every", c.LogEvery != nil, func() { cfg.LogEvery = *c.LogEvery })
	setv("eval_users", c.EvalUsers != nil, func() { cfg.EvalUsers = *c.EvalUsers })
	setv("eval_every", c.EvalEvery != nil, func() { cfg.EvalEvery = *c.EvalEvery })
	setv("valid_users", c.ValidUsers != nil, func() { cfg.ValidUsers = *c.ValidUsers })
	setv("valid_k", c.ValidK != nil, func() { cfg.ValidK = *c.ValidK })
	setv("patience", c.Patience != nil, func() { cfg.Patience = *c.Patience })
	return cfg, set, nil
}

// Run trains and prints the evaluation.
func (c *TrainCmd) Run(g *Globals) error {
	cfg, set, err := c.config()
	if err != nil {
		return err
	}
	bars := newBars()
	defer bars.finish()
	rep, err := train.Run(g.Context(), cfg, train.Options{Set: set, NoVerify: c.NoVerify, Log: slog.Default(), Progress: bars.update})
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(g.Stdout(), rep)
	}
	tr := rep.Training
	var b strings.Builder
	fmt.Fprintf(&b, "run %s: %d steps (%d per epoch), %d samples; this session %d steps in %.1fs, %.0f samples/s\n",
		c.RunDir, tr.Steps, tr.StepsPerEpoch, tr.Samples, tr.SessionSteps, tr.SessionSeconds, tr.SamplesPerS)
	if tr.PeakGFLOPs > 0 {
		fmt.Fprintf(&b, "compute: %.2f GFLOP/step in the reference formulation, %.1f GFLOP/s = %.1f%% of the %.0f GFLOP/s float32 AVX2 FMA peak\n",
			tr.ModelGFLOPPerStep, tr.ModelGFLOPs, 100*tr.ModelGFLOPs/tr.PeakGFLOPs, tr.PeakGFLOPs)
	}
	if all := tr.FillSeconds + tr.WorkerSeconds + tr.UpdateSeconds; all > 0 {
		fmt.Fprintf(&b, "step time: %.1f%% batch+sampling, %.1f%% forward/backward, %.1f%% gradient sum+AdamW+BN\n",
			100*tr.FillSeconds/all, 100*tr.WorkerSeconds/all, 100*tr.UpdateSeconds/all)
	}
	if c := tr.Config; c.AdvEps > 0 && c.AdvWeight > 0 {
		fmt.Fprintf(&b, "adversarial term: adv_weight·loss_adv / loss_xe = %.2g at the last step (loss_adv %.3g, loss_xe %.4g, adv_eps %g)\n",
			tr.AdvShare, tr.LossAdv, tr.LossXE, c.AdvEps)
	}
	if v := rep.Validation; v != nil {
		stop := "ran to the last step"
		if v.StoppedEarly {
			stop = fmt.Sprintf("stopped early after %d validations without improvement", v.BadEvals)
		}
		fmt.Fprintf(&b, "validation: %d evaluations on %d users, best Recall@%d %.4f ± %.4f at step %d; %s; result = step %d\n",
			v.Evals, v.Users, v.K, v.BestRecall, v.BestSE, v.BestStep, stop, v.ResultStep)
	}
	fmt.Fprintf(&b, "evaluation: %d test users, %d items each (brute force), %.1fs\n", rep.Users, rep.Items, rep.EvalSeconds)
	for _, k := range train.RecallKs {
		ratio := 0.0
		if rep.Popularity[k] > 0 {
			ratio = rep.Recall[k] / rep.Popularity[k]
		}
		fmt.Fprintf(&b, "Recall@%-4d model %.4f   popularity %.4f   ratio %.2f\n", k, rep.Recall[k], rep.Popularity[k], ratio)
	}
	_, err = fmt.Fprint(g.Stdout(), b.String())
	return err
}
