package hnsw

import (
	"context"
	"math"
	"strings"
	"testing"
)

func TestBuildRefusesNonFinite(t *testing.T) {
	const n, d = 50, 4
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		x := Clustered(n, d, 3, 0.5, 1)
		x[17*d+2] = bad
		_, err := Build(context.Background(), x, d, DefaultConfig(), nil)
		if err == nil || !strings.Contains(err.Error(), "row 17, column 2") {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

func TestDegenerate(t *testing.T) {
	const n, d = 100, 8
	x := Clustered(n, d, 3, 0.5, 1)
	if st := Degenerate(x, d); st != (VectorStats{}) {
		t.Fatalf("clustered data: %+v", st)
	}
	clear(x[10*d : 13*d])        // rows 10, 11, 12 all zero: 2 duplicates
	copy(x[50*d:51*d], x[60*d:]) // row 50 = row 60
	copy(x[70*d:71*d], x[60*d:]) // row 70 = row 60
	if st := Degenerate(x, d); st != (VectorStats{ZeroRows: 3, DuplicateRows: 4}) {
		t.Fatalf("got %+v, want 3 zero rows, 4 duplicates", st)
	}
}
