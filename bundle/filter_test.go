package bundle

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"nann/item"
	"nann/retrieve"
	"nann/serving"
)

// In makeBundle's corpus item row i has raw id 1000+7i and raw category
// 51 + i%testCates.
func testItemRaw(row int) int64 { return int64(1000 + 7*row) }
func testItemCate(row int) int64 {
	return int64(51 + row%testCates)
}

// TestPredictFilters: over random filters (excluded ids, the request's own
// history, the blocklist, included and excluded categories), Predict never
// answers an excluded item, answers are full (K, or every allowed item when
// fewer are allowed), and the answer is the beam's filtered answer for the
// same query by hand.
func TestPredictFilters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "1")
	b := openTestBundle(t, dir)
	if b.Signature().Filters != serving.AllFilters {
		t.Fatal("bundle signature does not announce filters")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	topn := [6]int32{10, 30, 30, 30, 30, 20}
	for trial := range 60 {
		hist := make([]int64, 8)
		for i := range hist {
			hist[i] = testItemRaw(rng.IntN(testItems))
		}
		f := &serving.Filter{ExcludeItemIDs: [][]int64{{0}}, ExcludeHistory: []bool{rng.IntN(2) == 0},
			IncludeCateIDs: [][]int64{{0}}, ExcludeCateIDs: [][]int64{{0}}}
		for range rng.IntN(300) {
			f.ExcludeItemIDs[0] = append(f.ExcludeItemIDs[0], testItemRaw(rng.IntN(testItems)))
		}
		f.ExcludeItemIDs[0] = append(f.ExcludeItemIDs[0], 424242) // unknown: excludes nothing
		for range rng.IntN(3) {
			f.IncludeCateIDs[0] = append(f.IncludeCateIDs[0], 51+int64(rng.IntN(testCates)))
		}
		for range rng.IntN(3) {
			f.ExcludeCateIDs[0] = append(f.ExcludeCateIDs[0], 51+int64(rng.IntN(testCates)))
		}
		var blocked *serving.ItemSet
		if rng.IntN(2) == 0 {
			blocked = serving.NewItemSet([]int64{testItemRaw(rng.IntN(testItems)), testItemRaw(rng.IntN(testItems)), 5})
		}
		excluded := map[int64]bool{}
		for _, id := range f.ExcludeItemIDs[0] {
			excluded[id] = true
		}
		if f.ExcludeHistory[0] {
			for _, id := range hist {
				excluded[id] = true
			}
		}
		for _, id := range blocked.IDs() {
			excluded[id] = true
		}
		inc := slices.DeleteFunc(slices.Clone(f.IncludeCateIDs[0]), func(c int64) bool { return c == 0 })
		allows := func(row int) bool {
			c := testItemCate(row)
			return !excluded[testItemRaw(row)] && !slices.Contains(f.ExcludeCateIDs[0], c) && (len(inc) == 0 || slices.Contains(inc, c))
		}
		allowed := 0
		for row := range testItems {
			if allows(row) {
				allowed++
			}
		}
		req := &serving.Request{Batch: 1, ItemIDs: [][]int64{slices.Clone(hist)}, LevelTopN: topn, Filter: f, Blocked: blocked}
		resp, err := b.Predict(context.Background(), req)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		got := resp.TopK[0]
		if len(got) != min(int(topn[5]), allowed) {
			t.Fatalf("trial %d: %d items answered, want min(%d, %d allowed)", trial, len(got), topn[5], allowed)
		}
		for _, id := range got {
			row := int((id - 1000) / 7)
			if !allows(row) {
				t.Fatalf("trial %d: answered item %d (category %d), which the filter excludes", trial, id, testItemCate(row))
			}
		}
		// By hand: the same filter over rows and dense categories.
		seq := make([]float32, b.Signature().CommSeqLen)
		if err := b.CommSeqFromRaw(hist, nil, seq); err != nil {
			t.Fatal(err)
		}
		rf := b.NewFilter()
		for row := range testItems {
			if excluded[testItemRaw(row)] {
				_ = rf.Exclude(item.Row(row))
			}
		}
		for _, c := range inc {
			_ = rf.IncludeClass(int32(c - 50))
		}
		for _, c := range f.ExcludeCateIDs[0] {
			if c != 0 {
				_ = rf.ExcludeClass(int32(c - 50))
			}
		}
		var ans retrieve.Answer
		if err := b.RetrieveFiltered(seq, topn, rf, &ans); err != nil {
			t.Fatal(err)
		}
		want := make([]int64, len(ans.Rows))
		for i, r := range ans.Rows {
			want[i] = testItemRaw(int(r))
		}
		if !slices.Equal(got, want) || resp.ItemsScored[0] != ans.Total {
			t.Fatalf("trial %d: Predict %v (%d scored), by hand %v (%d)", trial, got, resp.ItemsScored[0], want, ans.Total)
		}
	}
}

// TestPredictFilterEdges: an unknown included category includes nothing;
// exclude_history without item_ids and lists of the wrong row count are
// invalid input; the blocklist's rows are cached per set.
func TestPredictFilterEdges(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "1")
	b := openTestBundle(t, dir)
	topn := [6]int32{10, 30, 30, 30, 30, 20}
	hist := [][]int64{{1000, 1007}}
	resp, err := b.Predict(context.Background(), &serving.Request{Batch: 1, ItemIDs: hist, LevelTopN: topn,
		Filter: &serving.Filter{IncludeCateIDs: [][]int64{{9999}}}})
	if err != nil || len(resp.TopK[0]) != 0 {
		t.Fatalf("include of an unknown category: %v %v, want an empty answer", resp, err)
	}
	seq := make([]float32, b.Signature().CommSeqLen)
	for _, r := range []*serving.Request{
		{Batch: 1, CommSeq: seq, LevelTopN: topn, Filter: &serving.Filter{ExcludeHistory: []bool{true}}},
		{Batch: 1, ItemIDs: hist, LevelTopN: topn, Filter: &serving.Filter{ExcludeItemIDs: [][]int64{{1}, {2}}}},
	} {
		if _, err := b.Predict(context.Background(), r); !errors.Is(err, serving.ErrInvalidInput) {
			t.Fatalf("%+v: %v, want invalid input", r.Filter, err)
		}
	}
	set := serving.NewItemSet([]int64{1000, 1007, 5})
	rows := b.blockedRowsOf(set)
	if !slices.Equal(rows, []item.Row{0, 1}) {
		t.Fatalf("blocked rows %v, want [0 1]", rows)
	}
	if again := b.blockedRowsOf(set); &again[0] != &rows[0] {
		t.Fatal("blocklist rows recomputed for the same set")
	}
}
