package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadMeta feeds arbitrary bytes as engine.json: readMeta must return
// an error or a meta whose config validates, never panic.
func FuzzReadMeta(f *testing.F) {
	good, _ := json.Marshal(meta{Format: formatName, Version: formatVersion, Config: DefaultConfig(10, 3), Table: "float16", Store: "hu",
		Tensors: map[string][]int{"item_table": {10, 256}}})
	f.Add(good)
	f.Add([]byte(`{"format":"nann-engine","version":1,"config":{"num_items":1e99}}`))
	f.Add([]byte(`{"format":"nann-engine","version":1,"config":{"mlp":[8,8]}}`))
	f.Add([]byte(`[]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "engine.json")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := readMeta(path)
		if err == nil {
			if verr := m.Config.Validate(); verr != nil {
				t.Fatalf("readMeta accepted an invalid config: %v", verr)
			}
		}
	})
}

// BenchmarkBind measures the per-user work (keys, K', c, V and packing).
func BenchmarkBind(b *testing.B) {
	ts := newSetup(b, 1000, 10, 1, 51)
	e, err := Compile(ts.w, ts.cates, Options{})
	if err != nil {
		b.Fatal(err)
	}
	s := e.NewScorer()
	for b.Loop() {
		if err := s.BindSeq(ts.users[0]); err != nil {
			b.Fatal(err)
		}
	}
}
