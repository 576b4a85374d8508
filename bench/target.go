// Package bench measures nann serving honestly: in-process (a loaded model
// called directly), over TF Serving's gRPC API and over its REST API, with
// a closed loop of N workers or an open loop at a target rate whose
// latencies are measured from each request's intended send time (so a
// stalled server cannot hide its queueing delay: no coordinated omission).
//
// A run sends prepared Inputs to a Target and records every answer in HDR
// histograms: throughput, latency percentiles, errors by code, items scored
// per request, a latency time series (for a PNG) and, when versions are
// switched under load, the latency around each switch.
package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"nann/serving"
)

// Input is one user's request. Exactly one of CommSeq, ItemIDs and Named
// is set.
type Input struct {
	// CommSeq is the behaviour-sequence embedding (50 positions × 64 =
	// 3200 values), sent as float16; values should be exactly
	// representable in float16 so every target sees the same numbers.
	CommSeq []float32
	// ItemIDs is the user's history as dense item ids (at most 50, oldest
	// first); CateIDs, optional, holds the matching category ids.
	ItemIDs, CateIDs []int64
	// LevelTopN is the serving variant's beam widths; LevelTopN[5] is K.
	LevelTopN [6]int32
	// Named holds, for an imported model, one tensor per user-side input
	// by its ONNX name, each [1, ...] (see NamedInputs).
	Named map[string]*NamedTensor
}

// Check reports what is wrong with in, if anything.
func (in *Input) Check() error {
	if in.Named != nil {
		if err := checkNamed(in); err != nil {
			return err
		}
		return serving.CheckLevelTopN("input level_topn", in.LevelTopN, 0)
	}
	switch {
	case in.CommSeq == nil && len(in.ItemIDs) == 0:
		return errors.New("input has neither comm_seq nor item_ids")
	case in.CommSeq != nil && in.ItemIDs != nil:
		return errors.New("input has both comm_seq and item_ids")
	case in.CateIDs != nil && len(in.CateIDs) != len(in.ItemIDs):
		return fmt.Errorf("input has %d cate_ids for %d item_ids", len(in.CateIDs), len(in.ItemIDs))
	}
	return serving.CheckLevelTopN("input level_topn", in.LevelTopN, 0)
}

// Result is what a target reports about one successful request.
type Result struct {
	// IDs is the number of (non-padding) item ids answered.
	IDs int
	// ItemsScored is the number of items the model scored for the request,
	// or -1 when the target does not report it.
	ItemsScored int
}

// Target is something to benchmark. Prepare turns an Input into the form
// Do sends (encoded once, before the run, so that the client's encoding
// cost is not measured); Do must be safe for concurrent use.
type Target interface {
	// Name labels the target in reports ("inproc", "grpc 127.0.0.1:8500").
	Name() string
	// Kind is "inproc", "grpc", "rest" or another word for custom targets;
	// reports compare each kind's throughput with "inproc".
	Kind() string
	Prepare(in *Input) (any, error)
	Do(ctx context.Context, prepared any) (Result, error)
	Close() error
}

// Predictor is an in-process model: anything that answers an Input.
type Predictor interface {
	Predict(ctx context.Context, in *Input) (Result, error)
}

// PredictorFunc adapts a function to Predictor.
type PredictorFunc func(ctx context.Context, in *Input) (Result, error)

// Predict calls f.
func (f PredictorFunc) Predict(ctx context.Context, in *Input) (Result, error) { return f(ctx, in) }

// inProcess is a Target over a Predictor.
type inProcess struct {
	name string
	p    Predictor
}

// NewInProcess returns a Target that calls p directly.
func NewInProcess(name string, p Predictor) Target {
	if name == "" {
		name = "inproc"
	}
	return &inProcess{name: name, p: p}
}

func (t *inProcess) Name() string { return t.name }
func (t *inProcess) Kind() string { return "inproc" }
func (t *inProcess) Close() error { return nil }

func (t *inProcess) Prepare(in *Input) (any, error) {
	if err := in.Check(); err != nil {
		return nil, err
	}
	return in, nil
}

func (t *inProcess) Do(ctx context.Context, prepared any) (Result, error) {
	return t.p.Predict(ctx, prepared.(*Input))
}

// servableTarget calls a serving.Servable directly, as the server would
// after decoding a request.
type servableTarget struct {
	name string
	sv   serving.Servable
	sig  serving.Signature
}

// NewServableTarget returns an in-process Target over a loaded model
// version. Close closes sv.
func NewServableTarget(name string, sv serving.Servable) Target {
	if name == "" {
		name = "inproc"
	}
	return &servableTarget{name: name, sv: sv, sig: sv.Signature()}
}

func (t *servableTarget) Name() string { return t.name }
func (t *servableTarget) Kind() string { return "inproc" }
func (t *servableTarget) Close() error { return t.sv.Close() }

// Prepare builds the serving.Request, checked against the signature as the
// server checks it.
func (t *servableTarget) Prepare(in *Input) (any, error) {
	if err := in.Check(); err != nil {
		return nil, err
	}
	if in.Named != nil {
		return namedRequest(in, t.sig)
	}
	r := &serving.Request{Batch: 1, LevelTopN: in.LevelTopN}
	if in.CommSeq != nil {
		if len(in.CommSeq) != t.sig.CommSeqLen {
			return nil, fmt.Errorf("comm_seq has %d values, the model wants %d", len(in.CommSeq), t.sig.CommSeqLen)
		}
		r.CommSeq = in.CommSeq
		return r, nil
	}
	if len(in.ItemIDs) > t.sig.SeqLen {
		return nil, fmt.Errorf("item_ids has %d ids, the model takes at most %d", len(in.ItemIDs), t.sig.SeqLen)
	}
	r.ItemIDs = [][]int64{in.ItemIDs}
	if in.CateIDs != nil {
		r.CateIDs = [][]int64{in.CateIDs}
	}
	return r, nil
}

func (t *servableTarget) Do(ctx context.Context, prepared any) (Result, error) {
	resp, err := t.sv.Predict(ctx, prepared.(*serving.Request))
	if err != nil {
		return Result{}, err
	}
	if resp == nil || len(resp.TopK) != 1 {
		return Result{}, &BadResponseError{Msg: "servable did not answer one row"}
	}
	res := Result{IDs: countIDs(resp.TopK[0]), ItemsScored: -1}
	if len(resp.ItemsScored) == 1 {
		res.ItemsScored = resp.ItemsScored[0]
	}
	return res, nil
}

// countIDs counts non-padding ids (the server pads short rows with 0).
func countIDs(ids []int64) int {
	n := 0
	for _, id := range ids {
		if id != 0 {
			n++
		}
	}
	return n
}

// OpenBundle loads the model in dir with load (bundle.Load for nann's
// bundles) and returns an in-process Target. dir is a version directory,
// or a base path holding numeric version directories, of which the newest
// is loaded.
func OpenBundle(ctx context.Context, dir string, load serving.Loader) (Target, error) {
	if load == nil {
		return nil, errors.New("in-process target: no model loader given")
	}
	vdir, err := VersionDir(dir)
	if err != nil {
		return nil, fmt.Errorf("in-process target %s: %w", dir, err)
	}
	sv, err := load(ctx, vdir)
	if err != nil {
		return nil, fmt.Errorf("in-process target: load %s: %w", vdir, err)
	}
	return NewServableTarget("inproc "+dir, sv), nil
}

// VersionDir returns the newest numeric subdirectory of dir (a model base
// path), or dir itself when it has none (a version directory).
func VersionDir(dir string) (string, error) {
	vs, err := serving.ListVersions(dir)
	if err != nil {
		return "", err
	}
	if len(vs) == 0 {
		return dir, nil
	}
	return filepath.Join(dir, strconv.FormatInt(vs[0], 10)), nil
}
