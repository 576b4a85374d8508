package serving

import (
	"slices"
)

// ItemSet is an immutable set of raw item ids: the server's blocklist of
// items that must never be answered (out of stock, withdrawn), shared by
// every request until the list changes. A nil *ItemSet is the empty set.
type ItemSet struct {
	ids []int64 // sorted, unique
}

// NewItemSet returns the set of ids (copied; duplicates are fine).
func NewItemSet(ids []int64) *ItemSet {
	s := slices.Clone(ids)
	slices.Sort(s)
	return &ItemSet{ids: slices.Compact(s)}
}

// Len is the number of ids.
func (s *ItemSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.ids)
}

// Has reports whether raw is in the set.
func (s *ItemSet) Has(raw int64) bool {
	if s == nil {
		return false
	}
	_, ok := slices.BinarySearch(s.ids, raw)
	return ok
}

// IDs lists the ids in ascending order; the slice belongs to the set and
// must not be modified.
func (s *ItemSet) IDs() []int64 {
	if s == nil {
		return nil
	}
	return s.ids
}

// BlockedItemsExcluder is implemented by Servables that honour
// Request.Blocked inside retrieval: a blocked item never enters an answer
// and answers stay full (LevelTopN[5] items, unless fewer items are left).
// The set changes rarely and is the same pointer from request to request
// until it does, so a Servable may cache what it derives from it (a bitset
// of rows) keyed by the pointer. For a Servable that does not implement
// the interface the server removes blocked items from the answers, which
// may then be short.
type BlockedItemsExcluder interface {
	ExcludesBlockedItems() bool
}
