package train

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"nann/nn"
)

func testParams() ([]*nn.Param, []*nn.Param) {
	return []*nn.Param{
			{Name: "emb", Shape: []int{4, 2}, W: []float32{1, 2, 3, 4, 5, 6, 7, 8}, Decay: true},
			{Name: "bias", Shape: []int{3}, W: []float32{-1, 0, 1}},
		}, []*nn.Param{
			{Name: "bn/mean", Shape: []int{2}, W: []float32{0.5, 0.25}},
		}
}

func TestCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	params, state := testParams()
	opt := NewAdamW(Default(), params)
	opt.M[0][3], opt.V[1][2] = 0.125, 9
	meta := ckptMeta{Position: Position{Step: 42, Epoch: 1, StepInEpoch: 2, ShuffleSeed: 99, Samples: 4200}, Replicas: 2, RNG: []byte("pcg-state")}
	path := filepath.Join(dir, "x.ckpt")
	if err := writeCheckpoint(path, meta, modelTensors(params, state, opt)); err != nil {
		t.Fatal(err)
	}
	c, err := readCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Position != meta.Position || c.Replicas != 2 || string(c.RNG) != "pcg-state" {
		t.Fatalf("meta %+v", c)
	}
	p2, s2 := testParams()
	for _, p := range append(p2, s2...) {
		clear(p.W)
	}
	o2 := NewAdamW(Default(), p2)
	if err := c.loadParams(p2, s2, o2); err != nil {
		t.Fatal(err)
	}
	for i := range params {
		if !slices.Equal(params[i].W, p2[i].W) || !slices.Equal(opt.M[i], o2.M[i]) || !slices.Equal(opt.V[i], o2.V[i]) {
			t.Fatalf("param %d differs after round trip", i)
		}
	}
	if !slices.Equal(state[0].W, s2[0].W) {
		t.Fatal("state differs")
	}
	// A shape mismatch names the tensor.
	p2[0].Shape = []int{2, 4}
	if err := c.loadParams(p2, s2, o2); err == nil || !strings.Contains(err.Error(), `"emb"`) {
		t.Fatalf("shape mismatch: %v", err)
	}
}

func TestCheckpointCorruptionDetected(t *testing.T) {
	dir := t.TempDir()
	params, state := testParams()
	path := filepath.Join(dir, "x.ckpt")
	if err := writeCheckpoint(path, ckptMeta{}, modelTensors(params, state, nil)); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"flipped payload bit", func() []byte { b := bytes.Clone(good); b[len(b)-40] ^= 1; return b }()},
		{"truncated", good[:len(good)-10]},
		{"truncated to header", good[:20]},
		{"empty", nil},
		{"bad magic", func() []byte { b := bytes.Clone(good); b[0] = 'X'; return b }()},
	} {
		if _, err := decodeCheckpoint(tc.b); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestNewestCheckpointFallsBack(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ckptDir), 0o755)
	params, state := testParams()
	for _, step := range []int64{10, 20, 30} {
		params[1].W[0] = float32(step)
		p := filepath.Join(dir, ckptDir, ckptName(step))
		if err := writeCheckpoint(p, ckptMeta{Position: Position{Step: step}}, modelTensors(params, state, nil)); err != nil {
			t.Fatal(err)
		}
	}
	// Truncate the newest, corrupt the middle one → step 10 is used.
	newest := filepath.Join(dir, ckptDir, ckptName(30))
	b, _ := os.ReadFile(newest)
	os.WriteFile(newest, b[:len(b)/2], 0o644)
	mid := filepath.Join(dir, ckptDir, ckptName(20))
	b, _ = os.ReadFile(mid)
	b[30] ^= 0xff
	os.WriteFile(mid, b, 0o644)

	var logs bytes.Buffer
	c, path, err := newestCheckpoint(dir, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	if err != nil || c == nil {
		t.Fatalf("newestCheckpoint: %v %v", c, err)
	}
	if c.Step != 10 || filepath.Base(path) != ckptName(10) {
		t.Fatalf("got step %d from %s, want 10", c.Step, path)
	}
	for _, f := range []string{ckptName(30), ckptName(20)} {
		if !strings.Contains(logs.String(), f) {
			t.Errorf("no warning naming %s in logs:\n%s", f, logs.String())
		}
	}
	pruneCheckpoints(dir, 1, nil)
	files, _ := listCheckpoints(dir)
	if len(files) != 1 || filepath.Base(files[0]) != ckptName(30) {
		t.Errorf("after prune: %v", files)
	}
}

// FuzzParseCheckpoint feeds arbitrary bodies (the part a valid checksum
// covers) to the parser: it must return an error or a checkpoint whose
// tensors lie inside the payload, never panic.
func FuzzParseCheckpoint(f *testing.F) {
	params, state := testParams()
	path := filepath.Join(f.TempDir(), "x.ckpt")
	if err := writeCheckpoint(path, ckptMeta{Position: Position{Step: 3}, RNG: []byte{1, 2}}, modelTensors(params, state, NewAdamW(Default(), params))); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	f.Add(good[:len(good)-32])
	f.Add(good[:ckptFixed])
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseCheckpoint(b)
		if err != nil {
			return
		}
		for k, e := range c.tensors {
			if e.Offset < 0 || e.Len < 0 || e.Offset+e.Len > int64(len(c.payload)) {
				t.Fatalf("tensor %s outside the payload: %+v", k, e)
			}
		}
	})
}
