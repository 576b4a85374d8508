// Package server serves a nann model over TensorFlow Serving's gRPC and REST
// APIs: Predict, GetModelMetadata and GetModelStatus on gRPC, the /v1/models
// REST routes, Prometheus metrics and the standard gRPC health service.
//
// The server is generic over the loaded model: a Loader turns a version
// directory (<base>/<version>/) into a Servable, and the server takes care of
// version polling and hot swaps, request decoding and validation, limits,
// overload shedding, error codes, metrics and graceful shutdown.
package server

import (
	"context"
	"errors"
	"sync"
)

// Request is one decoded Predict call: Batch users, each given either by a
// behaviour-sequence embedding (CommSeq) or by raw ids (ItemIDs/CateIDs).
type Request struct {
	// Batch is the number of users (rows).
	Batch int
	// CommSeq is Batch×Signature.SeqDim float32 values, row-major (decoded
	// from DT_HALF or DT_FLOAT); nil when the request carries raw ids.
	CommSeq []float32
	// ItemIDs holds, per row, up to Signature.MaxLen raw item ids of the
	// user's history (0 = padding); nil when the request carries CommSeq.
	ItemIDs [][]int64
	// CateIDs holds the matching category ids, or nil when the request did
	// not send them (the servable then looks the categories up itself).
	CateIDs [][]int64
	// LevelTopN is the serving variant's beam widths (SPEC §6): enter points
	// kept, level-1 results, three level-0 rounds, and the answer size.
	LevelTopN [6]int32
}

// Response is a Servable's answer, one row per request row, best first.
// Rows may be shorter than LevelTopN[5]; the server pads them on the wire
// with id 0 (the padding id) and score PadScore.
type Response struct {
	TopK   [][]int64
	Scores [][]float32
	// ItemsScored is the number of items scored for each row.
	ItemsScored []int
}

// Signature describes the tensors a Servable accepts.
type Signature struct {
	// SeqDim is the width of a comm_seq row (50 positions × 64 = 3200).
	SeqDim int
	// MaxLen is the longest raw-id history a row may carry (50).
	MaxLen int
	// K is the default answer size, used in the metadata's output shapes.
	K int
	// DefaultLevelTopN is used when a request omits level_topn.
	DefaultLevelTopN [6]int32
}

// Servable is one loaded model version. Predict must be safe for concurrent
// use and should return promptly with ctx.Err() once ctx is done.
type Servable interface {
	Signature() Signature
	Predict(ctx context.Context, r *Request) (*Response, error)
	// Close releases the version's resources; it is called once, after the
	// last in-flight request on the version has finished.
	Close() error
}

// ItemCatalog is implemented by Servables that know which raw item ids
// their corpus holds. The server then applies Config.UnknownItemIDs to the
// ids of item_ids before calling Predict: unknown ones become padding (0)
// and are counted, or the request is refused.
type ItemCatalog interface {
	KnownItemID(raw int64) bool
}

// Loader loads the model version stored in versionDir.
type Loader func(ctx context.Context, versionDir string) (Servable, error)

// ErrInvalidInput marks errors caused by the request's content (for
// example an item id outside the corpus). Servables wrap it with %w; the
// server answers INVALID_ARGUMENT / HTTP 400 with the error's message.
var ErrInvalidInput = errors.New("invalid input")

var (
	loaderMu      sync.Mutex
	defaultLoader Loader
)

// RegisterLoader sets the Loader that `nann serve` uses. The bundle package
// calls it from an init function; a second registration replaces the first.
func RegisterLoader(l Loader) {
	loaderMu.Lock()
	defer loaderMu.Unlock()
	defaultLoader = l
}

// DefaultLoader returns the registered Loader, or nil if none is.
func DefaultLoader() Loader {
	loaderMu.Lock()
	defer loaderMu.Unlock()
	return defaultLoader
}
