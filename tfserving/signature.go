package tfserving

// Tensor names of nann's serving signature (SPEC §7), shared by the server
// and its clients.
const (
	// CommSeq is the user's behaviour-sequence embedding, [B, 3200] half or float.
	CommSeq = "comm_seq"
	// ItemIDs and CateIDs are the raw-id alternative to CommSeq, int64 [B, ≤50].
	ItemIDs = "item_ids"
	CateIDs = "cate_ids"
	// LevelTopN is the serving beam's six widths, int32 [6].
	LevelTopN = "level_topn"
	// TopK is the answer, int64 [B, K]; Scores its scores, float [B, K].
	TopK   = "top_k"
	Scores = "scores"
	// ItemsScored is the number of items scored per row, int64 [B]; clients
	// read it when a server provides it.
	ItemsScored = "items_scored"
)
