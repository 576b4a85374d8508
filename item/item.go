// Package item is the vocabulary for naming an item: its dense id and its
// row. The two differ by one and were both plain int32, so a missing or
// doubled "− 1" compiled silently; here they are distinct types and every
// crossing is an explicit conversion.
//
//   - ID is a dense item id as the dataset numbers items: 1..N for a
//     corpus of N items, 0 (Padding) for "no item" in a right-padded
//     history. Model inputs (histories, candidates) and the embedding
//     tables of the model (N+1 rows, row 0 the padding vector) are indexed
//     by ID.
//   - Row is a 0-based position in the per-item tables of a corpus: the
//     engine's item tables, HNSW nodes, the rows that retrieval scores and
//     answers, nann extract's item_embs.npy and a bundle's item_raw_ids.npy
//     and item_cate.npy. Row r is ID r+1.
//
// Tables keyed by item come in the same two kinds: ByID (N+1 entries,
// entry 0 for padding: the dataset's item_cate.npy, item_raw_ids.npy, …)
// and ByRow (N entries). ByID.Rows is the row-indexed view of a ByID table
// without copying, so callers never slice off the padding entry by hand.
//
// The package imports nothing of nann's, so any package may use it.
package item

import "unsafe"

// ID is a dense item id: 1..N for the N items of a corpus, 0 = Padding.
type ID int32

// Row is a 0-based item row: 0..N-1 for the N items of a corpus. Row r
// is item ID r+1.
type Row int32

// Padding is the id of "no item": the filler of a right-padded history,
// and what an unknown original id maps to.
const Padding ID = 0

// Row is the item's row (id − 1). It is not meaningful for Padding (it
// gives −1); check Valid first where an id may be padding.
func (id ID) Row() Row { return Row(id - 1) }

// Valid reports whether id names one of n items (1 ≤ id ≤ n).
func (id ID) Valid(n int) bool { return id >= 1 && int64(id) <= int64(n) }

// ID is the row's dense item id (row + 1).
func (r Row) ID() ID { return ID(r + 1) }

// Valid reports whether r is a row of n items (0 ≤ r < n).
func (r Row) Valid(n int) bool { return r >= 0 && int64(r) < int64(n) }

// ByID is a table with one entry per dense item id, N+1 long: entry 0
// belongs to Padding, entry id to item id.
type ByID[T any] []T

// At is the entry of item id.
func (t ByID[T]) At(id ID) T { return t[id] }

// Len is the number of items, N (the table's length less the padding entry).
func (t ByID[T]) Len() int { return max(len(t)-1, 0) }

// Rows is the same table indexed by Row: entries 1..N, aliased, not copied.
func (t ByID[T]) Rows() ByRow[T] {
	if len(t) == 0 {
		return nil
	}
	return ByRow[T](t[1:])
}

// ByRow is a table with one entry per item row, N long.
type ByRow[T any] []T

// At is the entry of row r.
func (t ByRow[T]) At(r Row) T { return t[r] }

// Len is the number of items, N.
func (t ByRow[T]) Len() int { return len(t) }

// IDs reinterprets int32 values (a model's input tensor, a memory-mapped
// file's payload) as dense ids, without copying: the result aliases v.
func IDs(v []int32) []ID { return alias[ID](v) }

// Int32s reinterprets dense ids as int32 values (for a model's int32 input
// tensors), without copying: the result aliases ids.
func Int32s(ids []ID) []int32 { return alias[int32](ids) }

// Rows reinterprets int32 values as item rows, without copying: the result
// aliases v.
func Rows(v []int32) []Row { return alias[Row](v) }

// RowInt32s reinterprets item rows as int32 values, without copying: the
// result aliases rows.
func RowInt32s(rows []Row) []int32 { return alias[int32](rows) }

// AllRows returns the rows 0, 1, …, n−1 in order (a whole corpus, as brute
// force and checks against it score it).
func AllRows(n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row(i)
	}
	return rows
}

// AllIDs returns the ids of rows 0, 1, …, n−1, that is 1, 2, …, n.
func AllIDs(n int) []ID {
	ids := make([]ID, n)
	for r := range ids {
		ids[r] = Row(r).ID()
	}
	return ids
}

// alias reinterprets a slice of one int32-based type as another, sharing
// its memory (nil for an empty slice).
func alias[To, From ~int32](v []From) []To {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*To)(unsafe.Pointer(unsafe.SliceData(v))), len(v))
}
