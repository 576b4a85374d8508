package vec

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPrefetchRows runs the prefetch kernel over row widths that are and
// are not multiples of a cache line, for both table types, and checks that
// it changes nothing and that a row past the table panics before any
// assembly runs.
func TestPrefetchRows(t *testing.T) {
	for _, v := range variants() {
		for _, width := range []int{1, 7, 16, 17, 64, 100} {
			t32 := randSlice(rand.New(rand.NewPCG(uint64(width), 1)), 50*width)
			t16 := make([]uint16, 50*width)
			for i := range t16 {
				t16[i] = uint16(i)
			}
			c32, c16 := slices.Clone(t32), slices.Clone(t16)
			rows := []int32{0, 49, 7, 7, 23}
			withKernels(t, v.k, func() {
				PrefetchRows(t32, width, rows)
				PrefetchRows(t16, width, rows)
				PrefetchRows(t32, width, nil)
			})
			if !slices.Equal(t32, c32) || !slices.Equal(t16, c16) {
				t.Fatalf("%s width %d: PrefetchRows changed the table", v.name, width)
			}
		}
		if !v.k.Prefetch {
			continue // the twin checks nothing: it does nothing
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: row 50 of a 50-row table did not panic", v.name)
				}
			}()
			withKernels(t, v.k, func() { PrefetchRows(make([]float32, 50*8), 8, []int32{3, 50}) })
		}()
	}
}
