package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"nann/tfserving"
)

// restHandler serves TF Serving's REST API under /v1/models/ and /metrics.
func (s *Server) restHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.met.reg, promhttp.HandlerOpts{}))
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

// predictBody is a REST predict request: row ("instances") or columnar
// ("inputs") format.
type predictBody struct {
	SignatureName string          `json:"signature_name"`
	Instances     json.RawMessage `json:"instances"`
	Inputs        json.RawMessage `json:"inputs"`
}

func (s *Server) restPredict(w http.ResponseWriter, r *http.Request, t target) (any, error) {
	raw, err := readBody(w, r, s.cfg.MaxMessageBytes)
	if err != nil {
		return nil, err
	}
	var body predictBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return nil, invalidf("request body: %v", err)
	}
	hasInst, hasIn := len(body.Instances) > 0, len(body.Inputs) > 0
	if hasInst == hasIn {
		return nil, invalidf(`request body: send exactly one of "instances" (row format) or "inputs" (columnar format)`)
	}
	t.signature = body.SignatureName
	res, err := s.predict(r.Context(), t, func(sig Signature) (*Request, error) {
		var in map[string]*tensor
		var err error
		if hasInst {
			in, err = parseInstances(body.Instances, sig, &s.cfg)
		} else {
			in, err = parseInputs(body.Inputs, sig, &s.cfg)
		}
		if err != nil {
			return nil, err
		}
		return buildRequest(in, sig, &s.cfg)
	})
	if err != nil {
		return nil, err
	}
	return restAnswer(res, hasInst), nil
}

func readBody(w http.ResponseWriter, r *http.Request, limit int) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, int64(limit)))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, errorf(kindTooLarge, "request body exceeds %d bytes", limit)
	}
	if err != nil {
		return nil, invalidf("reading request body: %v", err)
	}
	return buf.Bytes(), nil
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

// parseInstances reads row format: a list of objects keyed by input name
// (each value without the batch dimension), or a list of bare comm_seq
// rows. level_topn, which has no batch dimension, must be equal in every
// instance.
func parseInstances(raw json.RawMessage, sig Signature, cfg *Config) (map[string]*tensor, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, invalidf(`"instances" must be a list: %v`, err)
	}
	if len(items) == 0 || len(items) > cfg.MaxBatch {
		return nil, invalidf(`"instances" has %d rows, want 1 to %d`, len(items), cfg.MaxBatch)
	}
	cols := map[string][]any{}
	for i, it := range items {
		v, err := decodeJSON(it)
		if err != nil {
			return nil, invalidf("instances[%d]: %v", i, err)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			obj = map[string]any{tfserving.CommSeq: v}
		}
		if i > 0 && len(obj) != len(cols) {
			return nil, invalidf("instances[%d] has inputs different from instances[0]", i)
		}
		for name, val := range obj {
			if i > 0 && cols[name] == nil {
				return nil, invalidf("instances[%d] has input %q that instances[0] lacks", i, name)
			}
			cols[name] = append(cols[name], val)
		}
	}
	in := make(map[string]*tensor, len(cols))
	for name, col := range cols {
		var val any = col
		if name == tfserving.LevelTopN {
			for i := range col {
				if !jsonEqual(col[i], col[0]) {
					return nil, invalidf("instances[%d]: input %q differs from instances[0]; it is one value per request", i, name)
				}
			}
			val = col[0]
		}
		t, err := jsonTensor(name, val, sig, cfg)
		if err != nil {
			return nil, err
		}
		in[name] = t
	}
	return in, nil
}

// parseInputs reads columnar format: an object keyed by input name, or a
// bare comm_seq tensor.
func parseInputs(raw json.RawMessage, sig Signature, cfg *Config) (map[string]*tensor, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, invalidf(`"inputs": %v`, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		obj = map[string]any{tfserving.CommSeq: v}
	}
	in := make(map[string]*tensor, len(obj))
	for name, val := range obj {
		t, err := jsonTensor(name, val, sig, cfg)
		if err != nil {
			return nil, err
		}
		in[name] = t
	}
	return in, nil
}

func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// jsonTensor converts a nested JSON list to a tensor of the input's type.
func jsonTensor(name string, v any, sig Signature, cfg *Config) (*tensor, error) {
	if _, ok := wantDType[name]; !ok {
		return nil, invalidf("unknown input %q (inputs: %s, %s, %s, %s)", name, tfserving.CommSeq, tfserving.ItemIDs, tfserving.CateIDs, tfserving.LevelTopN)
	}
	limit := maxElements(name, sig, cfg)
	var shape []int64
	var nums []json.Number
	if err := flattenJSON(v, 0, &shape, &nums, limit); err != nil {
		return nil, invalidf("input %q: %v", name, err)
	}
	t := &tensor{shape: shape}
	if name == tfserving.CommSeq {
		t.floats = make([]float32, len(nums))
		for i, n := range nums {
			f, err := strconv.ParseFloat(string(n), 32)
			if err != nil {
				return nil, invalidf("input %q: value %s at flat index %d is not a finite float32", name, n, i)
			}
			t.floats[i] = float32(f)
		}
		return t, nil
	}
	t.ints = make([]int64, len(nums))
	for i, n := range nums {
		x, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return nil, invalidf("input %q: value %s at flat index %d is not an integer", name, n, i)
		}
		t.ints[i] = x
	}
	return t, nil
}

// flattenJSON walks a rectangular nested list, recording its shape at the
// first visit of each depth and checking it at later ones.
func flattenJSON(v any, depth int, shape *[]int64, out *[]json.Number, limit int64) error {
	list, isList := v.([]any)
	if !isList {
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("value %v is not a number", v)
		}
		if depth != len(*shape) {
			return fmt.Errorf("ragged nesting: a number at depth %d, want depth %d", depth, len(*shape))
		}
		if int64(len(*out)) >= limit {
			return fmt.Errorf("more than %d elements", limit)
		}
		*out = append(*out, n)
		return nil
	}
	if depth > 4 {
		return fmt.Errorf("nesting deeper than 4")
	}
	if depth == len(*shape) && len(*out) == 0 {
		*shape = append(*shape, int64(len(list)))
	} else if depth >= len(*shape) || (*shape)[depth] != int64(len(list)) {
		return fmt.Errorf("ragged list: a list of %d at depth %d does not match the first row", len(list), depth)
	}
	for _, e := range list {
		if err := flattenJSON(e, depth+1, shape, out, limit); err != nil {
			return err
		}
	}
	return nil
}
