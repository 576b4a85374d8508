package server

import (
	"encoding/json"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"nann/serving"
	"nann/tfserving"
)

// restHandler serves TF Serving's REST API under /v1/models/ and the
// metrics at Config.MetricsPath.
func (s *Server) restHandler() http.Handler {
	mux := http.NewServeMux()
	if s.cfg.MetricsPath != "" {
		mux.Handle("GET "+s.cfg.MetricsPath, promhttp.HandlerFor(s.met.reg, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("/v1/models/", s.serveModels)
	return mux
}

// restRoute is a parsed /v1/models/... path.
type restRoute struct {
	target
	action string // "status", "metadata" or "predict"
}

// parseRoute parses {name}[/versions/{v}|/labels/{l}][/metadata|:predict].
func parseRoute(p string) (restRoute, error) {
	rest := strings.TrimPrefix(p, "/v1/models/")
	r := restRoute{action: "status"}
	if name, ok := strings.CutSuffix(rest, "/metadata"); ok {
		r.action, rest = "metadata", name
	} else if name, ok := strings.CutSuffix(rest, ":predict"); ok {
		r.action, rest = "predict", name
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.Contains(rest[i:], "/") {
		return r, errorf(kindUnimplemented, "%q is not served: only :predict is (classify and regress are not implemented; GET /v1/models/{name}[/versions/{v}] for status, /metadata for the signature)", rest[i:])
	}
	parts := strings.Split(rest, "/")
	r.model = parts[0]
	switch {
	case len(parts) == 1 && r.model != "":
	case len(parts) == 3 && parts[1] == "versions":
		n, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil || n < 0 {
			return r, invalidf("version %q in the URL is not a non-negative integer", parts[2])
		}
		r.version = &n
	case len(parts) == 3 && parts[1] == "labels" && parts[2] != "":
		r.label = parts[2]
	default:
		return r, notFoundf("no such route %q (try /v1/models/{name}[/versions/{v}][:predict|/metadata])", p)
	}
	return r, nil
}

func (s *Server) serveModels(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	method := "unknown"
	code := codes.OK
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in REST handler", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			code = codes.Internal
			writeError(w, errorf(kindInternal, "internal error: panic: %v", p))
		}
		s.met.observe("rest", method, code.String(), time.Since(start).Seconds())
	}()
	route, err := parseRoute(r.URL.Path)
	var body any
	if err == nil {
		method, body, err = s.dispatch(w, r, route)
	}
	if err != nil {
		code = kindOf(err).grpcCode()
		s.log.Log(r.Context(), logLevel(code.String()), "request failed", "protocol", "rest", "method", method, "path", r.URL.Path, "code", code.String(), "err", err)
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// dispatch runs a route and returns the method name and the JSON answer.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, route restRoute) (string, any, error) {
	wantMethod := http.MethodGet
	if route.action == "predict" {
		wantMethod = http.MethodPost
	}
	if r.Method != wantMethod {
		w.Header().Set("Allow", wantMethod)
		return route.action, nil, errorf(kindBadMethod, "method %s not allowed on %s (use %s)", r.Method, r.URL.Path, wantMethod)
	}
	switch route.action {
	case "predict":
		body, err := s.restPredict(w, r, route.target)
		return "Predict", body, err
	case "metadata":
		resp, err := s.metadata(route.target)
		if err != nil {
			return "GetModelMetadata", nil, err
		}
		body, err := protoJSON(resp)
		return "GetModelMetadata", body, err
	}
	resp, err := s.modelStatus(route.target)
	if err != nil {
		return "GetModelStatus", nil, err
	}
	body, err := protoJSON(resp)
	return "GetModelStatus", body, err
}

// protoJSON renders a proto as TF Serving does (proto field names, all
// fields present).
func protoJSON(m proto.Message) (json.RawMessage, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(m)
	return json.RawMessage(b), err
}

func (s *Server) restPredict(w http.ResponseWriter, r *http.Request, t target) (any, error) {
	ctx, release, err := s.admit(r.Context(), nil)
	if err != nil {
		return nil, err
	}
	defer release()
	var rows bool
	res, err := s.predict(ctx, t, func(sig serving.Signature) (*serving.Request, string, error) {
		body, err := decodeRESTBody(http.MaxBytesReader(w, r.Body, int64(s.cfg.MaxMessageBytes)), sig, &s.cfg)
		if err != nil {
			return nil, "", err
		}
		rows = body.rows
		req, err := buildRequest(body.in, sig, &s.cfg)
		return req, body.signatureName, err
	})
	if err != nil {
		return nil, err
	}
	return restAnswer(res, rows), nil
}

// restAnswer renders predictions in the request's format, padding short
// rows like the gRPC answer.
func restAnswer(res *result, rows bool) any {
	ids, scores := outputTensors(res.resp, res.width)
	b, k := len(res.resp.TopK), res.width
	if rows {
		preds := make([]map[string]any, b)
		for i := range preds {
			preds[i] = map[string]any{tfserving.TopK: ids.Int64Val[i*k : (i+1)*k], tfserving.Scores: scores.FloatVal[i*k : (i+1)*k]}
		}
		return map[string]any{"predictions": preds}
	}
	idRows, scoreRows := make([][]int64, b), make([][]float32, b)
	for i := range idRows {
		idRows[i], scoreRows[i] = ids.Int64Val[i*k:(i+1)*k], scores.FloatVal[i*k:(i+1)*k]
	}
	return map[string]any{"outputs": map[string]any{tfserving.TopK: idRows, tfserving.Scores: scoreRows}}
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	_ = enc.Encode(body)
}

func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, kindOf(err).httpStatus(), map[string]string{"error": err.Error()})
}
