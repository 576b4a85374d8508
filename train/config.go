package train

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"strings"
)

// Config is one training run's settings. The zero value is not usable:
// start from Default or Profile. Every field but RunDir is saved in the run
// directory's config.json; on resume, the fields in Mutable may change and
// the others must match.
type Config struct {
	// RunDir is the run directory (checkpoints, metrics, final model).
	RunDir string `json:"-"`
	// Data is the prepared dataset directory (nann prepare).
	Data string `json:"data"`
	// Profile names the preset these settings started from ("reference", "demo").
	Profile string `json:"profile"`
	// Seed seeds the model initialisation, the negative sampler and the
	// shuffles.
	Seed uint64 `json:"seed"`

	// Epochs is the number of passes over the training samples.
	Epochs int `json:"epochs"`
	// Batch is the number of positives per step.
	Batch int `json:"batch"`
	// Negatives is the number of sampled negatives per positive; a step
	// draws Batch×Negatives distinct items.
	Negatives int `json:"negatives"`
	// MaxSamples, if > 0, bounds the samples of one epoch: each epoch
	// trains on the first MaxSamples of a fresh shuffle of all training
	// samples.
	MaxSamples int64 `json:"max_samples"`
	// MaxSteps, if > 0, stops training after this many steps in total.
	MaxSteps int64 `json:"max_steps"`
	// Replicas is the number of data-parallel shards of a batch, each run
	// by its own worker (BatchNorm statistics are per shard, gradients are
	// summed). 0 means runtime.NumCPU() at the start of the run.
	Replicas int `json:"replicas"`

	// LR, Beta1, Beta2 and AdamEps are Adam's settings.
	LR      float64 `json:"lr"`
	Beta1   float64 `json:"beta1"`
	Beta2   float64 `json:"beta2"`
	AdamEps float64 `json:"adam_eps"`
	// WeightDecay is the decoupled decay per step (not scaled by LR).
	WeightDecay float64 `json:"weight_decay"`
	// AdvEps is the FGSM step on the item embeddings (0 disables the
	// adversarial term); AdvWeight its weight in the loss.
	AdvEps    float64 `json:"adv_eps"`
	AdvWeight float64 `json:"adv_weight"`

	// CheckpointEvery is the number of steps between checkpoints.
	CheckpointEvery int64 `json:"checkpoint_every"`
	// KeepCheckpoints is how many of the newest checkpoints are kept.
	KeepCheckpoints int `json:"keep_checkpoints"`
	// LogEvery is the number of steps between log lines and metrics rows.
	LogEvery int64 `json:"log_every"`
	// EvalUsers bounds the test users of the final evaluation (0: all).
	EvalUsers int `json:"eval_users"`

	// EvalEvery, if > 0, evaluates the model every EvalEvery steps (and at
	// the last step) by brute-force Recall@ValidK on the first ValidUsers
	// validation users (a fixed subset), keeps the best model in
	// RUN/best.ckpt and the curve in RUN/valid.jsonl, and makes the best
	// model the run's result (model.ckpt, the final evaluation).
	EvalEvery int64 `json:"eval_every"`
	// ValidUsers bounds the validation users of those evaluations (0: all).
	ValidUsers int `json:"valid_users"`
	// ValidK is the cut-off of the validation recall (0: ValidK, 200, the
	// reference's Recall@200; at most the corpus size is used).
	ValidK int `json:"valid_k"`
	// Patience, if > 0, stops training once that many evaluations in a row
	// have not improved on the best validation recall (early stopping).
	// 0 never stops early. Needs EvalEvery.
	Patience int `json:"patience"`
}

// Default is the reference's training configuration (SPEC §3).
func Default() Config {
	return Config{
		Profile: "reference", Seed: 1,
		Epochs: 5, Batch: 800, Negatives: 200,
		LR: 3e-3, Beta1: 0.9, Beta2: 0.999, AdamEps: 1e-8, WeightDecay: 1e-4,
		AdvEps: 3e-5, AdvWeight: 1,
		CheckpointEvery: 5000, KeepCheckpoints: 3, LogEvery: 100,
		ValidUsers: 1000,
	}
}

// profiles are named starting points. "demo" trains the `small` synthetic
// world to a useful model in minutes on 2 cores: smaller batches and
// fewer negatives (a 50 K-item corpus cannot supply 800×200 distinct
// negatives anyway), one bounded epoch.
var profiles = map[string]func(*Config){
	"reference": func(*Config) {},
	"demo": func(c *Config) {
		c.Epochs, c.Batch, c.Negatives = 1, 256, 20
		c.MaxSamples = 300_000
		c.CheckpointEvery, c.LogEvery = 500, 50
		c.EvalUsers = 1000
	},
}

// ProfileNames lists the profiles.
func ProfileNames() []string {
	var n []string
	for k := range profiles {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Profile returns the configuration of a named profile.
func Profile(name string) (Config, error) {
	f, ok := profiles[name]
	if !ok {
		return Config{}, fmt.Errorf("unknown training profile %q (have %s)", name, strings.Join(ProfileNames(), ", "))
	}
	c := Default()
	c.Profile = name
	f(&c)
	return c, nil
}

// Validate reports every problem of c.
func (c Config) Validate() error {
	var errs []error
	bad := func(cond bool, format string, a ...any) {
		if cond {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	bad(c.Data == "", "data: no dataset directory")
	bad(c.Epochs < 1, "epochs: %d, want >= 1", c.Epochs)
	bad(c.Batch < 1, "batch: %d, want >= 1", c.Batch)
	bad(c.Negatives < 1, "negatives: %d, want >= 1", c.Negatives)
	bad(c.Batch > 1<<20 || c.Negatives > 1<<20 || int64(c.Batch)*int64(c.Negatives) > 1<<28, "batch×negatives: %d×%d is too large", c.Batch, c.Negatives)
	bad(c.MaxSamples < 0, "max_samples: %d, want >= 0", c.MaxSamples)
	bad(c.MaxSteps < 0, "max_steps: %d, want >= 0", c.MaxSteps)
	bad(c.Replicas < 0 || c.Replicas > 1024, "replicas: %d, want 0..1024", c.Replicas)
	bad(c.Replicas > c.Batch, "replicas: %d exceeds the batch %d", c.Replicas, c.Batch)
	bad(!(c.LR > 0 && c.LR < 10), "lr: %v, want in (0, 10)", c.LR)
	bad(!(c.Beta1 >= 0 && c.Beta1 < 1), "beta1: %v, want in [0, 1)", c.Beta1)
	bad(!(c.Beta2 >= 0 && c.Beta2 < 1), "beta2: %v, want in [0, 1)", c.Beta2)
	bad(!(c.AdamEps > 0), "adam_eps: %v, want > 0", c.AdamEps)
	bad(!(c.WeightDecay >= 0 && c.WeightDecay < 1), "weight_decay: %v, want in [0, 1)", c.WeightDecay)
	bad(!(c.AdvEps >= 0 && c.AdvEps < 1), "adv_eps: %v, want in [0, 1)", c.AdvEps)
	bad(!(c.AdvWeight >= 0 && c.AdvWeight < 1e6), "adv_weight: %v, want >= 0", c.AdvWeight)
	bad(c.CheckpointEvery < 1, "checkpoint_every: %d, want >= 1", c.CheckpointEvery)
	bad(c.KeepCheckpoints < 1, "keep_checkpoints: %d, want >= 1", c.KeepCheckpoints)
	bad(c.LogEvery < 1, "log_every: %d, want >= 1", c.LogEvery)
	bad(c.EvalUsers < 0, "eval_users: %d, want >= 0", c.EvalUsers)
	bad(c.EvalEvery < 0, "eval_every: %d, want >= 0 (0: no validation)", c.EvalEvery)
	bad(c.ValidUsers < 0, "valid_users: %d, want >= 0 (0: all)", c.ValidUsers)
	bad(c.ValidK < 0 || c.ValidK > 1<<20, "valid_k: %d, want 0..%d (0: %d)", c.ValidK, 1<<20, ValidK)
	bad(c.Patience < 0, "patience: %d, want >= 0 (0: never stop early)", c.Patience)
	bad(c.Patience > 0 && c.EvalEvery == 0, "patience: %d needs eval_every > 0 (early stopping watches the validation recall)", c.Patience)
	return errors.Join(errs...)
}

// resolve fills the defaults that depend on the machine.
func (c *Config) resolve() {
	if c.Replicas == 0 {
		c.Replicas = min(runtime.NumCPU(), c.Batch)
	}
}

// Mutable are the config.json fields a resumed run may change.
var Mutable = map[string]bool{
	"epochs": true, "max_steps": true, "checkpoint_every": true,
	"keep_checkpoints": true, "log_every": true, "eval_users": true,
	"eval_every": true, "patience": true,
}

// FlagName is the command-line flag of a config.json field.
func FlagName(field string) string { return "--" + strings.ReplaceAll(field, "_", "-") }

// mergeResume applies the explicitly set fields of given (named by their
// json names in set) onto stored, the configuration of an existing run.
// A set field that differs from the stored value and is not Mutable is an
// error naming the flag.
func mergeResume(stored, given Config, set []string) (Config, error) {
	out := stored
	out.RunDir = given.RunDir
	sv, gv, ov := reflect.ValueOf(stored), reflect.ValueOf(given), reflect.ValueOf(&out).Elem()
	fields := map[string]int{}
	for i := 0; i < sv.NumField(); i++ {
		name, _, _ := strings.Cut(sv.Type().Field(i).Tag.Get("json"), ",")
		if name != "-" {
			fields[name] = i
		}
	}
	var errs []error
	for _, name := range set {
		i, ok := fields[name]
		if !ok {
			errs = append(errs, fmt.Errorf("internal: unknown config field %q", name))
			continue
		}
		a, b := sv.Field(i).Interface(), gv.Field(i).Interface()
		if a == b {
			continue
		}
		if !Mutable[name] {
			errs = append(errs, fmt.Errorf("%s=%v conflicts with the run's %s=%v in config.json (start a new --run directory to change it)", FlagName(name), b, name, a))
			continue
		}
		ov.Field(i).Set(gv.Field(i))
	}
	return out, errors.Join(errs...)
}
