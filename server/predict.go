package server

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"time"

	"nann/serving"
	"nann/tfserving"
)

// Signature names accepted in model_spec.signature_name.
const (
	sigDefault = "serving_default"
	sigPredict = "predict"
)

// target is the model, version and signature a request names.
type target struct {
	model     string
	version   *int64
	label     string
	signature string
}

// result is a successful prediction with the version that served it.
type result struct {
	resp    *serving.Response
	width   int
	model   string
	version int64
	sigName string
}

// resolve finds the model and checks the signature name. (Version labels
// are resolved by the model's manager, with the version.)
func (s *Server) resolve(t target) (*model, string, error) {
	m, err := s.models.get(t.model)
	if err != nil {
		return nil, "", err
	}
	switch t.signature {
	case "":
		return m, sigDefault, nil
	case sigDefault, sigPredict:
		return m, t.signature, nil
	}
	return nil, "", invalidf("signature %q not found (signatures: %s, %s)", t.signature, sigDefault, sigPredict)
}

// acquire finds t's model (whatever signature t names) and acquires the
// version t asks for (by number or label); the caller releases it with
// m.mgr.release(v).
func (s *Server) acquire(t target) (*model, *version, error) {
	m, _, err := s.resolve(target{model: t.model})
	if err != nil {
		return nil, nil, err
	}
	v, err := m.mgr.acquireFor(t.version, t.label)
	if err != nil {
		return nil, nil, err
	}
	return m, v, nil
}

// admit admits a request, or refuses it with errOverloaded, before its
// body is read, then waits for a concurrency slot. It returns the context
// to serve the request with (carrying RequestTimeout when the client gave
// no deadline) and a release function.
func (s *Server) admit(ctx context.Context, tk *ticket) (context.Context, func(), error) {
	if tk == nil {
		var err error
		if tk, err = s.lim.reserve(); err != nil {
			return ctx, func() {}, err
		}
	}
	cancel := func() {}
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancel = context.WithTimeout(ctx, s.cfg.RequestTimeout)
	}
	release := func() { tk.release(); cancel() }
	if err := tk.run(ctx); err != nil {
		release()
		return ctx, func() {}, err
	}
	return ctx, release, nil
}

// predict resolves the target, decodes the request with the version's
// signature and runs the servable. The caller has admitted the request.
// decode returns the request and the signature name it names (REST
// bodies carry it; for gRPC it is t.signature).
func (s *Server) predict(ctx context.Context, t target, decode func(serving.Signature) (*serving.Request, string, error)) (*result, error) {
	m, v, err := s.acquire(t)
	if err != nil {
		return nil, err
	}
	defer m.mgr.release(v)
	req, sigName, err := decode(v.sig)
	if err != nil {
		return nil, err
	}
	t.signature = sigName
	if _, sigName, err = s.resolve(t); err != nil {
		return nil, err
	}
	if err := s.checkItemIDs(ctx, v, req); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	blocked := m.block.current()
	req.Blocked = blocked
	resp, err := s.callServable(ctx, v.servable, req)
	if err != nil {
		return nil, fmt.Errorf("model version %d: %w", v.num, err)
	}
	width, err := checkResponse(req, resp)
	if err != nil {
		return nil, fmt.Errorf("model version %d: %w", v.num, err)
	}
	if blocked != nil {
		s.applyBlocklist(m, v, blocked, resp)
		width, _ = checkResponse(req, resp)
	}
	for _, n := range resp.ItemsScored {
		s.met.items.Observe(float64(n))
	}
	s.met.predictions.WithLabelValues(m.name, strconv.FormatInt(v.num, 10)).Inc()
	return &result{resp: resp, width: width, model: m.name, version: v.num, sigName: sigName}, nil
}

// checkItemIDs applies Config.UnknownItemIDs to the request's raw item
// ids, when the servable knows its corpus.
func (s *Server) checkItemIDs(ctx context.Context, v *version, req *serving.Request) error {
	cat, ok := v.servable.(serving.ItemCatalog)
	if !ok || req.ItemIDs == nil {
		return nil
	}
	unknown := 0
	var first [3]int64 // id, row, position
	for i, row := range req.ItemIDs {
		for j, id := range row {
			if id == 0 || cat.KnownItemID(id) {
				continue
			}
			if s.cfg.UnknownItemIDs == UnknownIsError {
				return invalidf("input %q: unknown item id %d at [%d, %d] (the model's corpus does not hold it; --unknown_item_ids=%s)", tfserving.ItemIDs, id, i, j, UnknownIsError)
			}
			if unknown == 0 {
				first = [3]int64{id, int64(i), int64(j)}
			}
			unknown++
			row[j] = 0
			if req.CateIDs != nil {
				req.CateIDs[i][j] = 0
			}
		}
	}
	if unknown > 0 {
		s.met.unknownIDs.Add(float64(unknown))
		level := slog.LevelDebug
		if now := time.Now().UnixNano(); now-s.met.unknownLogged.Load() >= int64(time.Second) {
			s.met.unknownLogged.Store(now)
			level = slog.LevelInfo
		}
		s.log.Log(ctx, level, "unknown item ids treated as padding", "version", v.num, "unknown", unknown,
			"first_id", first[0], "first_at", fmt.Sprintf("[%d, %d]", first[1], first[2]))
	}
	return nil
}

// callServable runs Predict, turning a panic into an INTERNAL error.
func (s *Server) callServable(ctx context.Context, sv serving.Servable, req *serving.Request) (resp *serving.Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, errorf(kindInternal, "panic in Predict: %v", p)
			s.log.Error("panic in Servable.Predict", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	return sv.Predict(ctx, req)
}
