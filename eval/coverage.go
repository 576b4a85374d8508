package eval

import (
	"math"
	"slices"

	"nann/item"
)

// topSet is brute force's answer to one query, kept to measure how much of
// it a search method returns. It reuses its buffer from query to query.
type topSet struct {
	byRow []uint64 // row<<32 | rank, ascending: rows sorted for lookup
}

// set records rows (brute force's answer, best first).
func (t *topSet) set(rows []item.Row) {
	t.byRow = t.byRow[:0]
	for rank, r := range rows {
		t.byRow = append(t.byRow, uint64(uint32(r))<<32|uint64(rank))
	}
	slices.Sort(t.byRow)
}

// rank is row's position in brute force's answer, or -1.
func (t *topSet) rank(row item.Row) int {
	lo, hi := 0, len(t.byRow)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if item.Row(uint32(t.byRow[m]>>32)) < row {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(t.byRow) && item.Row(uint32(t.byRow[lo]>>32)) == row {
		return int(uint32(t.byRow[lo]))
	}
	return -1
}

// overlaps sets out[j] to the number of rows among answer's first ks[j] that
// are among brute force's first ks[j].
func (t *topSet) overlaps(answer []item.Row, ks []int, out []int32) {
	clear(out)
	for pos, r := range answer {
		e := t.rank(r)
		if e < 0 {
			continue
		}
		m := max(pos, e)
		for j, k := range ks {
			if m < k {
				out[j]++
			}
		}
	}
}

// meanSE is the mean of v and its standard error: the sample standard
// deviation (n−1 in the denominator) over √n; 0 for fewer than two values.
func meanSE(v []float64) (mean, se float64) {
	n := float64(len(v))
	if len(v) == 0 {
		return 0, 0
	}
	for _, x := range v {
		mean += x
	}
	mean /= n
	if len(v) < 2 {
		return mean, 0
	}
	ss := 0.0
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss/(n-1)) / math.Sqrt(n)
}

// hits is 1 for each rank within the first k, else 0.
func hits(ranks []int32, k int) []float64 {
	out := make([]float64, len(ranks))
	for i, r := range ranks {
		if r >= 0 && int(r) < k {
			out[i] = 1
		}
	}
	return out
}
