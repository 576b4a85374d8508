package server

import (
	"context"
	"log/slog"
	"path"
	"runtime/debug"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"nann/serving"
	"nann/tfserving"
	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
)

// predictionService implements tensorflow.serving.PredictionService.
type predictionService struct {
	servingpb.UnimplementedPredictionServiceServer
	s *Server
}

// modelService implements tensorflow.serving.ModelService.
type modelService struct {
	servingpb.UnimplementedModelServiceServer
	s *Server
}

func targetOf(spec *servingpb.ModelSpec) target {
	t := target{model: spec.GetName(), signature: spec.GetSignatureName(), label: spec.GetVersionLabel()}
	if v := spec.GetVersion(); v != nil {
		n := v.GetValue()
		t.version = &n
	}
	return t
}

// Predict serves a decoded request (the registered handler, predictHandler,
// reads the message itself, after admission).
func (p *predictionService) Predict(ctx context.Context, req *servingpb.PredictRequest) (*servingpb.PredictResponse, error) {
	ctx, release, err := p.s.admit(ctx, ticketFrom(ctx))
	if err != nil {
		return nil, grpcError(err)
	}
	defer release()
	return p.predictDecoded(ctx, req, nil)
}

// predictHandler replaces the generated Predict handler: it admits the
// call (the InTapHandle reserved its place before the message was read),
// waits for a slot, and only then reads the message, checks its element
// counts on the wire and decodes it.
func (p *predictionService) predictHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	h := func(ctx context.Context, _ any) (any, error) {
		ctx, release, err := p.s.admit(ctx, ticketFrom(ctx))
		if err != nil {
			return nil, grpcError(err)
		}
		defer release()
		var raw rawMessage
		if err := dec(&raw); err != nil {
			return nil, err
		}
		p.s.predictReads.Add(1)
		spec, err := wireModelSpec(raw.b)
		if err != nil {
			return nil, grpcError(err)
		}
		return p.predictDecoded(ctx, nil, func(sig serving.Signature) (*servingpb.PredictRequest, error) {
			if err := checkPredictWire(raw.b, sig, &p.s.cfg); err != nil {
				return nil, err
			}
			req := &servingpb.PredictRequest{}
			if err := proto.Unmarshal(raw.b, req); err != nil {
				return nil, invalidf("request message: %v", err)
			}
			raw.b = nil
			req.ModelSpec = spec
			return req, nil
		}, spec)
	}
	if interceptor == nil {
		return h(ctx, nil)
	}
	return interceptor(ctx, nil, &grpc.UnaryServerInfo{Server: srv, FullMethod: servingpb.PredictionService_Predict_FullMethodName}, h)
}

// predictDecoded serves req, or the request that decode returns once the
// version's signature is known (then spec is its model_spec).
func (p *predictionService) predictDecoded(ctx context.Context, req *servingpb.PredictRequest, decode func(serving.Signature) (*servingpb.PredictRequest, error), spec ...*servingpb.ModelSpec) (*servingpb.PredictResponse, error) {
	s := p.s
	if req != nil {
		spec = []*servingpb.ModelSpec{req.GetModelSpec()}
		decode = func(serving.Signature) (*servingpb.PredictRequest, error) { return req, nil }
	}
	t := targetOf(spec[0])
	var filter map[string]bool
	res, err := s.predict(ctx, t, func(sig serving.Signature) (*serving.Request, string, error) {
		req, err := decode(sig)
		if err != nil {
			return nil, "", err
		}
		if filter, err = outputFilter(req.GetOutputFilter()); err != nil {
			return nil, "", err
		}
		r, err := s.decodePredictInputs(req, sig)
		return r, t.signature, err
	})
	if err != nil {
		return nil, grpcError(err)
	}
	ids, scores := outputTensors(res.resp, res.width)
	out := &servingpb.PredictResponse{
		ModelSpec: s.modelSpec(res.model, res.version, res.sigName),
		Outputs:   map[string]*tfpb.TensorProto{},
	}
	if filter == nil || filter[tfserving.TopK] {
		out.Outputs[tfserving.TopK] = ids
	}
	if filter == nil || filter[tfserving.Scores] {
		out.Outputs[tfserving.Scores] = scores
	}
	return out, nil
}

// decodePredictInputs checks and decodes a PredictRequest's inputs against
// the version's signature (also used for recorded warm-up requests).
func (s *Server) decodePredictInputs(req *servingpb.PredictRequest, sig serving.Signature) (*serving.Request, error) {
	in := make(map[string]*tensor, len(req.GetInputs()))
	for name, tp := range req.GetInputs() {
		if err := checkInputName(name, sig); err != nil {
			return nil, err
		}
		t, err := decodeTensorProto(name, tp, sig, &s.cfg)
		if err != nil {
			return nil, err
		}
		in[name] = t
	}
	return buildRequest(in, sig, &s.cfg)
}

// predictionServiceDesc is the generated service description with Predict
// handled by predictHandler.
func predictionServiceDesc(p *predictionService) *grpc.ServiceDesc {
	desc := servingpb.PredictionService_ServiceDesc
	desc.Methods = slices.Clone(desc.Methods)
	for i := range desc.Methods {
		if desc.Methods[i].MethodName == "Predict" {
			desc.Methods[i].Handler = p.predictHandler
		}
	}
	return &desc
}

type ticketKey struct{}

func ticketFrom(ctx context.Context) *ticket {
	tk, _ := ctx.Value(ticketKey{}).(*ticket)
	return tk
}

// tap admits Predict calls as their headers arrive, before the message is
// read: a refused call is answered RESOURCE_EXHAUSTED having cost nothing.
// The admission is released by the handler, or when the stream ends if
// the handler never runs. (It runs on the transport's reader; it must not
// block.)
func (s *Server) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if info.FullMethodName != servingpb.PredictionService_Predict_FullMethodName {
		return ctx, nil
	}
	tk, err := s.lim.reserve()
	if err != nil {
		s.met.observe("grpc", "Predict", codes.ResourceExhausted.String(), 0)
		return ctx, status.Error(codes.ResourceExhausted, err.Error())
	}
	context.AfterFunc(ctx, tk.release)
	return context.WithValue(ctx, ticketKey{}, tk), nil
}

// rawCodec is the proto codec, except that it hands a *rawMessage its
// bytes undecoded.
type rawCodec struct{ encoding.CodecV2 }

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*rawMessage); ok {
		r.b = data.Materialize()
		return nil
	}
	return c.CodecV2.Unmarshal(data, v)
}

// outputFilter returns the requested outputs, nil meaning all.
func outputFilter(names []string) (map[string]bool, error) {
	if len(names) == 0 {
		return nil, nil
	}
	f := make(map[string]bool)
	for _, n := range names {
		if n != tfserving.TopK && n != tfserving.Scores {
			return nil, invalidf("output_filter: unknown output %q (outputs: %s, %s)", n, tfserving.TopK, tfserving.Scores)
		}
		f[n] = true
	}
	return f, nil
}

func (s *Server) modelSpec(model string, version int64, sigName string) *servingpb.ModelSpec {
	return &servingpb.ModelSpec{
		Name:          model,
		VersionChoice: &servingpb.ModelSpec_Version{Version: wrapperspb.Int64(version)},
		SignatureName: sigName,
	}
}

func (p *predictionService) GetModelMetadata(ctx context.Context, req *servingpb.GetModelMetadataRequest) (*servingpb.GetModelMetadataResponse, error) {
	if len(req.GetMetadataField()) == 0 {
		return nil, grpcError(invalidf("metadata_field is empty; the supported field is %q", "signature_def"))
	}
	for _, f := range req.GetMetadataField() {
		if f != "signature_def" {
			return nil, grpcError(invalidf("metadata_field %q is not supported (supported: %q)", f, "signature_def"))
		}
	}
	resp, err := p.s.metadata(targetOf(req.GetModelSpec()))
	return resp, grpcError(err)
}

// metadata answers GetModelMetadata for gRPC and REST.
func (s *Server) metadata(t target) (*servingpb.GetModelMetadataResponse, error) {
	m, v, err := s.acquire(t)
	if err != nil {
		return nil, err
	}
	defer m.mgr.release(v)
	def := signatureDef(v.sig)
	sigs, err := anypb.New(&servingpb.SignatureDefMap{SignatureDef: map[string]*tfpb.SignatureDef{sigDefault: def, sigPredict: def}})
	if err != nil {
		return nil, err
	}
	return &servingpb.GetModelMetadataResponse{
		ModelSpec: &servingpb.ModelSpec{Name: m.name, VersionChoice: &servingpb.ModelSpec_Version{Version: wrapperspb.Int64(v.num)}},
		Metadata:  map[string]*anypb.Any{"signature_def": sigs},
	}, nil
}

// signatureDef describes the serving signature; -1 is an unknown size.
func signatureDef(sig serving.Signature) *tfpb.SignatureDef {
	info := func(name string, dt tfpb.DataType, dims ...int64) *tfpb.TensorInfo {
		shape := &tfpb.TensorShapeProto{}
		for _, d := range dims {
			shape.Dim = append(shape.Dim, &tfpb.TensorShapeProto_Dim{Size: d})
		}
		return &tfpb.TensorInfo{Encoding: &tfpb.TensorInfo_Name{Name: name + ":0"}, Dtype: dt, TensorShape: shape}
	}
	def := &tfpb.SignatureDef{
		Inputs: map[string]*tfpb.TensorInfo{
			tfserving.CommSeq:   info(tfserving.CommSeq, tfpb.DataType_DT_HALF, -1, int64(sig.CommSeqLen)),
			tfserving.LevelTopN: info(tfserving.LevelTopN, tfpb.DataType_DT_INT32, 6),
			tfserving.ItemIDs:   info(tfserving.ItemIDs, tfpb.DataType_DT_INT64, -1, -1),
			tfserving.CateIDs:   info(tfserving.CateIDs, tfpb.DataType_DT_INT64, -1, -1),
		},
		Outputs: map[string]*tfpb.TensorInfo{
			// [batch, n]: n is the longest answer row, at most the
			// request's level_topn[5] (default DefaultLevelTopN[5]), so it
			// varies with the request.
			tfserving.TopK:   info(tfserving.TopK, tfpb.DataType_DT_INT64, -1, -1),
			tfserving.Scores: info(tfserving.Scores, tfpb.DataType_DT_FLOAT, -1, -1),
		},
		MethodName: "tensorflow/serving/predict",
	}
	if len(sig.Inputs) > 0 {
		def.Inputs = namedInputInfos(sig, info)
	}
	filterInfos(sig, def.Inputs, info)
	return def
}

func (m *modelService) GetModelStatus(ctx context.Context, req *servingpb.GetModelStatusRequest) (*servingpb.GetModelStatusResponse, error) {
	resp, err := m.s.modelStatus(targetOf(req.GetModelSpec()))
	return resp, grpcError(err)
}

// modelStatus answers GetModelStatus for gRPC and REST.
func (s *Server) modelStatus(t target) (*servingpb.GetModelStatusResponse, error) {
	t.signature = ""
	m, _, err := s.resolve(t)
	if err != nil {
		return nil, err
	}
	want, err := m.mgr.versionOf(t.version, t.label)
	if err != nil {
		return nil, err
	}
	st, err := m.mgr.statuses(want)
	if err != nil {
		return nil, err
	}
	return &servingpb.GetModelStatusResponse{ModelVersionStatus: st}, nil
}

func (st *versionState) proto(num int64) *servingpb.ModelVersionStatus {
	sp := &servingpb.StatusProto{}
	if st.err != nil {
		sp.ErrorCode = tfpb.Code_UNKNOWN
		sp.ErrorMessage = st.err.Error()
	}
	return &servingpb.ModelVersionStatus{Version: num, State: st.state, Status: sp}
}

// unaryInterceptor recovers panics, records metrics and logs failures.
func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	method := path.Base(info.FullMethod)
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in gRPC handler", "method", method, "panic", p, "stack", string(debug.Stack()))
			resp, err = nil, grpcError(errorf(kindInternal, "internal error: panic: %v", p))
		}
		st := status.Convert(err)
		s.met.observe("grpc", method, st.Code().String(), time.Since(start).Seconds())
		if err != nil {
			s.log.Log(ctx, logLevel(st.Code().String()), "request failed", "protocol", "grpc", "method", method, "code", st.Code().String(), "err", st.Message())
		}
	}()
	return handler(ctx, req)
}

// streamInterceptor gives every stream a context that also ends when the
// server shuts down, so long-lived streams (health Watch) do not hold up
// the graceful stop.
func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	stop := context.AfterFunc(s.streamsCtx, cancel)
	defer stop()
	return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c *ctxStream) Context() context.Context { return c.ctx }

// logLevel logs server faults as errors and client mistakes at debug.
func logLevel(code string) slog.Level {
	switch code {
	case "Internal", "Unknown", "DataLoss":
		return slog.LevelError
	case "ResourceExhausted", "Unavailable", "DeadlineExceeded":
		return slog.LevelWarn
	}
	return slog.LevelDebug
}
