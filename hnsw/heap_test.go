package hnsw

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHeapsOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for n := 0; n < 60; n++ {
		var mn minHeap
		var mx maxHeap
		var all []float32
		for i := range n {
			d := float32(r.IntN(20))
			all = append(all, d)
			mn.push(cand{d, int32(i)})
			mx.push(cand{d, int32(i)})
		}
		slices.Sort(all)
		for i := range n {
			if got := mn.pop().d; got != all[i] {
				t.Fatalf("n %d: minHeap pop %d = %v, want %v", n, i, got, all[i])
			}
		}
		// Bounded max-heap keeps the k smallest via replaceTop.
		const k = 7
		var b maxHeap
		for i, d := range all {
			if b.len() < k {
				b.push(cand{d, int32(i)})
			} else if d < b.top().d {
				b.replaceTop(cand{d, int32(i)})
			}
		}
		got := b.drainAscending(nil)
		for i, it := range got {
			if it.d != all[i] {
				t.Fatalf("n %d: bounded heap %d = %v, want %v", n, i, it.d, all[i])
			}
		}
		for i := n - 1; i >= 0 && mx.len() > 0; i-- {
			if got := mx.pop().d; got != all[i] {
				t.Fatalf("maxHeap pop = %v, want %v", got, all[i])
			}
		}
	}
}

func TestVisitedEpochs(t *testing.T) {
	var v visited
	v.reset(10)
	if !v.visit(3) || v.visit(3) {
		t.Fatal("visit twice in one query")
	}
	v.reset(10)
	if !v.visit(3) {
		t.Fatal("node still visited in the next query")
	}
	v.epoch = ^uint32(0)
	v.visit(4)
	v.reset(10)
	if v.epoch != 1 || !v.visit(4) {
		t.Fatal("epoch wrap-around did not clear")
	}
}
