package retrieve

import (
	"math"
	"math/bits"
	"slices"

	"nann/item"
)

// A key packs a (score, row) pair into a uint64 whose ascending order is the
// retrieval order: higher score first, ties broken by lower row id. NaN
// scores rank as −Inf and −0 as +0, so the order is total and deterministic.
type key = uint64

func makeKey(score float32, row item.Row) key {
	return key(^orderedBits(score))<<32 | key(uint32(row))
}

// orderedBits maps a float32 to a uint32 with the same ascending order.
func orderedBits(f float32) uint32 {
	if f != f {
		f = float32(math.Inf(-1))
	}
	if f == 0 {
		f = 0
	}
	b := math.Float32bits(f)
	if b&0x80000000 != 0 {
		return ^b
	}
	return b | 0x80000000
}

func keyRow(k key) item.Row { return item.Row(uint32(k)) }

func keyScore(k key) float32 {
	b := ^uint32(k >> 32)
	if b&0x80000000 != 0 {
		b &^= 0x80000000
	} else {
		b = ^b
	}
	return math.Float32frombits(b)
}

// keyRank is the score part of a key: a smaller rank is a better score.
func keyRank(k key) uint32 { return uint32(k >> 32) }

// selectBest rearranges a so that a[:k] holds its k smallest keys (the k best
// items) in ascending order, and returns a[:min(k, len(a))]. It runs in
// expected O(len(a) + k log k) with a depth-limited quickselect that falls
// back to sorting, so the worst case is O(n log n).
func selectBest(a []key, k int) []key {
	if k <= 0 {
		return a[:0]
	}
	if k >= len(a) {
		slices.Sort(a)
		return a
	}
	lo, hi := 0, len(a)
	budget := 2 * bits.Len(uint(len(a)))
	// Invariant: a[:lo] ≤ a[lo:hi] ≤ a[hi:] and lo ≤ k ≤ hi.
	for hi-lo > 24 {
		if budget == 0 {
			break
		}
		budget--
		p := partition(a[lo:hi]) + lo
		switch {
		case p == k || p+1 == k:
			lo, hi = k, k
		case k < p:
			hi = p
		default:
			lo = p + 1
		}
	}
	if lo < hi {
		slices.Sort(a[lo:hi])
	}
	a = a[:k]
	slices.Sort(a)
	return a
}

// partition places a median-of-three pivot at its sorted position p, with
// smaller keys before it and the others after, and returns p.
func partition(a []key) int {
	n := len(a)
	m := n / 2
	if a[m] < a[0] {
		a[m], a[0] = a[0], a[m]
	}
	if a[n-1] < a[0] {
		a[n-1], a[0] = a[0], a[n-1]
	}
	if a[n-1] < a[m] {
		a[n-1], a[m] = a[m], a[n-1]
	}
	// a[0] ≤ a[m] ≤ a[n-1]: use a[m] as the pivot, parked at n-1.
	a[m], a[n-1] = a[n-1], a[m]
	pivot := a[n-1]
	i := 0
	for j := 0; j < n-1; j++ {
		if a[j] < pivot {
			a[i], a[j] = a[j], a[i]
			i++
		}
	}
	a[i], a[n-1] = a[n-1], a[i]
	return i
}
