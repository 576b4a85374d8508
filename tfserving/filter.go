package tfserving

// Optional filter inputs of nann's serving signature (issue 16): one list
// per request row, 0 = padding; the answers leave out what they exclude and
// stay full.
const (
	// ExcludeItemIDs lists raw item ids never to answer, int64 or int32 [B, L].
	ExcludeItemIDs = "exclude_item_ids"
	// ExcludeHistory drops the row's own item_ids history from its answer,
	// bool [B] (or [B, 1]; one value [1] applies to every row).
	ExcludeHistory = "exclude_history"
	// IncludeCateIDs restricts a row's answer to items of these raw
	// category ids, int64 or int32 [B, L] (a row of only 0s: no restriction).
	IncludeCateIDs = "include_cate_ids"
	// ExcludeCateIDs leaves out items of these raw category ids, int64 or
	// int32 [B, L].
	ExcludeCateIDs = "exclude_cate_ids"
)
