package train

import (
	"context"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"nann/dataset"
	"nann/internal/npy"
	"nann/item"
	"nann/model"
)

func openTestData(t *testing.T) *dataset.Dataset {
	ds, err := dataset.Open(testData, dataset.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

// TestEvaluateMatchesSortedTopK recomputes Recall@K by sorting every
// item's score per user, and the popularity baseline by sorting counts.
func TestEvaluateMatchesSortedTopK(t *testing.T) {
	ds := openTestData(t)
	mc := modelConfig(ds.Meta)
	m, err := model.New(mc, 3)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(context.Background(), m, ds, 0)
	if err != nil {
		t.Fatal(err)
	}
	table, err := m.AllItemEmbeddings(ds.ItemCate.Rows())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := m.NewScorer(table)
	if err != nil {
		t.Fatal(err)
	}
	N := ds.Meta.NumItems
	rows := item.AllRows(N)
	scores := make([]float32, N)
	count := map[item.ID]int{}
	for _, s := range ds.Train {
		it, _ := ds.Target(s)
		count[it]++
	}
	pop := make([]item.ID, N)
	for r := range pop {
		pop[r] = item.Row(r).ID()
	}
	sort.SliceStable(pop, func(a, b int) bool { return count[pop[a]] > count[pop[b]] })
	for _, k := range RecallKs {
		hits, popHits := 0, 0
		for _, s := range ds.Test {
			hi, hc := ds.History(s)
			if err := sc.BindIDs(item.IDs(hi), hc); err != nil {
				t.Fatal(err)
			}
			sc.Score(rows, scores)
			order := make([]int, N)
			for i := range order {
				order[i] = i
			}
			sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
			it, _ := ds.Target(s)
			for _, r := range order[:min(k, N)] {
				if item.Row(r).ID() == it {
					hits++
				}
			}
			for _, p := range pop[:min(k, N)] {
				if p == it {
					popHits++
				}
			}
		}
		want, wantPop := float64(hits)/float64(len(ds.Test)), float64(popHits)/float64(len(ds.Test))
		if rep.Recall[k] != want || rep.Popularity[k] != wantPop {
			t.Errorf("Recall@%d: Evaluate %v / popularity %v, sorted %v / %v", k, rep.Recall[k], rep.Popularity[k], want, wantPop)
		}
	}
	if rep.Users != len(ds.Test) || rep.Items != N {
		t.Errorf("report users %d items %d", rep.Users, rep.Items)
	}
}

func TestExtractWritesEveryItemInOrder(t *testing.T) {
	ds := openTestData(t)
	mc := modelConfig(ds.Meta)
	m, err := model.New(mc, 5)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "emb")
	n, err := Extract(context.Background(), m, ds.ItemCate, mc.ItemDim, out, nil)
	if err != nil || n != mc.NumItems {
		t.Fatalf("Extract: %d items, %v", n, err)
	}
	ids, shape, err := npy.Read[int64](filepath.Join(out, "item_ids.npy"))
	if err != nil || len(shape) != 1 || shape[0] != n {
		t.Fatalf("item_ids.npy: shape %v, %v", shape, err)
	}
	embs, shape, err := npy.Read[float32](filepath.Join(out, "item_embs.npy"))
	if err != nil || len(shape) != 2 || shape[0] != n || shape[1] != mc.ItemDim {
		t.Fatalf("item_embs.npy: shape %v, %v", shape, err)
	}
	d := mc.ItemDim
	one := make([]float32, d)
	for r := 0; r < n; r++ {
		if ids[r] != int64(r+1) {
			t.Fatalf("item_ids[%d] = %d", r, ids[r])
		}
	}
	for _, r := range []int{0, 1, n / 2, n - 1} {
		id := item.Row(r).ID()
		if err := m.ItemEmbeddings([]item.ID{id}, []int32{ds.ItemCate.At(id)}, one); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(one, embs[r*d:(r+1)*d]) {
			t.Fatalf("row %d differs from ItemEmbeddings of item %d", r, id)
		}
	}
}
