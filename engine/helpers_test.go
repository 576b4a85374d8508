package engine

import (
	"math/rand/v2"

	"nann/item"
)

// Test helpers shared by the engine tests.

// allRows is rows 0..n-1 in order.
func allRows(n int) []item.Row {
	rows := make([]item.Row, n)
	for i := range rows {
		rows[i] = item.Row(i)
	}
	return rows
}

// randRows is n random rows of a corpus of numItems.
func randRows(r *rand.Rand, n, numItems int) []item.Row {
	rows := make([]item.Row, n)
	for i := range rows {
		rows[i] = item.Row(r.IntN(numItems))
	}
	return rows
}

// randomHistory is n random behaviours over the corpus whose row r has
// category cates[r]: the items' dense ids and their categories.
func randomHistory(r *rand.Rand, n int, cates []int32) ([]item.ID, []int32) {
	items, hc := make([]item.ID, n), make([]int32, n)
	for i := range items {
		row := item.Row(r.IntN(len(cates)))
		items[i], hc[i] = row.ID(), cates[row]
	}
	return items, hc
}
