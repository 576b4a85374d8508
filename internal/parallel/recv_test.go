package parallel

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestRecvDelivers checks that Recv returns every value sent, in order, and
// reports a closed channel, whether a value is waiting, arrives while it
// polls, or arrives after it has given up polling and blocked.
func TestRecvDelivers(t *testing.T) {
	for _, spin := range []int{0, 1000} {
		ch := make(chan int, 1)
		ch <- 1
		if v, ok := Recv(ch, spin); v != 1 || !ok {
			t.Fatalf("polls %d: waiting value: got %d %v", spin, v, ok)
		}
		go func() {
			time.Sleep(10 * time.Millisecond) // after any polling
			ch <- 2
			close(ch)
		}()
		if v, ok := Recv(ch, spin); v != 2 || !ok {
			t.Fatalf("polls %d: late value: got %d %v", spin, v, ok)
		}
		if v, ok := Recv(ch, spin); v != 0 || ok {
			t.Fatalf("polls %d: closed channel: got %d %v", spin, v, ok)
		}
	}
}

// TestRecvBlocksAfterSpin checks that Recv stops polling once spin has
// passed: long after the polls, the goroutine must be parked on the channel
// ("chan receive" in its stack trace), not runnable.
func TestRecvBlocksAfterSpin(t *testing.T) {
	ch := make(chan int)
	got := make(chan int)
	go func() {
		v, _ := Recv(ch, 10000)
		got <- v
	}()
	parked := false
	for deadline := time.Now().Add(5 * time.Second); !parked && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		buf := make([]byte, 1<<20)
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "parallel.Recv") && strings.Contains(g, "[chan receive") {
				parked = true
			}
		}
	}
	if !parked {
		t.Error("Recv still polling 5 s after it started 10,000 polls")
	}
	ch <- 7
	if v := <-got; v != 7 {
		t.Fatalf("got %d, want 7", v)
	}
}

func TestParts(t *testing.T) {
	for _, c := range []struct{ free, n, min, want int }{
		{2, 4096, 256, 2}, // two free cores, plenty of items
		{1, 4096, 256, 1}, // only the caller's core is free
		{0, 4096, 256, 1}, // more calls than cores
		{2, 511, 256, 1},  // not two parts' worth
		{2, 512, 256, 2},
		{8, 1000, 256, 3}, // parts stay ≥ minPart
	} {
		if got := Parts(c.free, c.n, c.min); got != c.want {
			t.Errorf("Parts(%d, %d, %d) = %d, want %d", c.free, c.n, c.min, got, c.want)
		}
	}
}
