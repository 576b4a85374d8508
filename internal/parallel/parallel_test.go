package parallel

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

func TestForRunsEveryIndexOnce(t *testing.T) {
	for _, workers := range []int{0, 1, 3, 100} {
		seen := make([]atomic.Int32, 1000)
		if err := For(context.Background(), len(seen), workers, func(_ context.Context, i int) error {
			seen[i].Add(1)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for i := range seen {
			if n := seen[i].Load(); n != 1 {
				t.Fatalf("workers %d: index %d ran %d times", workers, i, n)
			}
		}
	}
}

// The error reported is that of the lowest failing index, whatever the
// scheduling, and the failure stops the other workers.
func TestForReportsLowestFailure(t *testing.T) {
	for rep := range 20 {
		var ran atomic.Int64
		err := For(context.Background(), 10000, 4, func(ctx context.Context, i int) error {
			ran.Add(1)
			if i == 7 || i == 9 || i == 500 {
				return fmt.Errorf("index %d", i)
			}
			return nil
		})
		if err == nil || (err.Error() != "index 7" && err.Error() != "index 9" && err.Error() != "index 500") {
			t.Fatalf("rep %d: %v", rep, err)
		}
		if err.Error() == "index 500" && ran.Load() < 10 {
			t.Fatalf("rep %d: reported 500 before 7 ran", rep)
		}
		if ran.Load() == 10000 {
			t.Fatalf("rep %d: a failure did not stop the loop", rep)
		}
	}
	// With one worker the order is fixed: index 7 fails first.
	err := For(context.Background(), 100, 1, func(_ context.Context, i int) error {
		if i >= 7 {
			return fmt.Errorf("index %d", i)
		}
		return nil
	})
	if err == nil || err.Error() != "index 7" {
		t.Fatalf("one worker: %v", err)
	}
}

func TestForCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Int64
	err := For(ctx, 1000, 2, func(_ context.Context, i int) error {
		if ran.Add(1) == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if ran.Load() == 1000 {
		t.Fatal("cancellation did not stop the loop")
	}
	if err := For(context.Background(), 0, 2, nil); err != nil {
		t.Fatal(err)
	}
}
