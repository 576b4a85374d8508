package server

import (
	"context"
	"fmt"
	"runtime/debug"
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
	resp    *Response
	width   int
	version int64
	sigName string
}

// resolve checks the model and signature names.
func (s *Server) resolve(t target) (string, error) {
	if t.model != s.cfg.ModelName {
		return "", notFoundf("model %q not found (this server serves %q)", t.model, s.cfg.ModelName)
	}
	if t.label != "" {
		return "", notFoundf("version label %q not found (no version labels are configured)", t.label)
	}
	switch t.signature {
	case "":
		return sigDefault, nil
	case sigDefault, sigPredict:
		return t.signature, nil
	}
	return "", invalidf("signature %q not found (signatures: %s, %s)", t.signature, sigDefault, sigPredict)
}

// predict resolves the target, decodes the request with the version's
// signature, waits for a concurrency slot and runs the servable.
func (s *Server) predict(ctx context.Context, t target, decode func(Signature) (*Request, error)) (*result, error) {
	sigName, err := s.resolve(t)
	if err != nil {
		return nil, err
	}
	v, err := s.mgr.acquire(t.version)
	if err != nil {
		return nil, err
	}
	defer s.mgr.release(v)
	req, err := decode(v.sig)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.RequestTimeout)
		defer cancel()
	}
	if err := s.lim.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.lim.release()
	resp, err := s.callServable(ctx, v.servable, req)
	if err != nil {
		return nil, fmt.Errorf("model version %d: %w", v.num, err)
	}
	width, err := checkResponse(req, resp)
	if err != nil {
		return nil, fmt.Errorf("model version %d: %w", v.num, err)
	}
	for _, n := range resp.ItemsScored {
		s.met.items.Observe(float64(n))
	}
	return &result{resp: resp, width: width, version: v.num, sigName: sigName}, nil
}

// callServable runs Predict, turning a panic into an INTERNAL error.
func (s *Server) callServable(ctx context.Context, sv Servable, req *Request) (resp *Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, errorf(kindInternal, "panic in Predict: %v", p)
			s.log.Error("panic in Servable.Predict", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	return sv.Predict(ctx, req)
}
