package cli

import "testing"

// bars keeps the largest count of a stage and finishes it at its total, so
// out-of-order counts from concurrent workers do not move a bar back.
func TestBarsIgnoreOutOfOrderCounts(t *testing.T) {
	b := newBars()
	b.update("x", 3, 10)
	b.update("x", 2, 10)
	if st := b.m["x"]; st.done != 3 || st.finished {
		t.Fatalf("after 3 then 2 of 10: done %d finished %v", st.done, st.finished)
	}
	b.update("x", 10, 10)
	if st := b.m["x"]; st.done != 10 || !st.finished {
		t.Fatalf("at 10 of 10: done %d finished %v", st.done, st.finished)
	}
	b.update("y", 1, 5)
	b.finish()
	if !b.m["y"].finished {
		t.Fatal("finish left stage y open")
	}
}
