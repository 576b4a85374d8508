package bundle

import (
	"path/filepath"
	"slices"
	"testing"

	"nann/item"
)

// TestRawIDRowBoundary pins the bundle's one mapping between original item
// ids, dense ids and item rows (makeBundle: row r has original id 1000+7r
// and category 1 + r%testCates, whose original id is 50 + that): the first
// and last rows map both ways, ids between or beyond them are unknown, and
// a history given without categories takes each item's own category, by
// row, so it builds the same comm_seq as one naming that category. An
// id-for-row slip (the row's neighbour's category, or row N) fails here.
func TestRawIDRowBoundary(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "1")
	b := openTestBundle(t, dir)
	for _, r := range []item.Row{0, 1, testItems / 2, testItems - 1} {
		raw := int64(1000 + 7*int(r))
		if got, ok := b.itemRow(raw); !ok || got != r {
			t.Errorf("itemRow(%d) = %d, %v, want row %d", raw, got, ok, r)
		}
		if got := b.denseItem(raw); got != r.ID() || got.Row() != r {
			t.Errorf("denseItem(%d) = %d, want id %d (row %d)", raw, got, r.ID(), r)
		}
		if got := b.ItemID(r); got != raw {
			t.Errorf("ItemID(row %d) = %d, want %d", r, got, raw)
		}
		if !b.KnownItemID(raw) {
			t.Errorf("KnownItemID(%d) = false for row %d", raw, r)
		}

		cate := int64(50 + 1 + int(r)%testCates)
		own, named := make([]float32, b.eng.Config().CommSeqLen()), make([]float32, b.eng.Config().CommSeqLen())
		if err := b.CommSeqFromRaw([]int64{raw}, nil, own); err != nil {
			t.Fatal(err)
		}
		if err := b.CommSeqFromRaw([]int64{raw}, []int64{cate}, named); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(own, named) {
			t.Errorf("row %d: history without categories does not use the item's own category %d", r, cate)
		}
		if r+1 < testItems {
			other := int64(50 + 1 + int(r+1)%testCates)
			if err := b.CommSeqFromRaw([]int64{raw}, []int64{other}, named); err != nil {
				t.Fatal(err)
			}
			if slices.Equal(own, named) {
				t.Errorf("row %d: the next row's category %d gives the same comm_seq as its own", r, other)
			}
		}
	}
	for _, raw := range []int64{999, 1001, 1000 + 7*testItems, 0, -7} {
		if r, ok := b.itemRow(raw); ok {
			t.Errorf("itemRow(%d) = row %d, want unknown", raw, r)
		}
		if got := b.denseItem(raw); got != item.Padding {
			t.Errorf("denseItem(%d) = %d, want padding", raw, got)
		}
	}
}
