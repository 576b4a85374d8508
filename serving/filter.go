package serving

// Filter restricts a request's answers, row by row: items that must not be
// answered and categories to answer from. A Servable whose Signature sets
// Filters applies it inside retrieval, so answers stay full (LevelTopN[5]
// items unless fewer pass the filter); the server refuses filter inputs
// for a Servable that does not. Every slice is nil when the request did
// not send that input, and otherwise holds one entry per request row; 0 is
// padding in the id lists (rows of different lengths are padded with 0).
type Filter struct {
	// ExcludeItemIDs lists, per row, raw item ids never to answer.
	ExcludeItemIDs [][]int64
	// ExcludeHistory says, per row, to exclude the row's own history
	// (Request.ItemIDs); it is only sent with ItemIDs.
	ExcludeHistory []bool
	// IncludeCateIDs lists, per row, raw category ids: a row with any
	// non-zero id answers only items of those categories (an unknown
	// category contributes no item).
	IncludeCateIDs [][]int64
	// ExcludeCateIDs lists, per row, raw category ids whose items are never
	// answered; exclusion wins over inclusion.
	ExcludeCateIDs [][]int64
}

// FilterKinds is a set of the filter inputs a Servable applies.
type FilterKinds uint8

const (
	// FilterItems: exclude_item_ids.
	FilterItems FilterKinds = 1 << iota
	// FilterHistory: exclude_history (the request's item_ids).
	FilterHistory
	// FilterCategories: include_cate_ids and exclude_cate_ids.
	FilterCategories
	// AllFilters is every filter input.
	AllFilters = FilterItems | FilterHistory | FilterCategories
)

// Has reports whether k holds every kind of want.
func (k FilterKinds) Has(want FilterKinds) bool { return k&want == want }

// Empty reports whether f restricts nothing (nil is empty).
func (f *Filter) Empty() bool {
	if f == nil {
		return true
	}
	for _, rows := range [][][]int64{f.ExcludeItemIDs, f.IncludeCateIDs, f.ExcludeCateIDs} {
		for _, ids := range rows {
			for _, id := range ids {
				if id != 0 {
					return false
				}
			}
		}
	}
	for _, h := range f.ExcludeHistory {
		if h {
			return false
		}
	}
	return true
}
