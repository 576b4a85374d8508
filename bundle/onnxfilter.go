package bundle

import (
	"fmt"
	"sync"

	"nann/item"
	"nann/retrieve"
	"nann/serving"
)

// Filters of imported bundles: exclude_item_ids and the server's blocklist
// are applied inside retrieval, as for nann's bundles. An imported model
// has no item categories and its user inputs are opaque tensors, so
// include_cate_ids, exclude_cate_ids and exclude_history are refused as
// invalid input, naming the input.

// onnxFilters is what an ONNXServable keeps for filtered retrieval.
type onnxFilters struct {
	filters sync.Pool // *retrieve.Filter
	blocked blockedCache
	policy  retrieve.FilterPolicy
}

func (s *ONNXServable) initFilters() {
	n := s.b.Plan.NumItems()
	s.flt.policy = retrieve.DefaultFilterPolicy()
	s.flt.filters.New = func() any {
		f, err := retrieve.NewFilter(n, nil)
		if err != nil {
			panic(err) // n is a plan's corpus size, within int32
		}
		return f
	}
	s.sig.Filters = serving.FilterItems
}

// ExcludesBlockedItems reports that an ONNXServable applies Request.Blocked
// inside retrieval (serving.BlockedItemsExcluder).
func (s *ONNXServable) ExcludesBlockedItems() bool { return true }

var _ serving.BlockedItemsExcluder = (*ONNXServable)(nil)

// checkONNXFilter refuses the filter inputs an imported model cannot apply
// and lists of the wrong length.
func checkONNXFilter(r *serving.Request) error {
	f := r.Filter
	if f == nil {
		return nil
	}
	if len(f.ExcludeItemIDs) != 0 && len(f.ExcludeItemIDs) != r.Batch {
		return fmt.Errorf("filter exclude_item_ids has %d rows for a batch of %d: %w", len(f.ExcludeItemIDs), r.Batch, serving.ErrInvalidInput)
	}
	for _, h := range f.ExcludeHistory {
		if h {
			return fmt.Errorf("exclude_history: an imported model's inputs carry no item history to exclude (send the ids in exclude_item_ids): %w", serving.ErrInvalidInput)
		}
	}
	for _, c := range []struct {
		name string
		rows [][]int64
	}{{"include_cate_ids", f.IncludeCateIDs}, {"exclude_cate_ids", f.ExcludeCateIDs}} {
		for _, ids := range c.rows {
			for _, id := range ids {
				if id != 0 {
					return fmt.Errorf("%s: an imported model has no item categories: %w", c.name, serving.ErrInvalidInput)
				}
			}
		}
	}
	return nil
}

// blockedRowsOf returns the rows of the blocklist's ids the corpus holds,
// computed once per set.
func (s *ONNXServable) blockedRowsOf(set *serving.ItemSet) []item.Row {
	return s.flt.blocked.rowsOf(set, s.ItemRow)
}

// searchRow answers one request row, filtered when the request has a
// filter or the server a blocklist.
func (s *ONNXServable) searchRow(q userQuery, p *retrieve.ServingParams, r *serving.Request, row int, ans *retrieve.Answer) error {
	var excl []int64
	if r.Filter != nil && r.Filter.ExcludeItemIDs != nil {
		excl = r.Filter.ExcludeItemIDs[row]
	}
	if len(excl) == 0 && r.Blocked.Len() == 0 {
		return s.pool.Search(q, p, ans)
	}
	f := s.flt.filters.Get().(*retrieve.Filter)
	defer s.flt.filters.Put(f)
	f.Reset()
	if r.Blocked.Len() > 0 {
		for _, rw := range s.blockedRowsOf(r.Blocked) {
			if err := f.Exclude(rw); err != nil {
				return err
			}
		}
	}
	for _, id := range excl {
		if rw, ok := s.rowOf[id]; ok && id != 0 {
			if err := f.Exclude(rw); err != nil {
				return err
			}
		}
	}
	return s.pool.SearchFiltered(q, p, f, s.flt.policy, ans)
}
