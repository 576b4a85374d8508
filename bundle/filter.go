package bundle

import (
	"fmt"
	"sync"
	"sync/atomic"

	"nann/item"
	"nann/retrieve"
	"nann/serving"
)

// Filters inside retrieval: a request's serving.Filter and the server's
// blocklist (serving.Request.Blocked) become one retrieve.Filter per
// request row, over item rows and dense categories, applied by the beam
// itself (retrieve.Searcher.SearchFiltered), so answers stay full.

// filterState is what a bundle keeps for filtered retrieval.
type filterState struct {
	part    *retrieve.Partition // item row → dense category (class 0, padding, holds no item)
	filters sync.Pool           // *retrieve.Filter
	blocked blockedCache
	policy  retrieve.FilterPolicy
}

// blockedCache keeps the item rows of the latest blocklist (the set changes
// rarely and is the same pointer until it does).
type blockedCache struct{ p atomic.Pointer[blockedRows] }

type blockedRows struct {
	set  *serving.ItemSet
	rows []item.Row
}

// rowsOf returns the rows of set's ids that rowOf finds in the corpus,
// computed once per set.
func (c *blockedCache) rowsOf(set *serving.ItemSet, rowOf func(raw int64) (item.Row, bool)) []item.Row {
	if b := c.p.Load(); b != nil && b.set == set {
		return b.rows
	}
	var rows []item.Row
	for _, id := range set.IDs() {
		if rw, ok := rowOf(id); ok {
			rows = append(rows, rw)
		}
	}
	c.p.Store(&blockedRows{set: set, rows: rows})
	return rows
}

func (b *Bundle) initFilters() error {
	part, err := retrieve.NewPartition(b.itemCate, b.eng.Config().NumCates+1)
	if err != nil {
		return err
	}
	n := b.NumItems()
	b.flt.part = part
	b.flt.policy = retrieve.DefaultFilterPolicy()
	b.flt.filters.New = func() any {
		f, err := retrieve.NewFilter(n, part)
		if err != nil {
			panic(err) // n and part were checked above
		}
		return f
	}
	return nil
}

// ExcludesBlockedItems reports that a bundle applies Request.Blocked
// inside retrieval (serving.BlockedItemsExcluder).
func (b *Bundle) ExcludesBlockedItems() bool { return true }

var _ serving.BlockedItemsExcluder = (*Bundle)(nil)

// blockedRowsOf returns the item rows of the blocklist's ids the corpus
// holds, computed once per set.
func (b *Bundle) blockedRowsOf(set *serving.ItemSet) []item.Row {
	return b.flt.blocked.rowsOf(set, b.itemRow)
}

// checkFilter reports a filter whose lists do not hold one entry per row.
func checkFilter(r *serving.Request) error {
	f := r.Filter
	if f == nil {
		return nil
	}
	for _, c := range []struct {
		name string
		n    int
	}{{"exclude_item_ids", len(f.ExcludeItemIDs)}, {"exclude_history", len(f.ExcludeHistory)},
		{"include_cate_ids", len(f.IncludeCateIDs)}, {"exclude_cate_ids", len(f.ExcludeCateIDs)}} {
		if c.n != 0 && c.n != r.Batch {
			return fmt.Errorf("filter %s has %d rows for a batch of %d: %w", c.name, c.n, r.Batch, serving.ErrInvalidInput)
		}
	}
	if len(f.ExcludeHistory) > 0 && r.ItemIDs == nil {
		for _, h := range f.ExcludeHistory {
			if h {
				return fmt.Errorf("exclude_history needs the history as item_ids (a comm_seq request carries no item ids): %w", serving.ErrInvalidInput)
			}
		}
	}
	return nil
}

// fillFilter sets f to row's restriction: the blocklist, the excluded
// items, the row's own history if asked, and the category lists. Unknown
// item ids exclude nothing (the corpus cannot answer them); an unknown
// included category includes no item (class 0 holds none).
func (b *Bundle) fillFilter(f *retrieve.Filter, r *serving.Request, row int) error {
	f.Reset()
	if r.Blocked.Len() > 0 {
		for _, rw := range b.blockedRowsOf(r.Blocked) {
			if err := f.Exclude(rw); err != nil {
				return err
			}
		}
	}
	flt := r.Filter
	if flt == nil {
		return nil
	}
	exclude := func(ids []int64) error {
		for _, id := range ids {
			if r, ok := b.itemRow(id); id != 0 && ok {
				if err := f.Exclude(r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if flt.ExcludeItemIDs != nil {
		if err := exclude(flt.ExcludeItemIDs[row]); err != nil {
			return err
		}
	}
	if flt.ExcludeHistory != nil && flt.ExcludeHistory[row] && r.ItemIDs != nil {
		if err := exclude(r.ItemIDs[row]); err != nil {
			return err
		}
	}
	if flt.IncludeCateIDs != nil {
		for _, id := range flt.IncludeCateIDs[row] {
			if id != 0 {
				if err := f.IncludeClass(b.denseCate(id)); err != nil {
					return err
				}
			}
		}
	}
	if flt.ExcludeCateIDs != nil {
		for _, id := range flt.ExcludeCateIDs[row] {
			if c := b.denseCate(id); id != 0 && c != 0 {
				if err := f.ExcludeClass(c); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// RetrieveFiltered is Retrieve restricted to the rows f allows (nil or
// empty: Retrieve), with the bundle's filter policy.
func (b *Bundle) RetrieveFiltered(commSeq []float32, levelTopN [6]int32, f *retrieve.Filter, ans *retrieve.Answer) error {
	p, err := b.servingParams(levelTopN)
	if err != nil {
		return err
	}
	return b.pool.SearchFiltered(commSeq, p, f, b.flt.policy, ans)
}

// SetFilterPolicy replaces the bundle's filter policy (default
// retrieve.DefaultFilterPolicy()), for tools that compare strategies; it
// must not be called while the bundle serves requests.
func (b *Bundle) SetFilterPolicy(p retrieve.FilterPolicy) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("bundle: filter policy: %w", err)
	}
	b.flt.policy = p
	return nil
}

// NewFilter returns a filter over the bundle's item rows and dense
// categories, for tools that call RetrieveFiltered directly.
func (b *Bundle) NewFilter() *retrieve.Filter { return b.flt.filters.New().(*retrieve.Filter) }

// retrieveRow answers request row row, filtered when the request has a
// filter or the server a blocklist.
func (b *Bundle) retrieveRow(seq []float32, r *serving.Request, row int, ans *retrieve.Answer) error {
	if r.Filter == nil && r.Blocked.Len() == 0 {
		return b.Retrieve(seq, r.LevelTopN, ans)
	}
	f := b.flt.filters.Get().(*retrieve.Filter)
	defer b.flt.filters.Put(f)
	if err := b.fillFilter(f, r, row); err != nil {
		return err
	}
	return b.RetrieveFiltered(seq, r.LevelTopN, f, ans)
}
