package hnsw

import (
	"errors"
	"fmt"

	"nann/item"
)

// adjacency is one level's neighbour lists in CSR form: the neighbours of
// node i are val[off[i]:off[i+1]]. A node absent from the level has an
// empty row.
type adjacency struct {
	off []uint32
	val []int32
}

func (a *adjacency) row(i int32) []int32 {
	return a.val[a.off[i]:a.off[i+1]]
}

// Graph is a frozen HNSW graph: its nodes are the item rows of the vectors
// it was built from (node i is row i; internally int32). It is safe for
// concurrent readers.
//
// A graph imported from the NumPy layout knows adjacency only for levels
// below the start level (Partial reports true); nodes listed as enter points
// are placed on the start level, whose neighbour lists are then empty.
type Graph struct {
	n        int
	dim      int // vector dimension, 0 if unknown
	m, efc   int // build parameters, 0 if unknown
	maxLevel int
	entry    int32 // a node on maxLevel, -1 for an empty graph
	partial  bool
	level    []uint8     // top level of each node
	adj      []adjacency // adj[l] for l < len(adj)
	upper    [][]int32   // upper[l] = nodes with level >= l, ascending, l >= 1
	repaired int         // links Build added to reconnect unreachable nodes
}

// Repaired is the number of links Build added so that every node is
// reachable on each of its levels (0 for a graph read from a file).
func (g *Graph) Repaired() int { return g.repaired }

// Len is the number of nodes.
func (g *Graph) Len() int { return g.n }

// Levels is the number of levels: the top level plus one.
func (g *Graph) Levels() int {
	if g.n == 0 {
		return 0
	}
	return g.maxLevel + 1
}

// Dim is the vector dimension the graph was built for (0 if unknown).
func (g *Graph) Dim() int { return g.dim }

// M and EfConstruction are the build parameters (0 if unknown, e.g. imported).
func (g *Graph) M() int              { return g.m }
func (g *Graph) EfConstruction() int { return g.efc }

// Entry is the entry point of a search: a node on the top level.
func (g *Graph) Entry() item.Row { return item.Row(g.entry) }

// Partial reports whether neighbour lists are missing for the top levels
// (an import from the NumPy layout).
func (g *Graph) Partial() bool { return g.partial }

// AdjLevels is the number of levels whose neighbour lists are known.
func (g *Graph) AdjLevels() int { return len(g.adj) }

// TopLevel is the top level of node i.
func (g *Graph) TopLevel(i item.Row) int { return int(g.level[i]) }

// Neighbors returns node's neighbours on level; empty if the node is not on
// that level or the level's lists are unknown. The slice must not be modified.
func (g *Graph) Neighbors(level int, node item.Row) []item.Row {
	if level < 0 || level >= len(g.adj) || node < 0 || int(node) >= g.n {
		return nil
	}
	return item.Rows(g.adj[level].row(int32(node)))
}

// EnterPoints returns all nodes whose top level is >= startLevel, ascending,
// in a new slice.
func (g *Graph) EnterPoints(startLevel int) []item.Row {
	switch {
	case startLevel <= 0:
		out := item.AllRows(g.n)
		return out
	case startLevel < len(g.upper):
		return append([]item.Row(nil), item.Rows(g.upper[startLevel])...)
	}
	return []item.Row{}
}

// Bytes is the memory held by the graph's arrays (levels and adjacency).
func (g *Graph) Bytes() int64 {
	b := int64(len(g.level))
	for _, a := range g.adj {
		b += 4*int64(len(a.off)) + 4*int64(len(a.val))
	}
	for _, u := range g.upper {
		b += 4 * int64(len(u))
	}
	return b
}

// BytesPerNode is Bytes divided by the number of nodes.
func (g *Graph) BytesPerNode() float64 {
	if g.n == 0 {
		return 0
	}
	return float64(g.Bytes()) / float64(g.n)
}

// finish derives maxLevel and the per-level member lists from level.
func (g *Graph) finish() {
	g.maxLevel = 0
	for _, l := range g.level {
		g.maxLevel = max(g.maxLevel, int(l))
	}
	g.upper = make([][]int32, g.maxLevel+1)
	for i, l := range g.level {
		for k := 1; k <= int(l); k++ {
			g.upper[k] = append(g.upper[k], int32(i))
		}
	}
}

// validate checks every structural invariant, so that searching a graph
// read from a file can never index out of range.
func (g *Graph) validate() error {
	if g.n < 0 || len(g.level) != g.n {
		return fmt.Errorf("hnsw: %d node levels for %d nodes", len(g.level), g.n)
	}
	if g.n == 0 {
		return nil
	}
	if g.entry < 0 || int(g.entry) >= g.n {
		return fmt.Errorf("hnsw: entry point %d out of range [0,%d)", g.entry, g.n)
	}
	if int(g.level[g.entry]) != g.maxLevel {
		return fmt.Errorf("hnsw: entry point %d is on level %d, top level is %d", g.entry, g.level[g.entry], g.maxLevel)
	}
	if len(g.adj) == 0 || len(g.adj) > g.maxLevel+1 {
		return fmt.Errorf("hnsw: %d adjacency levels for top level %d", len(g.adj), g.maxLevel)
	}
	if !g.partial && len(g.adj) != g.maxLevel+1 {
		return fmt.Errorf("hnsw: %d adjacency levels for top level %d in a complete graph", len(g.adj), g.maxLevel)
	}
	for l := range g.adj {
		if err := g.validateLevel(l); err != nil {
			return err
		}
	}
	return nil
}

func (g *Graph) validateLevel(l int) error {
	a := &g.adj[l]
	if len(a.off) != g.n+1 {
		return fmt.Errorf("hnsw: level %d has %d row offsets, want %d", l, len(a.off), g.n+1)
	}
	if a.off[0] != 0 || int(a.off[g.n]) != len(a.val) {
		return fmt.Errorf("hnsw: level %d offsets run %d..%d, want 0..%d", l, a.off[0], a.off[g.n], len(a.val))
	}
	for i := 0; i < g.n; i++ {
		if a.off[i+1] < a.off[i] {
			return fmt.Errorf("hnsw: level %d offsets decrease at node %d", l, i)
		}
		if a.off[i+1] > a.off[i] && int(g.level[i]) < l {
			return fmt.Errorf("hnsw: level %d: node %d has neighbours but its top level is %d", l, i, g.level[i])
		}
	}
	for j, v := range a.val {
		if v < 0 || int(v) >= g.n {
			return fmt.Errorf("hnsw: level %d: neighbour %d at position %d out of range [0,%d)", l, v, j, g.n)
		}
	}
	return nil
}

var errTooManyLinks = errors.New("hnsw: more than 2^32-1 links on one level")
