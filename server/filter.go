package server

// Filter inputs: optional per-request tensors that restrict the answers
// (issue 16) — exclude_item_ids, exclude_history, include_cate_ids,
// exclude_cate_ids — decoded into serving.Request.Filter for a Servable
// whose Signature sets Filters, which applies them inside retrieval. Id
// lists are int64 or int32 [batch, L] (0 = padding, so rows of different
// lengths are padded with 0), L at most MaxFilterIDs; exclude_history is
// bool [batch] or [batch, 1], or one value [1] (or a scalar) for every row.
// Element counts are bounded (maxElements) before anything is allocated.

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"nann/serving"
	"nann/tfserving"
	"nann/tfserving/tfpb"
)

// MaxFilterIDs bounds the ids of one row of an id filter input.
const MaxFilterIDs = 10000

// filterNames are the filter inputs in the order errors name them.
var filterNames = []string{tfserving.ExcludeItemIDs, tfserving.ExcludeHistory, tfserving.IncludeCateIDs, tfserving.ExcludeCateIDs}

// filterDTypes lists the dtypes accepted for each filter input.
var filterDTypes = map[string][]tfpb.DataType{
	tfserving.ExcludeItemIDs: {tfpb.DataType_DT_INT64, tfpb.DataType_DT_INT32},
	tfserving.ExcludeHistory: {tfpb.DataType_DT_BOOL},
	tfserving.IncludeCateIDs: {tfpb.DataType_DT_INT64, tfpb.DataType_DT_INT32},
	tfserving.ExcludeCateIDs: {tfpb.DataType_DT_INT64, tfpb.DataType_DT_INT32},
}

// The filter inputs are inputs of the reference signature (the decoders'
// name checks and entry bounds see them through wantDType).
func init() { maps.Copy(wantDType, filterDTypes) }

// filterKind is the kind of each filter input.
var filterKind = map[string]serving.FilterKinds{
	tfserving.ExcludeItemIDs: serving.FilterItems,
	tfserving.ExcludeHistory: serving.FilterHistory,
	tfserving.IncludeCateIDs: serving.FilterCategories,
	tfserving.ExcludeCateIDs: serving.FilterCategories,
}

// filterAccepted reports whether name is a filter input that sig applies.
func filterAccepted(sig serving.Signature, name string) bool {
	k, ok := filterKind[name]
	return ok && sig.Filters.Has(k)
}

// filterEntries is how many filter inputs a request to sig may carry.
func filterEntries(sig serving.Signature) int { return len(filterInputNames(sig)) }

// filterInputNames lists the filter inputs sig applies, in filterNames'
// order.
func filterInputNames(sig serving.Signature) []string {
	var names []string
	for _, name := range filterNames {
		if filterAccepted(sig, name) {
			names = append(names, name)
		}
	}
	return names
}

// filterLimit is the element bound of filter input name (ok is false for
// any other input).
func filterLimit(name string, cfg *Config) (limit int64, ok bool) {
	switch name {
	case tfserving.ExcludeHistory:
		return int64(cfg.MaxBatch), true
	case tfserving.ExcludeItemIDs, tfserving.IncludeCateIDs, tfserving.ExcludeCateIDs:
		return int64(cfg.MaxBatch) * MaxFilterIDs, true
	}
	return 0, false
}

// decodeBool decodes a DT_BOOL tensor's n values as 0 and 1.
func decodeBool(name string, tp *tfpb.TensorProto, n int64) ([]int64, error) {
	for i, c := range tp.GetTensorContent() {
		if c > 1 {
			return nil, invalidf("input %q: tensor_content byte %d is %d, not a bool (0 or 1)", name, i, c)
		}
	}
	return decodeValues(name, tp.GetTensorContent(), tp.GetBoolVal(), n, 1,
		func(b []byte) int64 { return int64(b[0]) },
		func(v bool) int64 {
			if v {
				return 1
			}
			return 0
		})
}

// setFilter decodes the filter inputs of in into r.Filter (nil when none
// was sent). r.Batch and r.ItemIDs are set.
func setFilter(r *serving.Request, in map[string]*tensor, sig serving.Signature) error {
	for _, name := range slices.Sorted(maps.Keys(in)) {
		t := in[name]
		switch {
		case name == tfserving.ExcludeHistory && t.bools != len(t.ints):
			return invalidf("input %q: want true or false values (DT_BOOL)", name)
		case name != tfserving.ExcludeHistory && t.bools > 0:
			return invalidf("input %q: true/false values, want numbers", name)
		}
	}
	sent := false
	for _, name := range filterNames {
		if in[name] == nil {
			continue
		}
		sent = true
		if !filterAccepted(sig, name) {
			if sig.Filters == 0 {
				return invalidf("input %q: this model version does not apply filters (its signature lists no filter inputs)", name)
			}
			return invalidf("input %q: this model version does not apply this filter (it applies %s)", name, strings.Join(filterInputNames(sig), ", "))
		}
	}
	if !sent {
		return nil
	}
	f := &serving.Filter{}
	var err error
	if f.ExcludeItemIDs, err = filterRows(tfserving.ExcludeItemIDs, in[tfserving.ExcludeItemIDs], r.Batch); err != nil {
		return err
	}
	if f.IncludeCateIDs, err = filterRows(tfserving.IncludeCateIDs, in[tfserving.IncludeCateIDs], r.Batch); err != nil {
		return err
	}
	if f.ExcludeCateIDs, err = filterRows(tfserving.ExcludeCateIDs, in[tfserving.ExcludeCateIDs], r.Batch); err != nil {
		return err
	}
	if f.ExcludeHistory, err = historyFlags(in[tfserving.ExcludeHistory], r); err != nil {
		return err
	}
	r.Filter = f
	return nil
}

// filterRows checks an id list input, [batch, L] with L ≤ MaxFilterIDs and
// non-negative ids, and returns its rows (nil when t is nil).
func filterRows(name string, t *tensor, batch int) ([][]int64, error) {
	if t == nil {
		return nil, nil
	}
	if len(t.shape) != 2 || t.shape[0] != int64(batch) {
		return nil, invalidf("input %q: shape %v, want [%d, L]: one list of ids per request row (pad with 0)", name, t.shape, batch)
	}
	if t.shape[1] > MaxFilterIDs {
		return nil, invalidf("input %q: %d ids per row, at most %d", name, t.shape[1], MaxFilterIDs)
	}
	if t.ints == nil {
		return nil, invalidf("input %q: want integer ids", name)
	}
	return idRows(name, t)
}

// historyFlags checks exclude_history and returns one flag per row.
func historyFlags(t *tensor, r *serving.Request) ([]bool, error) {
	if t == nil {
		return nil, nil
	}
	name := tfserving.ExcludeHistory
	b := int64(r.Batch)
	switch s := t.shape; {
	case len(s) == 0, len(s) == 1 && (s[0] == b || s[0] == 1), len(s) == 2 && s[0] == b && s[1] == 1:
	default:
		return nil, invalidf("input %q: shape %v, want [%d] (one flag per request row) or [1]", name, t.shape, r.Batch)
	}
	if int64(len(t.ints)) != b && len(t.ints) != 1 {
		return nil, invalidf("input %q: %d values for %d request rows", name, len(t.ints), r.Batch)
	}
	flags := make([]bool, r.Batch)
	any := false
	for i := range flags {
		v := t.ints[min(i, len(t.ints)-1)]
		if v != 0 && v != 1 {
			return nil, invalidf("input %q: value %d at [%d] is not a bool", name, v, i)
		}
		flags[i] = v == 1
		any = any || flags[i]
	}
	if any && r.ItemIDs == nil {
		return nil, invalidf("input %q needs the history as %q (a %q request carries no item ids)", name, tfserving.ItemIDs, tfserving.CommSeq)
	}
	return flags, nil
}

// boolean reads a JSON true or false at depth as 1 or 0, counted in
// tensor.bools (setFilter refuses bools outside exclude_history).
func (tb *tensorBuilder) boolean(v bool, depth int) error {
	if tb.floats {
		return fmt.Errorf("value %v is not a number or a list", v)
	}
	if err := tb.leaf("a value", depth); err != nil {
		return err
	}
	x := int64(0)
	if v {
		x = 1
	}
	tb.t.ints = append(tb.t.ints, x)
	tb.t.bools++
	tb.n++
	return nil
}

// filterInfos adds the filter inputs to a signature's inputs.
func filterInfos(sig serving.Signature, inputs map[string]*tfpb.TensorInfo, info func(string, tfpb.DataType, ...int64) *tfpb.TensorInfo) {
	for _, name := range filterInputNames(sig) {
		if name == tfserving.ExcludeHistory {
			inputs[name] = info(name, tfpb.DataType_DT_BOOL, -1)
		} else {
			inputs[name] = info(name, tfpb.DataType_DT_INT64, -1, -1)
		}
	}
}
