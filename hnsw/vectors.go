package hnsw

import (
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"unsafe"
)

// CheckFinite returns an error naming the first row and column of x (rows
// of dim floats) that holds NaN or ±Inf: distances to such a vector are
// NaN or infinite, and a graph built over it is meaningless.
func CheckFinite(x []float32, dim int) error {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("hnsw: vector row %d, column %d is %v; embeddings must be finite", i/dim, i%dim, v)
		}
	}
	return nil
}

// VectorStats counts degenerate rows, which leave parts of a graph
// unreachable (all-zero or identical vectors are at distance 0 from each
// other, and the selection heuristic keeps one of them).
type VectorStats struct {
	// ZeroRows are rows whose every element is 0.
	ZeroRows int `json:"zero_rows"`
	// DuplicateRows are rows equal (bit for bit) to an earlier row.
	DuplicateRows int `json:"duplicate_rows"`
}

// Degenerate counts the all-zero and the duplicate rows of x.
func Degenerate(x []float32, dim int) VectorStats {
	var st VectorStats
	if dim <= 0 {
		return st
	}
	n := len(x) / dim
	seed := maphash.MakeSeed()
	type rowHash struct {
		h   uint64
		row int32
	}
	hs := make([]rowHash, n)
	for i := range n {
		r := x[i*dim : (i+1)*dim]
		zero := true
		for _, v := range r {
			if v != 0 {
				zero = false
				break
			}
		}
		if zero {
			st.ZeroRows++
		}
		hs[i] = rowHash{maphash.Bytes(seed, unsafe.Slice((*byte)(unsafe.Pointer(&r[0])), 4*dim)), int32(i)}
	}
	slices.SortFunc(hs, func(a, b rowHash) int {
		if a.h != b.h {
			if a.h < b.h {
				return -1
			}
			return 1
		}
		return int(a.row - b.row)
	})
	for i := 1; i < len(hs); i++ {
		// Rows with the same hash: a duplicate if equal to any earlier
		// one in the run (almost always the run's first).
		for j := i - 1; j >= 0 && hs[j].h == hs[i].h; j-- {
			a, b := int(hs[j].row)*dim, int(hs[i].row)*dim
			if slices.Equal(bitsOf(x[a:a+dim]), bitsOf(x[b:b+dim])) {
				st.DuplicateRows++
				break
			}
		}
	}
	return st
}

func bitsOf(v []float32) []uint32 { return unsafe.Slice((*uint32)(unsafe.Pointer(&v[0])), len(v)) }
