package server

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"nann/serving"
)

func liveVersions(m *manager) []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []int64
	for n := range m.live {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// TestVersionPolicies: latest N, all and specific select the versions
// TF Serving would; a change of policy takes effect at the next poll.
func TestVersionPolicies(t *testing.T) {
	fm := newFakeModel(t, 1, 2, 3, 5)
	m := newManager(fm.base, 1, fm.load, quietLogger(), nil)
	ctx := context.Background()
	for _, c := range []struct {
		p    VersionPolicy
		want []int64
	}{
		{VersionPolicy{}, []int64{5}},
		{VersionPolicy{Latest: 2}, []int64{3, 5}},
		{VersionPolicy{All: true}, []int64{1, 2, 3, 5}},
		{VersionPolicy{Specific: []int64{2, 4}}, []int64{2}}, // 4 is not on disk
		{VersionPolicy{Specific: []int64{1, 5}}, []int64{1, 5}},
		{VersionPolicy{Latest: 1}, []int64{5}},
	} {
		m.setPolicy(c.p)
		m.poll(ctx)
		if got := liveVersions(m); !slices.Equal(got, c.want) {
			t.Fatalf("policy %v: live %v, want %v", c.p, got, c.want)
		}
	}
	// specific {9}: nothing loadable, so what serves keeps serving.
	m.setPolicy(VersionPolicy{Specific: []int64{9}})
	m.poll(ctx)
	if got := liveVersions(m); !slices.Equal(got, []int64{5}) {
		t.Fatalf("specific [9]: live %v, want [5] kept", got)
	}
	m.closeAll()
}

// TestRemovedModelLoadingVersionIsClosed: a model removed from the config
// while a poll is loading one of its versions: the version is closed when
// its load finishes, never published.
func TestRemovedModelLoadingVersionIsClosed(t *testing.T) {
	base := t.TempDir()
	if err := os.Mkdir(filepath.Join(base, "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	var sv *fakeServable
	load := func(ctx context.Context, dir string) (serving.Servable, error) {
		close(started)
		<-release
		n, _ := strconv.ParseInt(filepath.Base(dir), 10, 64)
		sv = &fakeServable{version: n}
		return sv, nil
	}
	m := newManager(base, 1, load, quietLogger(), nil)
	polled := make(chan struct{})
	go func() { m.poll(context.Background()); close(polled) }()
	<-started
	m.closeAll()
	close(release)
	<-polled
	if !sv.closed.Load() || len(liveVersions(m)) != 0 {
		t.Fatalf("closed %v, live %v", sv.closed.Load(), liveVersions(m))
	}
}
