package hnsw

// cand is a node with its distance to the current query.
type cand struct {
	d  float32
	id int32
}

// minHeap pops the closest cand first (search candidates).
type minHeap []cand

func (h *minHeap) push(x cand) {
	s := append(*h, x)
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].d <= x.d {
			break
		}
		s[i] = s[p]
		i = p
	}
	s[i] = x
	*h = s
}

func (h *minHeap) pop() cand {
	s := *h
	top := s[0]
	last := s[len(s)-1]
	*h = s[:len(s)-1]
	if len(s) > 1 {
		h.replaceTop(last)
	}
	return top
}

// replaceTop swaps the top cand for x: a pop and a push in one sift.
func (h *minHeap) replaceTop(x cand) {
	s := *h
	n := len(s)
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && s[c+1].d < s[c].d {
			c++
		}
		if x.d <= s[c].d {
			break
		}
		s[i] = s[c]
		i = c
	}
	s[i] = x
}

// maxHeap pops the farthest cand first (the bounded result set). It is a
// minHeap of negated distances, so both orders share one implementation;
// negation keeps every comparison's outcome, NaN and signed zeros included.
type maxHeap struct{ h minHeap }

func neg(x cand) cand { return cand{-x.d, x.id} }

func (h *maxHeap) len() int          { return len(h.h) }
func (h *maxHeap) reset()            { h.h = h.h[:0] }
func (h *maxHeap) top() cand         { return neg(h.h[0]) }
func (h *maxHeap) push(x cand)       { h.h.push(neg(x)) }
func (h *maxHeap) pop() cand         { return neg(h.h.pop()) }
func (h *maxHeap) replaceTop(x cand) { h.h.replaceTop(neg(x)) }

// drainAscending empties h into out, closest first.
func (h *maxHeap) drainAscending(out []cand) []cand {
	n := h.len()
	out = append(out[:0], make([]cand, n)...)
	for i := n - 1; i >= 0; i-- {
		out[i] = h.pop()
	}
	return out
}

// visited is an epoch-stamped visited set reused across queries: a node is
// visited in the current query iff its stamp equals the current epoch, so
// starting a query costs one increment, not a clear.
type visited struct {
	mark  []uint32
	epoch uint32
}

func (v *visited) reset(n int) {
	if len(v.mark) < n {
		v.mark = make([]uint32, n)
		v.epoch = 0
	}
	v.epoch++
	if v.epoch == 0 { // wrapped after 2^32 queries: clear once
		clear(v.mark)
		v.epoch = 1
	}
}

// visit marks i and reports whether it was unvisited.
func (v *visited) visit(i int32) bool {
	if v.mark[i] == v.epoch {
		return false
	}
	v.mark[i] = v.epoch
	return true
}
