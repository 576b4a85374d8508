package hnsw

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"nann/internal/npy"
	"nann/item"
)

func smallGraph(t testing.TB) ([]float32, *Graph) {
	t.Helper()
	x := Clustered(300, 6, 5, 0.5, 2)
	return x, buildOneWorker(t, x, 6, 4)
}

// buildOneWorker builds the graph of x (rows of dim) with M = m and the
// other defaults on one worker (deterministic).
func buildOneWorker(t testing.TB, x []float32, dim, m int) *Graph {
	t.Helper()
	cfg := DefaultConfig()
	cfg.M, cfg.Workers = m, 1
	g, err := Build(context.Background(), x, dim, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func sameGraph(t *testing.T, a, b *Graph, levels int) {
	t.Helper()
	if a.Len() != b.Len() {
		t.Fatalf("len %d vs %d", a.Len(), b.Len())
	}
	for l := range levels {
		for i := range item.Row(a.Len()) {
			if !slices.Equal(a.Neighbors(l, i), b.Neighbors(l, i)) {
				t.Fatalf("level %d node %d: %v vs %v", l, i, a.Neighbors(l, i), b.Neighbors(l, i))
			}
		}
	}
}

func TestFileRoundTrip(t *testing.T) {
	_, g := testData()
	p := filepath.Join(t.TempDir(), "graph.hnsw")
	if err := g.Write(p); err != nil {
		t.Fatal(err)
	}
	h, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	sameGraph(t, g, h, g.Levels())
	if h.Levels() != g.Levels() || h.Entry() != g.Entry() || h.M() != 32 || h.Dim() != 32 || h.EfConstruction() != 40 {
		t.Fatalf("header fields differ: %d/%d %d/%d", h.Levels(), g.Levels(), h.Entry(), g.Entry())
	}
	for l := range g.Levels() + 1 {
		if !slices.Equal(g.EnterPoints(l), h.EnterPoints(l)) {
			t.Fatalf("enter points of level %d differ", l)
		}
	}
}

func TestFileCorruptionDetected(t *testing.T) {
	_, g := smallGraph(t)
	var buf bytes.Buffer
	if err := g.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	if _, err := Decode(good); err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{0, 7, 20, headerSize + 3, len(good) / 2, len(good) - 1} {
		if _, err := Decode(good[:cut]); err == nil {
			t.Errorf("truncated to %d bytes: no error", cut)
		}
	}
	for _, pos := range []int{3, 9, 30, len(good) / 2, len(good) - 2} {
		bad := slices.Clone(good)
		bad[pos] ^= 0x40
		if _, err := Decode(bad); err == nil {
			t.Errorf("flipped byte %d: no error", pos)
		}
	}
	// Structurally bad graphs with a valid checksum.
	for name, spoil := range map[string]func(g *Graph){
		"out of range": func(g *Graph) { g.adj[0].val[5] = 1 << 30 },
		"decrease":     func(g *Graph) { g.adj[0].off[3], g.adj[0].off[4] = g.adj[0].off[4], g.adj[0].off[3] },
		"entry point":  func(g *Graph) { g.entry = 1 << 20 },
	} {
		_, h := smallGraph(t)
		spoil(h)
		buf.Reset()
		if err := h.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(buf.Bytes()); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	// A bad header with a valid checksum.
	bad := slices.Clone(good)
	binary.LittleEndian.PutUint64(bad[16:], 1<<40)
	binary.LittleEndian.PutUint32(bad[len(bad)-4:], crcOf(bad[:len(bad)-4]))
	if _, err := Decode(bad); err == nil || !strings.Contains(err.Error(), "node count") {
		t.Errorf("huge node count: err %v", err)
	}
}

func crcOf(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

func TestNPYRoundTrip(t *testing.T) {
	x, g := testData()
	dir := t.TempDir()
	if err := g.WriteNPY(dir, StartLevel); err != nil {
		t.Fatal(err)
	}
	h, err := ReadNPY(dir, g.Len(), StartLevel)
	if err != nil {
		t.Fatal(err)
	}
	sameGraph(t, g, h, StartLevel)
	if !slices.Equal(g.EnterPoints(StartLevel), h.EnterPoints(StartLevel)) {
		t.Fatal("enter points differ")
	}
	if !h.Partial() || h.Levels() != StartLevel+1 || len(h.Neighbors(2, h.Entry())) != 0 {
		t.Fatalf("imported graph: partial %v levels %d", h.Partial(), h.Levels())
	}
	// The imported graph searches well from its enter points.
	ix, _ := NewIndex(h, x, 32)
	if r := recallAt(t, ix, x, 32, 200, 64); r < 0.95 {
		t.Fatalf("recall@10 on imported graph %.4f", r)
	}
	// And survives our own format.
	p := filepath.Join(dir, "graph.hnsw")
	if err := h.Write(p); err != nil {
		t.Fatal(err)
	}
	h2, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	sameGraph(t, h, h2, StartLevel)
	if !h2.Partial() {
		t.Fatal("partial flag lost")
	}
}

func writeNPYDir(t *testing.T, files map[string]any) string {
	dir := t.TempDir()
	for name, v := range files {
		var err error
		switch v := v.(type) {
		case []int64:
			err = npy.Write(filepath.Join(dir, name), v)
		case []int32:
			err = npy.Write(filepath.Join(dir, name), v)
		case []float32:
			err = npy.Write(filepath.Join(dir, name), v)
		case []byte:
			err = os.WriteFile(filepath.Join(dir, name), v, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestNPYImportErrors(t *testing.T) {
	// A valid 3-node layout: 0-1-2 on level 0, 0-1 on level 1, enter 0.
	base := func() map[string]any {
		return map[string]any{
			EnterPointsFile: []int64{0},
			ValuesFile(0):   []int64{1, 0, 2, 1},
			SplitsFile(0):   []int64{0, 1, 3, 4},
			ValuesFile(1):   []int32{1, 0}, // int32 is accepted
			SplitsFile(1):   []int64{0, 1, 2, 2},
		}
	}
	g, err := ReadNPY(writeNPYDir(t, base()), 3, StartLevel)
	if err != nil {
		t.Fatal(err)
	}
	if g.TopLevel(0) != 2 || g.TopLevel(1) != 1 || g.TopLevel(2) != 0 {
		t.Fatalf("levels %d %d %d", g.TopLevel(0), g.TopLevel(1), g.TopLevel(2))
	}
	cases := []struct {
		name, file, want string
		v                any
		n                int
	}{
		{"out-of-range neighbour", ValuesFile(0), "out of range", []int64{1, 0, 3, 1}, 3},
		{"negative neighbour (faiss padding left in)", ValuesFile(1), "out of range", []int64{1, -1}, 3},
		{"short splits", SplitsFile(0), "row splits", []int64{0, 1, 4}, 3},
		{"splits past values", SplitsFile(1), "row splits run", []int64{0, 1, 2, 3}, 3},
		{"decreasing splits", SplitsFile(0), "decrease", []int64{0, 3, 1, 4}, 3},
		{"float dtype", ValuesFile(0), "dtype", []float32{1, 0, 2, 1}, 3},
		{"enter point out of range", EnterPointsFile, "enter point", []int64{5}, 3},
		{"size mismatch with vectors", SplitsFile(0), "row splits", []int64{0, 1, 3, 4}, 4},
		{"truncated", ValuesFile(0), "", []byte("\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }"), 3},
		{"not npy", EnterPointsFile, "magic", []byte("hello"), 3},
	}
	for _, c := range cases {
		files := base()
		files[c.file] = c.v
		_, err := ReadNPY(writeNPYDir(t, files), c.n, StartLevel)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.file) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q should name %s and say %q", c.name, err, c.file, c.want)
		}
	}
	files := base()
	delete(files, SplitsFile(1))
	if _, err := ReadNPY(writeNPYDir(t, files), 3, StartLevel); err == nil || !strings.Contains(err.Error(), SplitsFile(1)) {
		t.Errorf("missing file: %v", err)
	}
}

func TestLoadDir(t *testing.T) {
	_, g := smallGraph(t)
	dir := t.TempDir()
	if err := g.WriteNPY(dir, StartLevel); err != nil {
		t.Fatal(err)
	}
	h, err := LoadDir(dir, g.Len())
	if err != nil || !h.Partial() {
		t.Fatalf("npy-only dir: %v", err)
	}
	if err := g.Write(filepath.Join(dir, GraphFile)); err != nil {
		t.Fatal(err)
	}
	h, err = LoadDir(dir, g.Len())
	if err != nil || h.Partial() || h.Levels() != g.Levels() {
		t.Fatalf("dir with graph.hnsw: %v", err)
	}
	if _, err := LoadDir(dir, g.Len()+1); err == nil || !strings.Contains(err.Error(), GraphFile) {
		t.Fatalf("size mismatch: %v", err)
	}
}

// TestFileLayoutGolden assembles the bytes of a 3-node partial graph by
// hand from the format description and compares them with Encode.
func TestFileLayoutGolden(t *testing.T) {
	files := map[string][]byte{
		EnterPointsFile: npyBytes([]int64{0}),
		ValuesFile(0):   npyBytes([]int64{1, 0, 2, 1}),
		SplitsFile(0):   npyBytes([]int64{0, 1, 3, 4}),
		ValuesFile(1):   npyBytes([]int64{1, 0}),
		SplitsFile(1):   npyBytes([]int64{0, 1, 2, 2}),
	}
	g, err := DecodeNPY(func(name string) ([]byte, error) { return files[name], nil }, "mem", 3, StartLevel)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	want := []byte("NANNHNSW")
	for _, v := range []uint32{1, flagPartial} {
		want = le.AppendUint32(want, v)
	}
	want = le.AppendUint64(want, 3)
	for _, v := range []uint32{0, 0, 0, 2, 0} { // dim, M, efC unknown; 2 levels; entry 0
		want = le.AppendUint32(want, v)
	}
	want = append(want, 2, 1, 0, 0) // node levels + 1 byte of padding
	want = le.AppendUint64(want, 4)
	for _, v := range []uint32{0, 1, 3, 4, 1, 0, 2, 1} {
		want = le.AppendUint32(want, v)
	}
	want = le.AppendUint64(want, 2)
	for _, v := range []uint32{0, 1, 2, 2, 1, 0} {
		want = le.AppendUint32(want, v)
	}
	want = le.AppendUint32(want, crc32.Checksum(want, castagnoli))
	var buf bytes.Buffer
	if err := g.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("encoding\n got %x\nwant %x", buf.Bytes(), want)
	}
}
