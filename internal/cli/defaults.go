package cli

import (
	"math"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"

	"nann/bundle"
	"nann/dataset"
	"nann/engine"
	"nann/eval"
	"nann/hnsw"
	"nann/retrieve"
	"nann/train"
)

// defaultVars are the libraries' Default…() values as kong variables: the
// flags' defaults and the help strings that quote them interpolate these
// (${prepare_max_length}, ...), so the CLI never copies a default.
func defaultVars() kong.Vars {
	ds := dataset.DefaultOptions()
	hn := hnsw.DefaultConfig()
	ex := bundle.DefaultExportOptions()
	tr := train.Default()
	demo, err := train.Profile("demo")
	if err != nil {
		panic(err) // the demo profile is built in
	}
	level := make([]int, len(ex.LevelTopN))
	for i, v := range ex.LevelTopN {
		level[i] = int(v)
	}
	return kong.Vars{
		"prepare_max_length":       strconv.Itoa(ds.MaxLength),
		"prepare_train_min_length": strconv.Itoa(ds.TrainMinLength),
		"prepare_test_min_length":  strconv.Itoa(ds.TestMinLength),
		"prepare_num_test":         strconv.Itoa(ds.NumTest),
		"prepare_num_valid":        strconv.Itoa(ds.NumValid),
		"prepare_seed":             strconv.FormatUint(ds.Seed, 10),
		"prepare_max_heldout":      strconv.FormatFloat(ds.MaxHeldOut, 'g', -1, 64),
		"prepare_workers":          strconv.Itoa(ds.Workers),

		"index_m":               strconv.Itoa(hn.M),
		"index_ef_construction": strconv.Itoa(hn.EfConstruction),
		"index_seed":            strconv.FormatUint(hn.Seed, 10),

		"eval_ks":   joinInts(eval.DefaultConfig().Ks),
		"eval_beam": retrieve.DefaultParams().String(),

		"export_name":           ex.Name,
		"export_precision":      engine.Float32.String(),
		"export_k":              strconv.Itoa(ex.K),
		"export_level_topn":     joinInts(level),
		"export_max_level_topn": strconv.Itoa(ex.MaxLevelTopN),

		"train_seed":             strconv.FormatUint(tr.Seed, 10),
		"train_epochs":           strconv.Itoa(tr.Epochs),
		"train_batch":            strconv.Itoa(tr.Batch),
		"train_negatives":        strconv.Itoa(tr.Negatives),
		"train_lr":               shortFloat(tr.LR),
		"train_weight_decay":     shortFloat(tr.WeightDecay),
		"train_adv_eps":          shortFloat(tr.AdvEps),
		"train_adv_weight":       shortFloat(tr.AdvWeight),
		"train_checkpoint_every": strconv.FormatInt(tr.CheckpointEvery, 10),
		"train_keep_checkpoints": strconv.Itoa(tr.KeepCheckpoints),
		"train_log_every":        strconv.FormatInt(tr.LogEvery, 10),
		"train_valid_users":      strconv.Itoa(tr.ValidUsers),
		"train_demo_profile": strconv.Itoa(demo.Epochs) + " epoch of " + strconv.FormatInt(demo.MaxSamples, 10) +
			" samples, batch " + strconv.Itoa(demo.Batch) + ", " + strconv.Itoa(demo.Negatives) + " negatives, checkpoint every " +
			strconv.FormatInt(demo.CheckpointEvery, 10) + ", eval on " + strconv.Itoa(demo.EvalUsers) + " users",
	}
}

// shortFloat writes v as the help strings do: 1, 0.2, 3e-3.
func shortFloat(v float64) string {
	if v == 0 || math.Abs(v) >= 0.01 {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	m, e, _ := strings.Cut(strconv.FormatFloat(v, 'e', -1, 64), "e")
	sign := e[:1]
	e = strings.TrimLeft(e[1:], "0")
	if sign == "+" {
		sign = ""
	}
	return m + "e" + sign + e
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// withDefaults parses args as the flags of command T alone, with the same
// defaults as the command line, and returns the command: what `nann CMD
// ARGS...` would run.
func withDefaults[T any](args ...string) (*T, error) {
	var cli struct {
		Cmd T `cmd:""`
	}
	p, err := kong.New(&cli, defaultVars(), kong.Exit(func(code int) { panic(kongExit(code)) }))
	if err != nil {
		return nil, err
	}
	if _, err := p.Parse(append([]string{"cmd"}, args...)); err != nil {
		return nil, err
	}
	return &cli.Cmd, nil
}
