package hnsw

import (
	"context"
	"testing"
)

func TestRepairReconnects(t *testing.T) {
	const n, d = 2000, 8
	x := Clustered(n, d, 20, 0.5, 5)
	cfg := DefaultConfig()
	cfg.M, cfg.Workers = 8, 1
	b := newBuilder(x, d, n, cfg)
	if err := b.insertAll(context.Background(), 1, nil); err != nil {
		t.Fatal(err)
	}
	// Cut every level-0 link into three nodes that are not the entry.
	cut := map[int32]bool{}
	for _, u := range []int32{5, 700, 1999} {
		if u != b.entry {
			cut[u] = true
		}
	}
	for i := range int32(n) {
		lst := b.list(0, i)
		k := int32(0)
		for _, v := range lst[1 : 1+lst[0]] {
			if !cut[v] {
				lst[1+k] = v
				k++
			}
		}
		lst[0] = k
	}
	reached := make([]bool, n)
	reached[b.entry] = true
	b.walk(0, []int32{b.entry}, reached)
	for u := range cut {
		if reached[u] {
			t.Fatalf("node %d still reachable after the cut", u)
		}
	}
	if added := b.repair(0); added < len(cut) {
		t.Fatalf("repair added %d links for %d cut nodes", added, len(cut))
	}
	g, err := b.freeze(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st := g.Analyze(); st.Levels[0].Reachable != n {
		t.Fatalf("after repair %d of %d reachable", st.Levels[0].Reachable, n)
	}
	// The repaired node is found by search again.
	ix, _ := NewIndex(g, x, d)
	res, _ := ix.NewKNNSearcher().Search(x[700*d:701*d], 1, 32)
	if len(res) == 0 || res[0].ID != 700 {
		t.Fatalf("search for node 700 found %v", res)
	}
}
