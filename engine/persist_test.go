package engine

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nann/internal/npy"
)

// TestSaveLoad round-trips float32 and float16 engines and checks that the
// loaded engine scores bit for bit like the saved one.
func TestSaveLoad(t *testing.T) {
	ts := newSetup(t, 300, 20, 2, 21)
	for i, p := range []Precision{Float32, Float16, Float16} {
		e, err := Compile(ts.w, ts.cates, Options{Table: p, Store: Layout(i / 2)})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "engine")
		if err := e.Save(dir); err != nil {
			t.Fatal(err)
		}
		if err := e.Save(dir); err != nil { // replacing an existing engine
			t.Fatal(err)
		}
		l, err := Load(dir, 1)
		if err != nil {
			t.Fatal(err)
		}
		if l.Precision() != p || l.Config() != e.Config() || l.Layout() != e.Layout() {
			t.Fatalf("loaded %v %+v, saved %v %+v", l.Precision(), l.Config(), p, e.Config())
		}
		checkSameScores(t, p.String(), ts, e, l)
	}
}

// TestLoadRejects corrupts a saved engine in several ways and expects an
// error naming the problem.
func TestLoadRejects(t *testing.T) {
	ts := newSetup(t, 100, 10, 1, 22)
	e, err := Compile(ts.w, ts.cates, Options{Table: Float16})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, want string
		corrupt    func(dir string) error
	}{
		{"nan", "not finite", func(dir string) error {
			v := make([]float32, 128)
			v[7] = float32(math.NaN())
			return npy.Write(filepath.Join(dir, "attn_mb.npy"), v, 128)
		}},
		{"shape", "shape", func(dir string) error {
			return npy.Write(filepath.Join(dir, "score_w2.npy"), make([]float32, 64*128), 64, 128)
		}},
		{"dtype", "dtype", func(dir string) error {
			return npy.Write(filepath.Join(dir, "item_table.npy"), make([]float32, 100*256), 100, 256)
		}},
		{"f16inf", "not finite", func(dir string) error {
			v := make([]uint16, 100*256)
			v[99] = 0x7c00
			return npy.WriteFloat16(filepath.Join(dir, "item_table.npy"), v, 100, 256)
		}},
		{"missing", "no such file", func(dir string) error { return os.Remove(filepath.Join(dir, "cate_emb.npy")) }},
		{"json", "engine.json", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "engine.json"), []byte(`{"format": "nann-engine", "version": 1, "config": {`), 0o644)
		}},
		{"config", "mlp[1]", func(dir string) error {
			m, err := readMeta(filepath.Join(dir, "engine.json"))
			if err != nil {
				return err
			}
			m.Config.ScoreHidden[1] = 60
			b, _ := json.Marshal(m)
			return os.WriteFile(filepath.Join(dir, "engine.json"), b, 0o644)
		}},
		{"version", "version", func(dir string) error {
			b, _ := os.ReadFile(filepath.Join(dir, "engine.json"))
			s := strings.Replace(string(b), `"version": 1`, `"version": 2`, 1)
			return os.WriteFile(filepath.Join(dir, "engine.json"), []byte(s), 0o644)
		}},
	}
	for _, c := range cases {
		dir := filepath.Join(t.TempDir(), c.name)
		if err := e.Save(dir); err != nil {
			t.Fatal(err)
		}
		if err := c.corrupt(dir); err != nil {
			t.Fatal(err)
		}
		_, err := Load(dir, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Load error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}
