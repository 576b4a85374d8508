package hnsw

import "nann/internal/vec"

// repair makes every node of level l reachable along level-l links from the
// entry point. Pruning during a build can drop a node's last incoming link
// (hnswlib and Faiss share this; a few nodes in 10^5). For each such node u,
// a search for u on level l finds its nearest reachable nodes, and u is
// appended to the first of them with a free slot. Runs after the parallel
// phase, on one goroutine. It returns the number of links added.
func (b *builder) repair(l int) int {
	maxDeg := b.m
	if l == 0 {
		maxDeg = b.m0
	}
	reached := make([]bool, b.n)
	reached[b.entry] = true
	queue := b.walk(l, []int32{b.entry}, reached)
	w := newWorker(b.n)
	w.b = b
	added := 0
	for i := range b.n {
		u := int32(i)
		if int(b.level[u]) < l || reached[u] {
			continue
		}
		if !b.linkFromReached(w, u, l, maxDeg, reached) {
			continue // every candidate is full: left as is, Analyze reports it
		}
		added++
		reached[u] = true
		queue = b.walk(l, append(queue[:0], u), reached)
	}
	return added
}

// linkFromReached appends u to the list of its nearest reached node on
// level l that has room.
func (b *builder) linkFromReached(w *worker, u int32, l, maxDeg int, reached []bool) bool {
	vq := b.vec(u)
	cur := b.entry
	curD := vec.L2Squared(vq, b.vec(cur))
	for lv := b.topLvl; lv > l; lv-- {
		cur, curD = w.greedy(b.x, b.d, vq, cur, curD, lv)
	}
	w.searchLayer(b.x, b.d, b.n, vq, cand{curD, cur}, l, max(b.efc, maxDeg))
	w.cands = w.res.drainAscending(w.cands)
	for _, c := range w.cands {
		if c.id == u || !reached[c.id] {
			continue
		}
		if lst := b.list(l, c.id); int(lst[0]) < maxDeg {
			lst[1+lst[0]] = u
			lst[0]++
			return true
		}
	}
	return false
}

// walk extends a breadth-first search on level l from the nodes in queue,
// marking what it reaches.
func (b *builder) walk(l int, queue []int32, reached []bool) []int32 {
	for h := 0; h < len(queue); h++ {
		lst := b.list(l, queue[h])
		for _, v := range lst[1 : 1+lst[0]] {
			if !reached[v] {
				reached[v] = true
				queue = append(queue, v)
			}
		}
	}
	return queue
}
