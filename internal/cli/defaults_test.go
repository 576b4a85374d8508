package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"nann/bundle"
	"nann/dataset"
	"nann/eval"
	"nann/hnsw"
	"nann/retrieve"
	"nann/train"
)

// The flags' defaults are the libraries' Default…() values: each command
// parsed with only its required arguments holds them.
func TestCLIDefaultsAreTheLibraries(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "x.npy")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	pc, err := withDefaults[PrepareCmd](file, "--out", filepath.Join(dir, "ds"))
	if err != nil {
		t.Fatal(err)
	}
	do := dataset.DefaultOptions()
	got := dataset.Options{MaxLength: pc.MaxLength, TrainMinLength: pc.TrainMinLength, TestMinLength: pc.TestMinLength,
		NumTest: pc.NumTest, NumValid: pc.NumValid, Seed: pc.Seed, MaxHeldOut: pc.MaxHeldOut, SkipBad: pc.SkipBad, Workers: pc.Workers}
	if !reflect.DeepEqual(got, do) {
		t.Errorf("prepare: flags give %+v, dataset.DefaultOptions() is %+v", got, do)
	}

	ic, err := withDefaults[IndexCmd]("--embs", file, "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ic.config()
	if err != nil {
		t.Fatal(err)
	}
	if hc := hnsw.DefaultConfig(); cfg != hc {
		t.Errorf("index: flags give %+v, hnsw.DefaultConfig() is %+v", cfg, hc)
	}

	ec, err := withDefaults[EvalCmd]("--run", dir, "--index", dir)
	if err != nil {
		t.Fatal(err)
	}
	if ks := eval.DefaultConfig().Ks; !slices.Equal(ec.Ks, ks) {
		t.Errorf("eval: --k %v, eval.DefaultConfig().Ks %v", ec.Ks, ks)
	}
	if b := retrieve.DefaultParams().String(); ec.Beam != b {
		t.Errorf("eval: --beam %q, retrieve.DefaultParams() %q", ec.Beam, b)
	}

	xc, err := withDefaults[ExportCmd]("--run", dir, "--index", dir, "--base", dir)
	if err != nil {
		t.Fatal(err)
	}
	xo := bundle.DefaultExportOptions()
	if xc.Name != xo.Name || xc.K != xo.K || xc.MaxLevelTopN != xo.MaxLevelTopN || xc.Precision != xo.Precision.String() ||
		!slices.Equal(xc.LevelTopN, xo.LevelTopN[:]) {
		t.Errorf("export: flags give name %q k %d level_topn %v max %d precision %s; bundle.DefaultExportOptions() is %+v",
			xc.Name, xc.K, xc.LevelTopN, xc.MaxLevelTopN, xc.Precision, xo)
	}

	tc, err := withDefaults[TrainCmd]("--run", dir)
	if err != nil {
		t.Fatal(err)
	}
	tcfg, set, err := tc.config()
	if err != nil {
		t.Fatal(err)
	}
	want := train.Default()
	want.RunDir = dir
	if tcfg != want || len(set) != 0 {
		t.Errorf("train: flags give %+v (set %v), train.Default() is %+v", tcfg, set, want)
	}
}

// The help strings quote the libraries' defaults, every variable resolved.
func TestHelpQuotesLibraryDefaults(t *testing.T) {
	tr := train.Default()
	demo, _ := train.Profile("demo")
	for cmd, wants := range map[string][]string{
		"train": {"(default " + shortFloat(tr.LR) + ")", "(default " + shortFloat(tr.AdvEps) + ")",
			"batch " + itoa(demo.Batch), "(default " + itoa(tr.Batch) + ")"},
		"prepare": {"--max-length=" + itoa(dataset.DefaultOptions().MaxLength)},
		"index":   {"--m=" + itoa(hnsw.DefaultConfig().M)},
		"export":  {"--k=" + itoa(bundle.DefaultExportOptions().K)},
	} {
		var out, errb bytes.Buffer
		if code := Main([]string{cmd, "--help"}, &out, &errb); code != 0 {
			t.Fatalf("%s --help: exit %d: %s", cmd, code, errb.String())
		}
		help := strings.Join(strings.Fields(out.String()), " ")
		if strings.Contains(help, "${") {
			t.Errorf("%s --help has an unresolved variable:\n%s", cmd, out.String())
		}
		for _, w := range wants {
			if !strings.Contains(help, w) {
				t.Errorf("%s --help lacks %q:\n%s", cmd, w, out.String())
			}
		}
	}
}

func TestShortFloat(t *testing.T) {
	for v, want := range map[float64]string{3e-3: "3e-3", 1e-4: "1e-4", 3e-5: "3e-5", 1: "1", 0.2: "0.2", 0: "0", 2.5e-12: "2.5e-12"} {
		if got := shortFloat(v); got != want {
			t.Errorf("shortFloat(%g) = %q, want %q", v, got, want)
		}
	}
}

func itoa(v int) string { return strconv.Itoa(v) }
