package hnsw

import "nann/item"

// LevelStats describes one level of a graph.
type LevelStats struct {
	Level int `json:"level"`
	// Nodes on this level (top level >= Level).
	Nodes int `json:"nodes"`
	// Links is the number of directed links.
	Links     int64   `json:"links"`
	MinDegree int     `json:"min_degree"`
	MaxDegree int     `json:"max_degree"`
	MeanDeg   float64 `json:"mean_degree"`
	// DegreeHist[k] is the number of nodes on the level with k links.
	DegreeHist []int `json:"degree_hist"`
	// Reachable counts the level's nodes reachable along this level's
	// links from the entry point(s); -1 if the level's links are unknown.
	Reachable int `json:"reachable"`
}

// Stats summarises a graph.
type Stats struct {
	Nodes        int          `json:"nodes"`
	Levels       []LevelStats `json:"levels"`
	Entry        int32        `json:"entry"`
	Partial      bool         `json:"partial"`
	GraphBytes   int64        `json:"graph_bytes"`
	BytesPerNode float64      `json:"bytes_per_node"`
}

// Analyze counts nodes per level, the degree distribution and the
// reachability of every level from the entry point (on a partial graph,
// from all enter points above the known levels).
func (g *Graph) Analyze() Stats {
	st := Stats{Nodes: g.n, Entry: g.entry, Partial: g.partial, GraphBytes: g.Bytes(), BytesPerNode: g.BytesPerNode()}
	if g.n == 0 {
		return st
	}
	var seeds []int32
	if g.maxLevel >= len(g.adj) {
		seeds = g.upper[len(g.adj)]
	} else {
		seeds = []int32{g.entry}
	}
	for l := 0; l <= g.maxLevel; l++ {
		ls := LevelStats{Level: l, MinDegree: -1, Reachable: -1}
		for i := range g.n {
			if int(g.level[i]) < l {
				continue
			}
			ls.Nodes++
			deg := len(g.Neighbors(l, item.Row(i)))
			ls.Links += int64(deg)
			if ls.MinDegree < 0 || deg < ls.MinDegree {
				ls.MinDegree = deg
			}
			ls.MaxDegree = max(ls.MaxDegree, deg)
			for len(ls.DegreeHist) <= deg {
				ls.DegreeHist = append(ls.DegreeHist, 0)
			}
			ls.DegreeHist[deg]++
		}
		if ls.Nodes > 0 {
			ls.MeanDeg = float64(ls.Links) / float64(ls.Nodes)
		}
		if l < len(g.adj) {
			ls.Reachable = g.reachable(l, seeds)
		}
		st.Levels = append(st.Levels, ls)
	}
	return st
}

// reachable counts nodes reached by a breadth-first walk on level l.
func (g *Graph) reachable(l int, seeds []int32) int {
	seen := make([]bool, g.n)
	queue := make([]int32, 0, len(seeds))
	for _, s := range seeds {
		if !seen[s] {
			seen[s] = true
			queue = append(queue, s)
		}
	}
	for h := 0; h < len(queue); h++ {
		for _, nb := range g.adj[l].row(queue[h]) {
			if !seen[nb] {
				seen[nb] = true
				queue = append(queue, nb)
			}
		}
	}
	return len(queue)
}
