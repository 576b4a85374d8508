package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/prototext"

	"nann/serving"
	"nann/tfserving/servingpb"
)

// VersionPolicy says which versions of a model are served: TF Serving's
// model_version_policy. The zero value serves the newest loadable version.
type VersionPolicy struct {
	// Latest keeps the Latest newest loadable versions (0 means 1); it
	// applies when All is false and Specific is nil.
	Latest int
	// All serves every version found under the base path.
	All bool
	// Specific serves exactly these versions (those that load).
	Specific []int64
}

func (p VersionPolicy) String() string {
	switch {
	case p.All:
		return "all"
	case p.Specific != nil:
		return fmt.Sprintf("specific %v", p.Specific)
	}
	return fmt.Sprintf("latest %d", max(p.Latest, 1))
}

func (p VersionPolicy) equal(q VersionPolicy) bool {
	return max(p.Latest, 1) == max(q.Latest, 1) && p.All == q.All && slices.Equal(p.Specific, q.Specific) && (p.Specific == nil) == (q.Specific == nil)
}

// ModelConfig is one served model: an entry of --model_config_file's
// model_config_list, or the model of --model_name/--model_base_path.
type ModelConfig struct {
	// Name is what clients put in model_spec.name and REST paths.
	Name string
	// BasePath holds one numeric directory per version.
	BasePath string
	// Policy says which versions are served.
	Policy VersionPolicy
	// Labels name versions ("stable": 3, "canary": 4). A label only ever
	// names an AVAILABLE version: one naming a version that is not (yet)
	// AVAILABLE keeps its previous version until it is.
	Labels map[string]int64
}

// Validate reports every problem with c at once.
func (c ModelConfig) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("model name is empty"))
	} else if strings.ContainsAny(c.Name, "/:") {
		errs = append(errs, fmt.Errorf("model name %q holds '/' or ':', which REST paths cannot carry", c.Name))
	}
	if c.BasePath == "" {
		errs = append(errs, fmt.Errorf("model %q: base path is empty", c.Name))
	}
	if c.Policy.Latest < 0 {
		errs = append(errs, fmt.Errorf("model %q: latest %d < 0", c.Name, c.Policy.Latest))
	}
	for _, v := range c.Policy.Specific {
		if v < 0 {
			errs = append(errs, fmt.Errorf("model %q: specific version %d < 0", c.Name, v))
		}
	}
	if c.Policy.Specific != nil && len(c.Policy.Specific) == 0 {
		errs = append(errs, fmt.Errorf("model %q: model_version_policy specific lists no versions", c.Name))
	}
	for _, l := range slices.Sorted(maps.Keys(c.Labels)) {
		if l == "" || strings.Contains(l, "/") || strings.Contains(l, ":") {
			errs = append(errs, fmt.Errorf("model %q: version label %q must be non-empty and hold no '/' or ':'", c.Name, l))
		}
		if c.Labels[l] < 0 {
			errs = append(errs, fmt.Errorf("model %q: version label %q names version %d < 0", c.Name, l, c.Labels[l]))
		}
	}
	return errors.Join(errs...)
}

// ReadModelConfigFile reads TensorFlow Serving's --model_config_file: a
// text-format tensorflow.serving.ModelServerConfig such as
//
//	model_config_list {
//	  config {
//	    name: "recs"
//	    base_path: "/models/recs"
//	    model_platform: "tensorflow"
//	    model_version_policy { specific { versions: 3 versions: 4 } }
//	    version_labels { key: "stable" value: 3 }
//	    version_labels { key: "canary" value: 4 }
//	  }
//	}
//
// Every field of TF Serving's message is accepted (model_platform and
// logging_config are read but not acted upon). A relative base path is
// relative to the working directory, as in TF Serving.
func ReadModelConfigFile(path string) ([]ModelConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseModelConfig(path, b)
}

func parseModelConfig(path string, b []byte) ([]ModelConfig, error) {
	var msg servingpb.ModelServerConfig
	if err := prototext.Unmarshal(b, &msg); err != nil {
		return nil, fmt.Errorf("%s: not a text-format ModelServerConfig: %w", path, err)
	}
	if msg.GetCustomModelConfig() != nil {
		return nil, fmt.Errorf("%s: custom_model_config is not supported (use model_config_list)", path)
	}
	list := msg.GetModelConfigList()
	if list == nil {
		return nil, fmt.Errorf("%s: no model_config_list", path)
	}
	var out []ModelConfig
	var errs []error
	seen := map[string]bool{}
	for i, c := range list.GetConfig() {
		mc := ModelConfig{Name: c.GetName(), BasePath: c.GetBasePath(), Labels: c.GetVersionLabels()}
		switch p := c.GetModelVersionPolicy().GetPolicyChoice().(type) {
		case *servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_Latest_:
			mc.Policy.Latest = int(min(p.Latest.GetNumVersions(), 1<<20))
		case *servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_All_:
			mc.Policy.All = true
		case *servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_Specific_:
			mc.Policy.Specific = slices.Sorted(slices.Values(p.Specific.GetVersions()))
			mc.Policy.Specific = slices.Compact(mc.Policy.Specific)
			if mc.Policy.Specific == nil {
				mc.Policy.Specific = []int64{}
			}
		}
		if strings.Contains(mc.BasePath, "://") {
			errs = append(errs, fmt.Errorf("config %d (%q): base_path %q: only local directories are served", i+1, mc.Name, mc.BasePath))
		}
		if err := mc.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("config %d: %w", i+1, err))
		}
		if seen[mc.Name] {
			errs = append(errs, fmt.Errorf("config %d: model name %q appears twice", i+1, mc.Name))
		}
		seen[mc.Name] = true
		out = append(out, mc)
	}
	if len(out) == 0 {
		errs = append(errs, errors.New("model_config_list holds no config"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// model is one served model: its versions and its blocklist.
type model struct {
	name  string      // cfg.Name, which never changes
	cfg   ModelConfig // guarded by registry.mu
	mgr   *manager
	block *blocklistWatch
}

// registry is the set of served models, by name.
type registry struct {
	mu     sync.RWMutex
	byName map[string]*model
}

func (r *registry) lookup(name string) *model {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byName[name]
}

func (r *registry) get(name string) (*model, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if m := r.byName[name]; m != nil {
		return m, nil
	}
	names := slices.Sorted(maps.Keys(r.byName))
	if len(names) == 1 {
		return nil, notFoundf("model %q not found (this server serves %q)", name, names[0])
	}
	served := make([]string, len(names))
	for i, n := range names {
		served[i] = fmt.Sprintf("%q", n)
	}
	return nil, notFoundf("model %q not found (this server serves %s)", name, strings.Join(served, ", "))
}

// all returns the models sorted by name.
func (r *registry) all() []*model {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ms := slices.Collect(maps.Values(r.byName))
	sort.Slice(ms, func(i, j int) bool { return ms[i].name < ms[j].name })
	return ms
}

// newModel builds (but does not poll) a model.
func (s *Server) newModel(mc ModelConfig) *model {
	log := s.log.With("model", mc.Name)
	m := &model{name: mc.Name, cfg: mc}
	m.mgr = newManager(mc.BasePath, 1, s.loader, log, func(live int) {
		s.met.modelVersions.WithLabelValues(mc.Name).Set(float64(live))
		s.updateHealth()
	})
	m.mgr.name = mc.Name
	m.mgr.policy = mc.Policy
	m.mgr.labels = maps.Clone(mc.Labels)
	m.mgr.retryFirst, m.mgr.retryMax, m.mgr.maxRetries = s.cfg.LoadRetryInterval, s.cfg.MaxLoadRetryInterval, s.cfg.MaxLoadRetries
	m.mgr.warm = func(ctx context.Context, v *version) error { return s.warmup(ctx, mc.Name, v) }
	m.mgr.onClose = func(num int64) {
		if cur := s.models.lookup(mc.Name); cur == m || cur == nil {
			s.met.forgetVersion(mc.Name, num)
		}
	}
	m.block = newBlocklistWatch(s.blocklistPath(mc), log, s.met, mc.Name)
	return m
}

// updateHealth reports SERVING while some model has a version serving.
func (s *Server) updateHealth() {
	total := 0
	for _, m := range s.models.all() {
		total += m.mgr.liveCount()
	}
	s.met.versions.Set(float64(total))
	s.setHealth(total > 0)
}

// pollModels scans every model's base path and blocklist once.
func (s *Server) pollModels(ctx context.Context) {
	for _, m := range s.models.all() {
		if ctx.Err() != nil {
			return
		}
		m.block.poll()
		m.mgr.poll(ctx)
	}
}

// reloadModelConfig re-reads Config.ModelConfigFile and applies it; a file
// that cannot be read or is invalid keeps the models as they are.
func (s *Server) reloadModelConfig(ctx context.Context) {
	b, err := os.ReadFile(s.cfg.ModelConfigFile)
	if err == nil && string(b) == s.configText {
		return
	}
	var cfgs []ModelConfig
	if err == nil {
		cfgs, err = parseModelConfig(s.cfg.ModelConfigFile, b)
	}
	if err != nil {
		s.met.configFailures.Inc()
		if msg := err.Error(); msg != s.configErr {
			s.configErr = msg
			s.log.Error("model config file not applied; the previous configuration stays in force", "file", s.cfg.ModelConfigFile, "err", err)
		}
		return
	}
	s.configErr = ""
	s.configText = string(b)
	s.applyModels(ctx, cfgs)
}

// applyModels brings the served models to cfgs: new models are added and
// loaded, models whose base path changed are loaded anew and swapped in,
// policies and labels of the others are updated in place, and models no
// longer listed are removed at once from routing, then drained (their
// in-flight requests finish) and unloaded.
func (s *Server) applyModels(ctx context.Context, cfgs []ModelConfig) {
	want := map[string]ModelConfig{}
	for _, c := range cfgs {
		want[c.Name] = c
	}
	var removed []*model
	s.models.mu.Lock()
	for name, m := range s.models.byName {
		if _, ok := want[name]; !ok {
			delete(s.models.byName, name)
			removed = append(removed, m)
		}
	}
	var added, moved []*model
	for _, c := range cfgs {
		old := s.models.byName[c.Name]
		switch {
		case old == nil:
			m := s.newModel(c)
			s.models.byName[c.Name] = m
			added = append(added, m)
		case old.cfg.BasePath != c.BasePath:
			moved = append(moved, s.newModel(c))
		default:
			if !old.cfg.Policy.equal(c.Policy) {
				old.mgr.log.Info("version policy changed", "from", old.cfg.Policy.String(), "to", c.Policy.String())
				old.mgr.setPolicy(c.Policy)
			}
			if !maps.Equal(old.cfg.Labels, c.Labels) {
				old.mgr.log.Info("version labels changed", "from", old.cfg.Labels, "to", c.Labels)
				old.mgr.setLabels(c.Labels)
			}
			old.cfg = c
		}
	}
	s.models.mu.Unlock()
	for _, m := range removed {
		s.log.Info("model removed from the config: draining and unloading it", "model", m.name)
		s.drain(m, true)
	}
	for _, m := range added {
		s.log.Info("model added", "model", m.cfg.Name, "base_path", m.cfg.BasePath, "policy", m.cfg.Policy.String())
		m.block.poll()
		m.mgr.poll(ctx)
	}
	for _, m := range moved {
		s.log.Info("model base path changed: loading it from the new path before switching", "model", m.cfg.Name, "base_path", m.cfg.BasePath)
		m.block.poll()
		m.mgr.poll(ctx)
		s.models.mu.Lock()
		old := s.models.byName[m.cfg.Name]
		s.models.byName[m.cfg.Name] = m
		s.models.mu.Unlock()
		if old != nil {
			s.drain(old, false)
		}
	}
	for _, m := range s.models.all() {
		m.mgr.poll(ctx)
	}
	s.updateHealth()
}

// drain unloads a model no longer routed to, once its in-flight requests
// have finished.
func (s *Server) drain(m *model, forget bool) {
	s.met.blocklists.remove(m.name, m.block)
	s.drains.Add(1)
	go func() {
		defer s.drains.Done()
		m.mgr.closeAll()
		if forget && s.models.lookup(m.name) == nil { // not added again meanwhile
			s.met.forgetModel(m.name)
		}
		s.updateHealth()
		s.log.Info("model unloaded", "model", m.name)
	}()
}

// modelConfigs is the configuration at start: the config file's models,
// or the single model of ModelName and BasePath.
func (c Config) modelConfigs() ([]ModelConfig, string, error) {
	if c.ModelConfigFile == "" {
		return []ModelConfig{{Name: c.ModelName, BasePath: c.BasePath, Policy: VersionPolicy{Latest: c.ServeVersions}}}, "", nil
	}
	b, err := os.ReadFile(c.ModelConfigFile)
	if err != nil {
		return nil, "", fmt.Errorf("model config file: %w", err)
	}
	cfgs, err := parseModelConfig(c.ModelConfigFile, b)
	return cfgs, string(b), err
}

// loaderWith wraps load with the server's checks and counters.
func (s *Server) loaderWith(load serving.Loader) serving.Loader {
	return s.countingLoader(boundedLoader(load, s.cfg.MaxLevelTopN))
}
