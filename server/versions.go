package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"nann/serving"
	"nann/tfserving/servingpb"
)

// version is one loaded model version. refs counts in-flight requests; a
// retired version is closed when its last request releases it.
type version struct {
	num      int64
	dir      string
	servable serving.Servable
	sig      serving.Signature
	refs     int  // guarded by manager.mu
	retiring bool // guarded by manager.mu
}

// versionState is what GetModelStatus reports for a version.
type versionState struct {
	state servingpb.ModelVersionStatus_State
	err   error
	mtime time.Time // of the directory when last loaded or tried
	// failures counts consecutive failed loads; the next try is at retryAt
	// (or at once if the directory's mtime changes).
	failures int
	retryAt  time.Time
}

// manager polls the base path, loads new versions fully, swaps them in
// atomically and retires old ones after their in-flight requests finish.
type manager struct {
	name string // the model's name, for metrics
	base string
	load serving.Loader
	log  *slog.Logger
	// warm, when set, runs on a loaded version before it is published
	// (AVAILABLE); an error fails the load.
	warm func(ctx context.Context, v *version) error
	// onClose, when set, is called after a version is closed.
	onClose func(num int64)
	// retryFirst and retryMax bound the backoff between load attempts of
	// a version that failed: retryFirst after the first failure, doubling
	// up to retryMax.
	retryFirst, retryMax time.Duration
	// maxRetries, if > 0, is how many times a failed version is retried
	// before the manager gives up on it until its directory changes
	// (mtime); 0 retries forever.
	maxRetries int
	// warnedEmpty is set while the base path holds no version, so the
	// warning is logged once, not on every poll.
	warnedEmpty bool
	onSet       func(live int) // called after each poll with the live count
	pollMu      sync.Mutex     // one poll at a time

	mu     sync.Mutex
	policy VersionPolicy
	live   map[int64]*version
	states map[int64]*versionState
	// labels are the configured version labels; labelEff is the version
	// each label last resolved to, which keeps serving while the
	// configured one is not AVAILABLE (a label only ever names an
	// AVAILABLE version); labelWarned avoids repeating that warning.
	labels, labelEff, labelWarned map[string]int64
	closing                       sync.WaitGroup // retired versions not yet closed
	// stopped is set by closeAll: a version whose load finishes later is
	// closed at once instead of published (a model removed from the config
	// while a poll was loading it).
	stopped bool
}

func newManager(base string, keep int, load serving.Loader, log *slog.Logger, onSet func(int)) *manager {
	return &manager{
		base: base, policy: VersionPolicy{Latest: keep}, load: load, log: log, onSet: onSet,
		retryFirst: time.Second, retryMax: time.Minute,
		live:     make(map[int64]*version),
		states:   make(map[int64]*versionState),
		labelEff: make(map[string]int64), labelWarned: make(map[string]int64),
	}
}

// setPolicy changes which versions the next poll keeps.
func (m *manager) setPolicy(p VersionPolicy) {
	m.mu.Lock()
	m.policy = p
	m.mu.Unlock()
}

// setLabels replaces the version labels; a label takes effect once its
// version is AVAILABLE (until then it keeps its previous version).
func (m *manager) setLabels(labels map[string]int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.labels = maps.Clone(labels)
	for l := range m.labelEff {
		if _, ok := labels[l]; !ok {
			delete(m.labelEff, l)
		}
	}
	m.checkLabelsLocked()
}

// checkLabelsLocked moves every label whose configured version is live to
// it, and warns (once per target) about labels naming a version that is
// not AVAILABLE.
func (m *manager) checkLabelsLocked() {
	for l, num := range m.labels {
		if _, ok := m.live[num]; ok {
			m.labelEff[l] = num
			delete(m.labelWarned, l)
			continue
		}
		if w, ok := m.labelWarned[l]; ok && w == num {
			continue
		}
		m.labelWarned[l] = num
		if prev, ok := m.labelEff[l]; ok {
			m.log.Warn("version label names a version that is not AVAILABLE; it keeps naming its previous version until then", "label", l, "version", num, "previous_version", prev)
		} else {
			m.log.Warn("version label names a version that is not AVAILABLE; requests for it fail until then", "label", l, "version", num)
		}
	}
}

// labelTargetLocked is the live version a label names now.
func (m *manager) labelTargetLocked(label string) (*version, error) {
	num, ok := m.labels[label]
	if !ok {
		if len(m.labels) == 0 {
			return nil, notFoundf("version label %q not found (no version labels are configured for this model)", label)
		}
		return nil, notFoundf("version label %q not found (labels: %s)", label, strings.Join(slices.Sorted(maps.Keys(m.labels)), ", "))
	}
	if v := m.live[num]; v != nil {
		m.labelEff[label] = num
		return v, nil
	}
	if prev, ok := m.labelEff[label]; ok {
		if v := m.live[prev]; v != nil {
			return v, nil
		}
	}
	return nil, notFoundf("version label %q names version %d, which is not AVAILABLE%s", label, num, m.stateNoteLocked(num))
}

// liveCount is the number of versions serving now.
func (m *manager) liveCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.live)
}

// versionOf resolves a version number or label for status requests.
func (m *manager) versionOf(want *int64, label string) (*int64, error) {
	if label == "" {
		return want, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, err := m.labelTargetLocked(label)
	if err != nil {
		return nil, err
	}
	return &v.num, nil
}

// acquire returns the requested version (nil: the newest) with a reference
// that the caller must give back with release.
func (m *manager) acquire(want *int64) (*version, error) { return m.acquireFor(want, "") }

// acquireFor is acquire by version number or, when label is set, by
// version label.
func (m *manager) acquireFor(want *int64, label string) (*version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var v *version
	if label != "" {
		var err error
		if v, err = m.labelTargetLocked(label); err != nil {
			return nil, err
		}
	} else if want == nil {
		for _, c := range m.live {
			if v == nil || c.num > v.num {
				v = c
			}
		}
		if v == nil {
			return nil, errorf(kindUnavailable, "no version of the model is available yet (see model status)")
		}
	} else if v = m.live[*want]; v == nil {
		return nil, notFoundf("version %d of the model is not available%s", *want, m.stateNoteLocked(*want))
	}
	v.refs++
	return v, nil
}

func (m *manager) stateNoteLocked(num int64) string {
	st := m.states[num]
	switch {
	case st == nil:
		return ""
	case st.err != nil:
		return fmt.Sprintf(" (state %v: %v)", st.state, st.err)
	}
	return fmt.Sprintf(" (state %v)", st.state)
}

// release gives back a reference taken by acquire.
func (m *manager) release(v *version) {
	m.mu.Lock()
	v.refs--
	last := v.retiring && v.refs == 0
	m.mu.Unlock()
	if last {
		m.close(v)
	}
}

// retireLocked removes v from service; it is closed now or when its last
// request finishes.
func (m *manager) retireLocked(v *version) (closeNow bool) {
	delete(m.live, v.num)
	v.retiring = true
	m.setState(v.num, servingpb.ModelVersionStatus_UNLOADING, nil)
	m.closing.Add(1)
	return v.refs == 0
}

func (m *manager) close(v *version) {
	defer m.closing.Done()
	err := v.servable.Close()
	m.mu.Lock()
	m.setState(v.num, servingpb.ModelVersionStatus_END, err)
	m.mu.Unlock()
	if m.onClose != nil {
		m.onClose(v.num)
	}
	if err != nil {
		m.log.Error("closing model version failed", "version", v.num, "err", err)
		return
	}
	m.log.Info("model version unloaded", "version", v.num)
}

// setState must be called with mu held.
func (m *manager) setState(num int64, s servingpb.ModelVersionStatus_State, err error) {
	st := m.states[num]
	if st == nil {
		st = &versionState{}
		m.states[num] = st
	}
	st.state, st.err = s, err
}

type versionDir struct {
	num   int64
	path  string
	mtime time.Time
}

// scan lists the numeric version directories under base, newest first.
func (m *manager) scan() ([]versionDir, error) {
	vs, err := serving.ListVersions(m.base)
	if err != nil {
		return nil, fmt.Errorf("model base path: %w", err)
	}
	dirs := make([]versionDir, 0, len(vs))
	for _, n := range vs {
		path := filepath.Join(m.base, strconv.FormatInt(n, 10))
		info, err := os.Stat(path)
		if err != nil {
			continue
		}
		dirs = append(dirs, versionDir{n, path, info.ModTime()})
	}
	return dirs, nil
}

// poll brings the live set to what the version policy asks (by default
// the newest loadable version): new versions are loaded (and warmed up)
// fully before they are published, and the versions they replace are
// retired only afterwards. A version that fails to load is reported and
// retried with exponential backoff (its files may still be arriving), and
// at once when its directory's mtime changes.
func (m *manager) poll(ctx context.Context) {
	m.pollMu.Lock()
	defer m.pollMu.Unlock()
	m.mu.Lock()
	pol := m.policy
	m.mu.Unlock()
	dirs, err := m.scan()
	if err != nil {
		m.log.Warn("cannot list model versions", "err", err)
		return
	}
	if len(dirs) == 0 && !m.warnedEmpty {
		m.log.Warn("no model versions under the base path yet (want numeric directories such as 1/, 2/)", "base_path", m.base)
	}
	m.warnedEmpty = len(dirs) == 0
	keepSet := make(map[int64]bool)
	for _, d := range dirs {
		if (!pol.All && pol.Specific == nil && len(keepSet) == max(pol.Latest, 1)) || ctx.Err() != nil {
			break
		}
		if pol.Specific != nil && !slices.Contains(pol.Specific, d.num) {
			continue
		}
		if m.ensureLoaded(ctx, d) {
			keepSet[d.num] = true
		}
	}
	if ctx.Err() != nil {
		return
	}
	var toClose []*version
	m.mu.Lock()
	m.checkLabelsLocked()
	if len(keepSet) > 0 || len(dirs) == 0 {
		for num, v := range m.live {
			if !keepSet[num] && m.retireLocked(v) {
				toClose = append(toClose, v)
			}
		}
	}
	live := len(m.live)
	m.mu.Unlock()
	for _, v := range toClose {
		m.close(v)
	}
	if m.onSet != nil {
		m.onSet(live)
	}
}

// ensureLoaded reports whether d is live, loading it if needed.
func (m *manager) ensureLoaded(ctx context.Context, d versionDir) bool {
	now := time.Now()
	m.mu.Lock()
	_, live := m.live[d.num]
	st := m.states[d.num]
	wait := st != nil && st.failures > 0 && st.mtime.Equal(d.mtime) &&
		(now.Before(st.retryAt) || (m.maxRetries > 0 && st.failures > m.maxRetries))
	if !live && !wait {
		m.setState(d.num, servingpb.ModelVersionStatus_LOADING, nil)
		st = m.states[d.num]
		st.mtime = d.mtime
	}
	m.mu.Unlock()
	if live {
		return true
	}
	if wait {
		return false
	}
	m.log.Info("loading model version", "version", d.num, "dir", d.path, "attempt", st.failures+1)
	start := time.Now()
	v, err := m.loadVersion(ctx, d)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.setState(d.num, servingpb.ModelVersionStatus_END, err)
		if ctx.Err() == nil {
			st.failures++
			backoff := m.retryMax
			if st.failures < 32 {
				backoff = min(m.retryFirst<<(st.failures-1), m.retryMax)
			}
			st.retryAt = time.Now().Add(backoff)
			if m.maxRetries > 0 && st.failures > m.maxRetries {
				m.log.Error("model version failed to load; giving up on it until its directory changes; older versions keep serving", "version", d.num, "dir", d.path, "err", err, "attempts", st.failures)
			} else {
				m.log.Error("model version failed to load; older versions keep serving", "version", d.num, "dir", d.path, "err", err, "attempt", st.failures, "retry_in", backoff.String())
			}
		}
		return false
	}
	if m.stopped {
		m.setState(d.num, servingpb.ModelVersionStatus_END, errors.New("the model was unloaded while this version loaded"))
		m.mu.Unlock()
		if err := v.servable.Close(); err != nil {
			m.log.Error("closing model version failed", "version", v.num, "err", err)
		}
		m.mu.Lock() // for the deferred Unlock
		return false
	}
	st.failures = 0
	m.live[d.num] = v
	m.setState(d.num, servingpb.ModelVersionStatus_AVAILABLE, nil)
	m.log.Info("model version available", "version", d.num, "load_seconds", time.Since(start).Seconds())
	return true
}

// loadVersion runs the Loader, turning a panic into an error, and checks
// the servable's signature.
func (m *manager) loadVersion(ctx context.Context, d versionDir) (v *version, err error) {
	defer func() {
		if p := recover(); p != nil {
			m.log.Error("panic while loading model version", "version", d.num, "panic", p, "stack", string(debug.Stack()))
			v, err = nil, fmt.Errorf("load %s: panic: %v", d.path, p)
		}
	}()
	s, err := m.load(ctx, d.path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", d.path, err)
	}
	if s == nil {
		return nil, fmt.Errorf("load %s: loader returned no servable", d.path)
	}
	sig := s.Signature()
	if err := sig.Validate(); err != nil {
		return nil, errors.Join(fmt.Errorf("load %s: %w", d.path, err), s.Close())
	}
	v = &version{num: d.num, dir: d.path, servable: s, sig: sig}
	if m.warm != nil {
		if err := m.warm(ctx, v); err != nil {
			return nil, errors.Join(fmt.Errorf("load %s: warm-up: %w", d.path, err), s.Close())
		}
	}
	return v, nil
}

// statuses returns the states of all known versions (or just want's),
// newest first.
func (m *manager) statuses(want *int64) ([]*servingpb.ModelVersionStatus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var nums []int64
	for n := range m.states {
		if want == nil || n == *want {
			nums = append(nums, n)
		}
	}
	if len(nums) == 0 {
		if want != nil {
			return nil, notFoundf("version %d of the model is unknown", *want)
		}
		return nil, notFoundf("no version of the model has been found under the base path yet")
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] > nums[j] })
	out := make([]*servingpb.ModelVersionStatus, len(nums))
	for i, n := range nums {
		out[i] = m.states[n].proto(n)
	}
	return out, nil
}

// closeAll retires every live version and waits until all are closed.
func (m *manager) closeAll() {
	var toClose []*version
	m.mu.Lock()
	m.stopped = true
	for _, v := range m.live {
		if m.retireLocked(v) {
			toClose = append(toClose, v)
		}
	}
	m.mu.Unlock()
	for _, v := range toClose {
		m.close(v)
	}
	m.closing.Wait()
}
