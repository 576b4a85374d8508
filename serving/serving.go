// Package serving is the contract between a served model and the server
// that serves it: what a loaded model version offers (Servable, its
// Signature), what it is asked (Request) and answers (Response), how a
// version directory becomes a Servable (Loader), how the versions under a
// model base path are named (ListVersions), and how a model says that a
// request's content is at fault (ErrInvalidInput).
//
// The package imports nothing of nann. The server (package server) decodes
// the wire formats into a Request and encodes the Response; model packages
// (package bundle) implement Servable and provide a Loader; tools (package
// bench) call a Servable directly, as the server would. The Loader is
// passed explicitly, server.New(cfg, bundle.Load, log): no registry.
//
// # Two kinds of servable
//
// A Servable takes either the fixed inputs of the reference model
// (comm_seq, or item_ids/cate_ids, plus level_topn), sized by Signature's
// CommSeqLen and SeqLen, or, when Signature.Inputs is not empty, the named
// inputs it lists: an imported scoring network's user-side ONNX inputs,
// each by name, dtype and shape (the leading dimension is the batch, -1),
// decoded into Request.Inputs. The server's decoders check named inputs
// against the Signature (dtype, rank, fixed dims, one batch size, the
// MaxBatch element bound before allocating) and GetModelMetadata lists
// them in the SignatureDef; everything else in the server (version
// polling, hot swaps, limits, error codes, metrics, the Response's
// encoding) depends on Servable only. The Loader given to server.New picks
// the implementation from the version directory (bundle.Load reads the
// manifest's format), so the wiring stays server.New(cfg, bundle.Load, log).
package serving

import (
	"context"
	"errors"
	"fmt"
)

// DefaultMaxLevelTopN is the default bound on every level_topn value: the
// server refuses larger values and exporters refuse bundles whose default
// level_topn exceeds the bound they are told the server uses.
const DefaultMaxLevelTopN = 10000

// Request is one decoded Predict call: Batch users, each given either by a
// behaviour-sequence embedding (CommSeq) or by raw ids (ItemIDs/CateIDs),
// or, for a Servable whose Signature lists Inputs, by named tensors.
type Request struct {
	// Batch is the number of users (rows).
	Batch int
	// CommSeq is Batch×Signature.CommSeqLen float32 values, row-major (decoded
	// from DT_HALF or DT_FLOAT); nil when the request carries raw ids.
	CommSeq []float32
	// ItemIDs holds, per row, up to Signature.SeqLen raw item ids of the
	// user's history (0 = padding); nil when the request carries CommSeq.
	ItemIDs [][]int64
	// CateIDs holds the matching category ids, or nil when the request did
	// not send them (the servable then looks the categories up itself).
	CateIDs [][]int64
	// LevelTopN is the serving variant's beam widths (SPEC §6): enter points
	// kept, level-1 results, three level-0 rounds, and the answer size.
	LevelTopN [6]int32
	// Inputs holds the named inputs of a Servable whose Signature lists
	// Inputs: one tensor per listed input, by name, each with leading
	// dimension Batch, checked against the Signature by the server. nil for
	// the reference model's fixed inputs.
	Inputs map[string]*Tensor
	// Blocked is the model's blocklist (raw item ids that must never be
	// answered), the same for every request until the list changes; nil
	// blocks nothing. See BlockedItemsExcluder.
	Blocked *ItemSet
	// Filter restricts this request's answers (exclude_item_ids,
	// exclude_history, include_cate_ids, exclude_cate_ids); nil when the
	// request sent none. Only set for a Signature with Filters.
	Filter *Filter
}

// Response is a Servable's answer, one row per request row, best first.
// Rows may be shorter than LevelTopN[5]; the server pads them on the wire
// with id 0 (the padding id).
type Response struct {
	TopK   [][]int64
	Scores [][]float32
	// ItemsScored is the number of items scored for each row.
	ItemsScored []int
}

// Signature describes the tensors a Servable accepts.
type Signature struct {
	// CommSeqLen is the width of a comm_seq row (50 positions × 64 = 3200).
	CommSeqLen int
	// SeqLen is the longest raw-id history a row may carry (50).
	SeqLen int
	// K is the default answer size, used in the metadata's output shapes.
	K int
	// DefaultLevelTopN is used when a request omits level_topn.
	DefaultLevelTopN [6]int32
	// Inputs lists the user-side inputs of an imported scoring network by
	// name, dtype and shape; requests then carry Request.Inputs. Empty
	// means the reference model's fixed inputs (comm_seq or
	// item_ids/cate_ids, sized by CommSeqLen and SeqLen, which are unused
	// when Inputs is set).
	Inputs []Input
	// Filters says which parts of Request.Filter the Servable applies
	// inside retrieval; the server lists those filter inputs in the
	// metadata and refuses the others (none when zero).
	Filters FilterKinds
}

// Validate reports every field that is out of range.
func (s Signature) Validate() error {
	var errs []error
	if len(s.Inputs) == 0 {
		if s.CommSeqLen < 1 {
			errs = append(errs, fmt.Errorf("signature: CommSeqLen %d < 1", s.CommSeqLen))
		}
		if s.SeqLen < 1 {
			errs = append(errs, fmt.Errorf("signature: SeqLen %d < 1", s.SeqLen))
		}
	} else if err := validateInputs(s.Inputs); err != nil {
		errs = append(errs, err)
	}
	if s.K < 1 {
		errs = append(errs, fmt.Errorf("signature: K %d < 1", s.K))
	}
	if err := CheckLevelTopN("signature: default level_topn", s.DefaultLevelTopN, 0); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// CheckLevelTopN reports every value of l (called name in the messages,
// e.g. "level_topn") below 1 or, when max ≥ 1, above max (the server's max
// level_topn); nil when all are in range.
func CheckLevelTopN(name string, l [6]int32, max int) error {
	var errs []error
	for i, v := range l {
		switch {
		case v < 1:
			errs = append(errs, fmt.Errorf("%s[%d] = %d < 1", name, i, v))
		case max >= 1 && int(v) > max:
			errs = append(errs, fmt.Errorf("%s[%d] = %d exceeds the server's max level_topn %d", name, i, v, max))
		}
	}
	return errors.Join(errs...)
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
// their corpus holds. The server then applies its unknown-item-id policy
// to the ids of item_ids before calling Predict: unknown ones become
// padding (0) and are counted, or the request is refused.
type ItemCatalog interface {
	KnownItemID(raw int64) bool
}

// Loader loads the model version stored in versionDir. It returns a nil
// Servable only with a non-nil error.
type Loader func(ctx context.Context, versionDir string) (Servable, error)

// ErrInvalidInput marks errors caused by the request's content (for
// example an item id outside the corpus). Servables wrap it with %w; the
// server answers INVALID_ARGUMENT / HTTP 400 with the error's message.
var ErrInvalidInput = errors.New("invalid input")
