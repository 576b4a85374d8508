package retrieve

import (
	"errors"
	"fmt"

	"nann/item"
)

// Graph is the layered proximity graph that beam retrieval walks. Nodes are
// item rows 0..Len()-1.
//
// EnterPoints(l) lists the nodes whose top level is at least l (the start of
// the search); Neighbors(level, node) lists node's links on that level (empty
// when the node is absent from the level or the level is not stored). Both
// return slices owned by the graph, which callers must not modify; Neighbors
// should not allocate (a Searcher asks EnterPoints once per start level and
// keeps a copy). The graph must not change while it is searched, and must be
// safe for concurrent reads.
type Graph interface {
	Len() int
	EnterPoints(startLevel int) []item.Row
	Neighbors(level int, node item.Row) []item.Row
}

// MaxLevel bounds the levels an AdjacencyGraph and the search parameters accept.
const MaxLevel = 32

// AdjacencyGraph is a small in-memory Graph built from slices, for tests and
// tools. It is read-only after construction.
type AdjacencyGraph struct {
	adj   [][][]item.Row // adj[level][node]
	enter [][]item.Row   // enter[l] = nodes with top level ≥ l
	n     int
}

// NewAdjacencyGraph builds a graph over len(top) nodes. adj[level][node] lists
// node's neighbours on that level (each adj[level] must have one row per node,
// empty for absent nodes); top[node] is the node's highest level, which may
// exceed the stored levels (as in SPEC §5, where levels ≥ start_level are not
// stored). The slices are kept, not copied. Every problem is reported.
func NewAdjacencyGraph(adj [][][]item.Row, top []int) (*AdjacencyGraph, error) {
	n := len(top)
	var errs []error
	if len(adj) > MaxLevel {
		errs = append(errs, fmt.Errorf("%d levels, at most %d allowed", len(adj), MaxLevel))
	}
	maxTop := 0
	for i, t := range top {
		if t < 0 || t >= MaxLevel {
			errs = append(errs, fmt.Errorf("node %d: top level %d outside [0,%d)", i, t, MaxLevel))
			continue
		}
		maxTop = max(maxTop, t)
	}
	for l, rows := range adj {
		if len(rows) != n {
			errs = append(errs, fmt.Errorf("level %d: %d rows, want one per node (%d)", l, len(rows), n))
			continue
		}
		for i, nb := range rows {
			for _, v := range nb {
				if v < 0 || int(v) >= n {
					errs = append(errs, fmt.Errorf("level %d node %d: neighbour %d outside [0,%d)", l, i, v, n))
					break
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("retrieve: adjacency graph: %w", err)
	}
	enter := make([][]item.Row, maxTop+1)
	for i, t := range top {
		for l := 0; l <= t; l++ {
			enter[l] = append(enter[l], item.Row(i))
		}
	}
	return &AdjacencyGraph{adj: adj, enter: enter, n: n}, nil
}

// Len is the number of nodes.
func (g *AdjacencyGraph) Len() int { return g.n }

// EnterPoints returns the nodes whose top level is ≥ startLevel, in row order.
func (g *AdjacencyGraph) EnterPoints(startLevel int) []item.Row {
	if startLevel < 0 || startLevel >= len(g.enter) {
		return nil
	}
	return g.enter[startLevel]
}

// Neighbors returns node's links on level (nil if the level is not stored).
func (g *AdjacencyGraph) Neighbors(level int, node item.Row) []item.Row {
	if level < 0 || level >= len(g.adj) || node < 0 || int(node) >= g.n {
		return nil
	}
	return g.adj[level][node]
}
