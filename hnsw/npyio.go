package hnsw

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"nann/internal/npy"
	"nann/item"
)

// StartLevel is the reference's start level: enter points are the nodes on
// levels >= 2, and neighbour lists are exported for levels 0 and 1.
const StartLevel = 2

// EnterPointsFile is the name of the enter-point file in the NumPy layout.
const EnterPointsFile = "enter_points.npy"

// ValuesFile and SplitsFile name level l's neighbour files in the NumPy layout.
func ValuesFile(l int) string { return fmt.Sprintf("neighbors_level_%d_values.npy", l) }

// SplitsFile is the row-offset file of level l; see ValuesFile.
func SplitsFile(l int) string { return fmt.Sprintf("neighbors_level_%d_row_splits.npy", l) }

// WriteNPY exports g into dir in the reference's NumPy layout (int64
// arrays): enter_points.npy holds the nodes whose top level is >=
// startLevel, ascending, and for each level l < startLevel the CSR lists
// neighbors_level_{l}_values.npy and neighbors_level_{l}_row_splits.npy
// (n+1 offsets; a node absent from the level has an empty row). Each file is
// written atomically.
func (g *Graph) WriteNPY(dir string, startLevel int) error {
	if startLevel < 1 || startLevel > maxAdjLevels {
		return fmt.Errorf("hnsw: start level %d, want 1..%d", startLevel, maxAdjLevels)
	}
	if g.partial && startLevel > len(g.adj) {
		return fmt.Errorf("hnsw: graph knows neighbour lists for %d levels, cannot export %d", len(g.adj), startLevel)
	}
	enter := g.EnterPoints(startLevel)
	e64 := make([]int64, len(enter))
	for i, v := range enter {
		e64[i] = int64(v)
	}
	if err := npy.Write(filepath.Join(dir, EnterPointsFile), e64); err != nil {
		return err
	}
	for l := range startLevel {
		splits := make([]int64, g.n+1)
		var vals []int64
		for i := range g.n {
			for _, v := range g.Neighbors(l, item.Row(i)) {
				vals = append(vals, int64(v))
			}
			splits[i+1] = int64(len(vals))
		}
		if err := npy.Write(filepath.Join(dir, ValuesFile(l)), vals); err != nil {
			return err
		}
		if err := npy.Write(filepath.Join(dir, SplitsFile(l)), splits); err != nil {
			return err
		}
	}
	return nil
}

// ReadNPY imports a graph in the reference's NumPy layout from dir, for
// example one produced from a Faiss IndexHNSWFlat by the reference's recipe.
// n is the expected number of nodes (the number of vectors), or -1 to take
// it from the level-0 row splits. Integer arrays may be int64 or int32.
// The result is a partial graph: its enter points sit on startLevel with
// unknown lists there.
func ReadNPY(dir string, n, startLevel int) (*Graph, error) {
	return DecodeNPY(func(name string) ([]byte, error) {
		return os.ReadFile(filepath.Join(dir, name))
	}, dir, n, startLevel)
}

// DecodeNPY is ReadNPY over a file opener; dir only labels errors.
func DecodeNPY(open func(name string) ([]byte, error), dir string, n, startLevel int) (*Graph, error) {
	if startLevel < 1 || startLevel > maxAdjLevels {
		return nil, fmt.Errorf("hnsw: start level %d, want 1..%d", startLevel, maxAdjLevels)
	}
	load := func(name string) ([]int64, error) {
		p := filepath.Join(dir, name)
		b, err := open(name)
		if err != nil {
			return nil, fmt.Errorf("hnsw import: %w", err)
		}
		v, err := decodeInts(b)
		if err != nil {
			return nil, fmt.Errorf("hnsw import: %s: %w", p, err)
		}
		return v, nil
	}
	g := &Graph{partial: true}
	for l := range startLevel {
		splits, err := load(SplitsFile(l))
		if err != nil {
			return nil, err
		}
		if l == 0 && n < 0 {
			n = len(splits) - 1
		}
		if n < 0 || n > math.MaxInt32 {
			return nil, fmt.Errorf("hnsw import: %s: %d row splits, want at least 1", filepath.Join(dir, SplitsFile(l)), len(splits))
		}
		vals, err := load(ValuesFile(l))
		if err != nil {
			return nil, err
		}
		a, err := importLevel(splits, vals, n)
		if err != nil {
			return nil, fmt.Errorf("hnsw import: %s, %s: %w", filepath.Join(dir, SplitsFile(l)), ValuesFile(l), err)
		}
		g.adj = append(g.adj, a)
	}
	enter, err := load(EnterPointsFile)
	if err != nil {
		return nil, err
	}
	g.n = n
	if err := g.placeImported(enter, startLevel); err != nil {
		return nil, fmt.Errorf("hnsw import: %s: %w", filepath.Join(dir, EnterPointsFile), err)
	}
	if err := g.validate(); err != nil {
		return nil, fmt.Errorf("hnsw import: %s: %w", dir, err)
	}
	return g, nil
}

// importLevel checks one level's CSR arrays and converts them.
func importLevel(splits, vals []int64, n int) (adjacency, error) {
	if len(splits) != n+1 {
		return adjacency{}, fmt.Errorf("%d row splits for %d nodes, want %d", len(splits), n, n+1)
	}
	if splits[0] != 0 || splits[n] != int64(len(vals)) {
		return adjacency{}, fmt.Errorf("row splits run %d..%d, want 0..%d (the number of values)", splits[0], splits[n], len(vals))
	}
	if len(vals) > math.MaxUint32 {
		return adjacency{}, fmt.Errorf("%d links, at most %d supported", len(vals), uint32(math.MaxUint32))
	}
	a := adjacency{off: make([]uint32, n+1), val: make([]int32, len(vals))}
	for i := range n {
		if splits[i+1] < splits[i] {
			return adjacency{}, fmt.Errorf("row splits decrease at row %d (%d then %d)", i, splits[i], splits[i+1])
		}
		a.off[i+1] = uint32(splits[i+1])
	}
	for j, v := range vals {
		if v < 0 || v >= int64(n) {
			return adjacency{}, fmt.Errorf("neighbour id %d at position %d out of range [0,%d)", v, j, n)
		}
		a.val[j] = int32(v)
	}
	return a, nil
}

// placeImported derives node levels: a node with links on level l is on l,
// enter points are on startLevel.
func (g *Graph) placeImported(enter []int64, startLevel int) error {
	g.level = make([]uint8, g.n)
	for l := 1; l < len(g.adj); l++ {
		for i := range g.n {
			if g.adj[l].off[i+1] > g.adj[l].off[i] {
				g.level[i] = uint8(l)
			}
		}
	}
	ep := make([]int32, 0, len(enter))
	for j, v := range enter {
		if v < 0 || v >= int64(g.n) {
			return fmt.Errorf("enter point %d at position %d out of range [0,%d)", v, j, g.n)
		}
		ep = append(ep, int32(v))
	}
	slices.Sort(ep)
	ep = slices.Compact(ep)
	for _, v := range ep {
		g.level[v] = uint8(startLevel)
	}
	g.finish()
	g.entry = -1
	if g.n == 0 {
		g.adj = nil
		if len(ep) > 0 {
			return errors.New("enter points given for an empty graph")
		}
		return nil
	}
	if len(ep) > 0 {
		g.entry = ep[0]
		return nil
	}
	// No enter points: the known levels hold the whole graph.
	g.partial = false
	g.adj = g.adj[:g.maxLevel+1]
	for i, l := range g.level {
		if int(l) == g.maxLevel {
			g.entry = int32(i)
			break
		}
	}
	return nil
}

// decodeInts parses a 1-D .npy array of int64 or int32.
func decodeInts(b []byte) ([]int64, error) {
	h, _, err := npy.ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if len(h.Shape) != 1 {
		return nil, fmt.Errorf("shape %v, want a 1-D array", h.Shape)
	}
	switch h.Descr {
	case "<i8":
		v, _, err := npy.Decode[int64](b)
		return v, err
	case "<i4":
		v, _, err := npy.Decode[int32](b)
		if err != nil {
			return nil, err
		}
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype %q, want int64 ('<i8') or int32 ('<i4')", h.Descr)
}

// GraphFile is the name of our format's file inside an index directory.
const GraphFile = "graph.hnsw"

// LoadDir loads the graph of an index directory: graph.hnsw if present,
// otherwise the reference's NumPy layout. n is the expected number of nodes
// (the number of item vectors), or -1 not to check.
func LoadDir(dir string, n int) (*Graph, error) {
	p := filepath.Join(dir, GraphFile)
	if _, err := os.Stat(p); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return ReadNPY(dir, n, StartLevel)
	}
	g, err := Read(p)
	if err != nil {
		return nil, err
	}
	if n >= 0 && g.Len() != n {
		return nil, fmt.Errorf("%s: graph has %d nodes, expected %d (one per item vector)", p, g.Len(), n)
	}
	return g, nil
}
