package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"nann/internal/syncbuf"
	"nann/serving"
	"nann/tfserving/servingpb"
)

// realModelConfig is a model config file as people write them for
// tensorflow_model_server: comments, the deprecated model_type enum,
// model_platform, logging_config, every version policy, labels, a map
// entry written both ways.
const realModelConfig = `# two models, one with a canary
model_config_list {
  config {
    name: 'recs'
    base_path: '%s'
    model_platform: "tensorflow"
    model_type: TENSORFLOW
    model_version_policy {
      specific {
        versions: 2
        versions: 1
      }
    }
    version_labels {
      key: 'stable'
      value: 1
    }
    version_labels: { key: "canary" value: 2 }
    logging_config {
      log_collector_config { type: "" filename_prefix: "/tmp/log" }
      sampling_config { sampling_rate: 0.01 attributes: 1 }
    }
  }
  config: {
    name: "other"
    base_path: "%s"
    model_platform: "tensorflow"
    model_version_policy: { latest: { num_versions: 2 } }
  }
  config {
    name: "third"
    base_path: "%s"
    model_version_policy { all {} }
  }
}
`

func TestReadModelConfigFileAcceptsTFServingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "models.config")
	if err := os.WriteFile(path, fmt.Appendf(nil, realModelConfig, "/m/recs", "/m/other", "rel/third"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadModelConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []ModelConfig{
		{Name: "recs", BasePath: "/m/recs", Policy: VersionPolicy{Specific: []int64{1, 2}}, Labels: map[string]int64{"stable": 1, "canary": 2}},
		{Name: "other", BasePath: "/m/other", Policy: VersionPolicy{Latest: 2}, Labels: map[string]int64{}},
		{Name: "third", BasePath: "rel/third", Policy: VersionPolicy{All: true}, Labels: map[string]int64{}},
	}
	for i := range got {
		if got[i].Labels == nil {
			got[i].Labels = map[string]int64{}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestReadModelConfigFileReportsProblems(t *testing.T) {
	cases := []struct{ name, text, mention string }{
		{"unknown field", "model_config_list { config { name: 'a' base_path: '/a' base_pth: '/b' } }", "base_pth"},
		{"unknown field, with line", "model_config_list {\n config {\n name: 'a'\n  bogus: 1\n} }", "line 4"},
		{"truncated", "model_config_list {\n config {\n name: 'a'\n", "unexpected EOF"},
		{"no list", "", "no model_config_list"},
		{"empty list", "model_config_list {}", "no config"},
		{"custom", "custom_model_config { }", "custom_model_config"},
		{"no name, no base", "model_config_list { config { } }", "model name is empty"},
		{"duplicate", "model_config_list { config { name: 'a' base_path: '/a' } config { name: 'a' base_path: '/b' } }", "appears twice"},
		{"empty specific", "model_config_list { config { name: 'a' base_path: '/a' model_version_policy { specific {} } } }", "lists no versions"},
		{"remote path", "model_config_list { config { name: 'a' base_path: 'gs://bucket/a' } }", "local directories"},
		{"bad label", "model_config_list { config { name: 'a' base_path: '/a' version_labels { key: 'x/y' value: 1 } } }", "x/y"},
		{"slash name", "model_config_list { config { name: 'a/b' base_path: '/a' } }", "a/b"},
	}
	for _, c := range cases {
		_, err := parseModelConfig("m.config", []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.mention) || !strings.Contains(err.Error(), "m.config") {
			t.Errorf("%s: got %v, want an error naming m.config and %q", c.name, err, c.mention)
		}
	}
	// Several problems are reported at once.
	_, err := parseModelConfig("m.config", []byte("model_config_list { config { name: 'a' } config { base_path: '/b' } }"))
	if err == nil || !strings.Contains(err.Error(), "config 1") || !strings.Contains(err.Error(), "config 2") {
		t.Fatalf("got %v, want both configs reported", err)
	}
}

// FuzzParseModelConfig: any input parses or fails with an error, never a
// panic; what parses validates.
func FuzzParseModelConfig(f *testing.F) {
	f.Add([]byte(fmt.Sprintf(realModelConfig, "/a", "/b", "/c")))
	f.Add([]byte("model_config_list { config { name: 'a' base_path: '/a' model_version_policy { specific { versions: -1 } } } }"))
	f.Add([]byte("model_config_list { config { name: 'a' base_path: '/a' version_labels { key: '' value: 9 } } }"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfgs, err := parseModelConfig("f", b)
		if err != nil {
			return
		}
		for _, c := range cfgs {
			if err := c.Validate(); err != nil {
				t.Fatalf("accepted an invalid config %+v: %v", c, err)
			}
		}
	})
}

// configServer runs a server from a model config file; polling is by hand
// (s.pollModels, s.reloadModelConfig) so that tests are deterministic.
type configServer struct {
	*testServer
	path   string
	models map[string]*fakeModel
	logBuf *syncbuf.Buffer
}

func (cs *configServer) writeConfig(t *testing.T, text string) {
	t.Helper()
	for name, m := range cs.models {
		text = strings.ReplaceAll(text, "$"+name, m.base)
	}
	tmp := cs.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, cs.path); err != nil {
		t.Fatal(err)
	}
}

// startConfigServer serves the models (name → versions) of config text,
// in which $name stands for the model's base path.
func startConfigServer(t *testing.T, text string, models map[string][]int64, tweak func(*Config), setup ...func(map[string]*fakeModel)) *configServer {
	t.Helper()
	cs := &configServer{path: filepath.Join(t.TempDir(), "models.config"), models: map[string]*fakeModel{}, logBuf: &syncbuf.Buffer{}}
	for name, vs := range models {
		cs.models[name] = newFakeModel(t, vs...)
	}
	for _, f := range setup {
		f(cs.models)
	}
	cs.writeConfig(t, text)
	cfg := testConfig("")
	cfg.ModelConfigFile = cs.path
	cfg.PollInterval = 0
	if tweak != nil {
		tweak(&cfg)
	}
	// One loader for all models: each fake model loads from its own base.
	load := func(ctx context.Context, dir string) (serving.Servable, error) {
		for _, m := range cs.models {
			if filepath.Dir(dir) == m.base {
				return m.load(ctx, dir)
			}
		}
		return nil, fmt.Errorf("no fake model at %s", dir)
	}
	s, err := New(cfg, load, slog.New(slog.NewTextHandler(cs.logBuf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	cs.testServer = wrapServer(t, s)
	return cs
}

func labelSpec(model, label string) *servingpb.ModelSpec {
	return &servingpb.ModelSpec{Name: model, VersionChoice: &servingpb.ModelSpec_VersionLabel{VersionLabel: label}}
}

func seqRequestFor(ms *servingpb.ModelSpec) *servingpb.PredictRequest {
	r := seqRequest(0)
	r.ModelSpec = ms
	return r
}

// TestTwoModelsFromConfigFile: requests are routed by model_spec.name;
// each model keeps its own versions, status and labels.
func TestTwoModelsFromConfigFile(t *testing.T) {
	cs := startConfigServer(t, `model_config_list {
	  config { name: "a" base_path: "$a" model_platform: "tensorflow" }
	  config { name: "b" base_path: "$b" model_version_policy { all {} } version_labels { key: "old" value: 1 } }
	}`, map[string][]int64{"a": {1, 2}, "b": {1, 5}}, nil)
	ctx := context.Background()
	for _, c := range []struct {
		spec    *servingpb.ModelSpec
		version int64
	}{
		{&servingpb.ModelSpec{Name: "a"}, 2},
		{&servingpb.ModelSpec{Name: "b"}, 5},
		{labelSpec("b", "old"), 1},
	} {
		resp, err := cs.predict.Predict(ctx, seqRequestFor(c.spec))
		if err != nil {
			t.Fatalf("%v: %v", c.spec, err)
		}
		if resp.ModelSpec.GetName() != c.spec.Name || resp.ModelSpec.GetVersion().GetValue() != c.version {
			t.Fatalf("%v answered by %v, want version %d", c.spec, resp.ModelSpec, c.version)
		}
	}
	if cs.models["a"].servable(1) != nil {
		t.Fatal("model a (latest 1) loaded version 1 too")
	}
	_, err := cs.predict.Predict(ctx, seqRequestFor(&servingpb.ModelSpec{Name: "c"}))
	if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), `"a", "b"`) {
		t.Fatalf("unknown model: %v", err)
	}
	_, err = cs.predict.Predict(ctx, seqRequestFor(labelSpec("a", "old")))
	if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "no version labels") {
		t.Fatalf("label of another model: %v", err)
	}
	st, err := cs.Server.modelStatus(target{model: "b"})
	if err != nil || len(st.ModelVersionStatus) != 2 {
		t.Fatalf("status of b: %v %v", st, err)
	}
	code, js := getJSON(t, cs.rest+"/v1/models/b/labels/old")
	if code != 200 || fmt.Sprint(js["model_version_status"]) != "[map[state:AVAILABLE status:map[error_code:OK error_message:] version:1]]" {
		t.Fatalf("REST status by label: %d %v", code, js)
	}
	code, js = postJSON(t, cs.rest+"/v1/models/b/labels/old:predict", `{"inputs": {"item_ids": [[1, 2]]}}`)
	if code != 200 {
		t.Fatalf("REST predict by label: %d %v", code, js)
	}
	code, _ = postJSON(t, cs.rest+"/v1/models/b/labels/new:predict", `{"inputs": {"item_ids": [[1, 2]]}}`)
	if code != 404 {
		t.Fatalf("REST predict by unknown label: %d", code)
	}
	if got := scrape(t, cs.rest+"/metrics", `nann_serve_model_loaded_versions{model="b"}`); got != "2" {
		t.Fatalf("loaded versions of b = %q", got)
	}
	if got := scrape(t, cs.rest+"/metrics", `nann_serve_model_predictions_total{model="b",version="1"}`); got != "2" {
		t.Fatalf("predictions of b/1 = %q", got)
	}
}

// TestModelConfigReload: a re-read config adds a model, removes one
// (drained: its in-flight request finishes, then it is unloaded) and
// changes a policy; a bad file keeps the previous configuration and says
// why.
func TestModelConfigReload(t *testing.T) {
	cs := startConfigServer(t, `model_config_list {
	  config { name: "a" base_path: "$a" }
	  config { name: "b" base_path: "$b" }
	}`, map[string][]int64{"a": {1, 2}, "b": {1}, "c": {4}}, nil, func(m map[string]*fakeModel) { m["b"].delay = 300 * time.Millisecond })
	ctx := context.Background()
	// A slow request on b is in flight while b is removed.
	slow := cs.models["b"].servable(1)
	done := make(chan error, 1)
	go func() {
		_, err := cs.predict.Predict(ctx, seqRequestFor(&servingpb.ModelSpec{Name: "b"}))
		done <- err
	}()
	// (In the servable, not just admitted: an admitted request that has not
	// yet looked the model up gets NOT_FOUND, rightly.)
	waitFor(t, "request on b in the servable", 2*time.Second, func() bool { return slow.calls.Load() == 1 })
	cs.writeConfig(t, `model_config_list {
	  config { name: "a" base_path: "$a" model_version_policy { latest { num_versions: 2 } } }
	  config { name: "c" base_path: "$c" }
	}`)
	cs.reloadModelConfig(ctx)
	if err := <-done; err != nil {
		t.Fatalf("in-flight request on the removed model failed: %v", err)
	}
	waitFor(t, "b unloaded", 2*time.Second, func() bool { return slow.closed.Load() })
	if _, err := cs.predict.Predict(ctx, seqRequestFor(&servingpb.ModelSpec{Name: "b"})); status.Code(err) != codes.NotFound {
		t.Fatalf("removed model: %v", err)
	}
	resp, err := cs.predict.Predict(ctx, seqRequestFor(&servingpb.ModelSpec{Name: "c"}))
	if err != nil || resp.ModelSpec.GetVersion().GetValue() != 4 {
		t.Fatalf("added model: %v %v", resp, err)
	}
	if _, err := cs.predict.Predict(ctx, seqRequestFor(spec1("a", 1))); err != nil {
		t.Fatalf("a's version 1 under latest 2: %v", err)
	}
	// A bad file: logged with the reason, counted, nothing changes.
	cs.writeConfig(t, `model_config_list { config { name: "a" base_path: "$a" } config { name: "d" } }`)
	cs.reloadModelConfig(ctx)
	cs.reloadModelConfig(ctx)
	if log := cs.logBuf.String(); !strings.Contains(log, "model config file not applied") || !strings.Contains(log, "base path is empty") {
		t.Fatalf("log lacks the reason:\n%s", log)
	}
	if n := strings.Count(cs.logBuf.String(), "model config file not applied"); n != 1 {
		t.Fatalf("the same bad file was logged %d times", n)
	}
	if got := scrape(t, cs.rest+"/metrics", "nann_serve_model_config_failures_total"); got != "2" {
		t.Fatalf("config failures = %q", got)
	}
	for _, ms := range []*servingpb.ModelSpec{spec1("a", 1), {Name: "c"}} {
		if _, err := cs.predict.Predict(ctx, seqRequestFor(ms)); err != nil {
			t.Fatalf("%v after a bad config: %v", ms, err)
		}
	}
	if cs.models["a"].servable(1).closed.Load() {
		t.Fatal("a bad config changed a's policy")
	}
}

func spec1(model string, version int64) *servingpb.ModelSpec {
	s := spec(version)
	s.Name = model
	return s
}

// TestLabelMoveUnderLoadNoFailures: clients keep asking for label
// "stable" while the config moves it from version 1 to 2 and then stops
// serving version 1, and then, in one change, moves it to version 3 (not
// loaded yet) and serves only 3; no request fails, and traffic switches.
func TestLabelMoveUnderLoadNoFailures(t *testing.T) {
	cs := startConfigServer(t, `model_config_list { config { name: "m" base_path: "$m"
	  model_version_policy { specific { versions: 1 versions: 2 } }
	  version_labels { key: "stable" value: 1 } version_labels { key: "canary" value: 2 } } }`,
		map[string][]int64{"m": {1, 2, 3}}, nil, func(m map[string]*fakeModel) { m["m"].loadDelay = 100 * time.Millisecond })
	ctx := context.Background()
	var seen [4]atomic.Int64
	load := startLoad(func() (*servingpb.PredictResponse, error) {
		return cs.predict.Predict(ctx, seqRequestFor(labelSpec("m", "stable")))
	}, func(v int64) { seen[v].Add(1) })
	waitFor(t, "traffic on version 1", 5*time.Second, func() bool { return seen[1].Load() > 50 })
	cs.writeConfig(t, `model_config_list { config { name: "m" base_path: "$m"
	  model_version_policy { specific { versions: 1 versions: 2 } }
	  version_labels { key: "stable" value: 2 } version_labels { key: "canary" value: 2 } } }`)
	cs.reloadModelConfig(ctx)
	n2 := seen[2].Load()
	waitFor(t, "traffic on version 2", 5*time.Second, func() bool { return seen[2].Load() > n2+50 })
	n1 := seen[1].Load()
	// Version 1 leaves the policy: it is retired once its last request ends.
	cs.writeConfig(t, `model_config_list { config { name: "m" base_path: "$m"
	  model_version_policy { specific { versions: 2 } }
	  version_labels { key: "stable" value: 2 } } }`)
	cs.reloadModelConfig(ctx)
	waitFor(t, "version 1 closed", 5*time.Second, func() bool { return cs.models["m"].servable(1).closed.Load() })
	n2 = seen[2].Load()
	waitFor(t, "more traffic on version 2", 5*time.Second, func() bool { return seen[2].Load() > n2+50 })
	// One change: serve only version 3, which is not loaded yet, and point
	// stable at it. Until 3 is AVAILABLE stable keeps naming 2.
	cs.writeConfig(t, `model_config_list { config { name: "m" base_path: "$m"
	  model_version_policy { specific { versions: 3 } }
	  version_labels { key: "stable" value: 3 } } }`)
	cs.reloadModelConfig(ctx)
	waitFor(t, "version 2 closed", 5*time.Second, func() bool { return cs.models["m"].servable(2).closed.Load() })
	n3 := seen[3].Load()
	waitFor(t, "traffic on version 3", 5*time.Second, func() bool { return seen[3].Load() > n3+50 })
	load.finish(t, "while the label moved")
	if seen[1].Load() > n1+int64(6) {
		t.Fatalf("%d requests reached version 1 after the label had moved (6 may have been in flight)", seen[1].Load()-n1)
	}
	if cs.models["m"].lateCalls.Load() != 0 {
		t.Fatal("a retired version was called after Close")
	}
	t.Logf("%d requests, 0 failures; version 1: %d, version 2: %d, version 3: %d", load.ok.Load(), seen[1].Load(), seen[2].Load(), seen[3].Load())
}

// TestLabelNamesOnlyAvailableVersions: TF Serving's rule. A label naming
// a version that is not AVAILABLE is not served (a new label) or keeps its
// previous version (a moved label) until that version is AVAILABLE.
func TestLabelNamesOnlyAvailableVersions(t *testing.T) {
	cs := startConfigServer(t, `model_config_list { config { name: "m" base_path: "$m"
	  model_version_policy { all {} }
	  version_labels { key: "stable" value: 1 } version_labels { key: "canary" value: 3 } } }`,
		map[string][]int64{"m": {1}}, nil)
	ctx := context.Background()
	_, err := cs.predict.Predict(ctx, seqRequestFor(labelSpec("m", "canary")))
	if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "version 3, which is not AVAILABLE") {
		t.Fatalf("label on a missing version: %v", err)
	}
	cs.writeConfig(t, `model_config_list { config { name: "m" base_path: "$m"
	  model_version_policy { all {} }
	  version_labels { key: "stable" value: 2 } version_labels { key: "canary" value: 3 } } }`)
	cs.reloadModelConfig(ctx)
	versionOf := func(label string) int64 {
		t.Helper()
		resp, err := cs.predict.Predict(ctx, seqRequestFor(labelSpec("m", label)))
		if err != nil {
			t.Fatalf("label %s: %v", label, err)
		}
		return resp.ModelSpec.GetVersion().GetValue()
	}
	if v := versionOf("stable"); v != 1 {
		t.Fatalf("stable moved to version 2 before it was AVAILABLE: answered by %d", v)
	}
	if !strings.Contains(cs.logBuf.String(), "keeps naming its previous version") {
		t.Fatalf("no warning about the unavailable label target:\n%s", cs.logBuf.String())
	}
	cs.models["m"].write(t, 2, "broken")
	cs.pollModels(ctx)
	if v := versionOf("stable"); v != 1 {
		t.Fatalf("stable moved to a version that failed to load: %d", v)
	}
	cs.models["m"].write(t, 3, "ok")
	cs.pollModels(ctx)
	if v := versionOf("canary"); v != 3 {
		t.Fatalf("canary: %d", v)
	}
	if err := os.RemoveAll(filepath.Join(cs.models["m"].base, "2")); err != nil {
		t.Fatal(err)
	}
	cs.models["m"].write(t, 2, "ok")
	cs.pollModels(ctx)
	if v := versionOf("stable"); v != 2 {
		t.Fatalf("stable did not move once version 2 was AVAILABLE: %d", v)
	}
}

func TestConfigValidateModelSources(t *testing.T) {
	cfg := testConfig("/m")
	cfg.ModelConfigFile = "/models.config"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("base path and config file: %v", err)
	}
	cfg.BasePath, cfg.BlocklistFile, cfg.ModelConfigPollInterval, cfg.WarmupRequests = "", "/b.txt", -1, -1
	err := cfg.Validate()
	for _, want := range []string{"blocklist file", "poll interval", "warm-up requests"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate misses %q: %v", want, err)
		}
	}
	if _, err := New(func() Config { c := testConfig(""); c.ModelConfigFile = "/no/such/file"; return c }(), (&fakeModel{}).load, nil); err == nil || !strings.Contains(err.Error(), "/no/such/file") {
		t.Fatalf("missing config file at start: %v", err)
	}
}
