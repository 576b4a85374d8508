package server

import (
	"context"
	"log/slog"
	"path"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

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

func (p *predictionService) Predict(ctx context.Context, req *servingpb.PredictRequest) (*servingpb.PredictResponse, error) {
	s := p.s
	filter, err := outputFilter(req.GetOutputFilter())
	if err != nil {
		return nil, grpcError(err)
	}
	res, err := s.predict(ctx, targetOf(req.GetModelSpec()), func(sig Signature) (*Request, error) {
		in := make(map[string]*tensor, len(req.GetInputs()))
		for name, tp := range req.GetInputs() {
			if _, ok := wantDType[name]; !ok {
				return nil, invalidf("unknown input %q (inputs: %s, %s, %s, %s)", name, tfserving.CommSeq, tfserving.ItemIDs, tfserving.CateIDs, tfserving.LevelTopN)
			}
			t, err := decodeTensorProto(name, tp, sig, &s.cfg)
			if err != nil {
				return nil, err
			}
			in[name] = t
		}
		return buildRequest(in, sig, &s.cfg)
	})
	if err != nil {
		return nil, grpcError(err)
	}
	ids, scores := outputTensors(res.resp, res.width)
	out := &servingpb.PredictResponse{
		ModelSpec: s.modelSpec(res.version, res.sigName),
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

func (s *Server) modelSpec(version int64, sigName string) *servingpb.ModelSpec {
	return &servingpb.ModelSpec{
		Name:          s.cfg.ModelName,
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
	t.signature = ""
	if _, err := s.resolve(t); err != nil {
		return nil, err
	}
	v, err := s.mgr.acquire(t.version)
	if err != nil {
		return nil, err
	}
	defer s.mgr.release(v)
	def := signatureDef(v.sig)
	sigs, err := anypb.New(&servingpb.SignatureDefMap{SignatureDef: map[string]*tfpb.SignatureDef{sigDefault: def, sigPredict: def}})
	if err != nil {
		return nil, err
	}
	return &servingpb.GetModelMetadataResponse{
		ModelSpec: &servingpb.ModelSpec{Name: s.cfg.ModelName, VersionChoice: &servingpb.ModelSpec_Version{Version: wrapperspb.Int64(v.num)}},
		Metadata:  map[string]*anypb.Any{"signature_def": sigs},
	}, nil
}

// signatureDef describes the serving signature; -1 is an unknown size.
func signatureDef(sig Signature) *tfpb.SignatureDef {
	info := func(name string, dt tfpb.DataType, dims ...int64) *tfpb.TensorInfo {
		shape := &tfpb.TensorShapeProto{}
		for _, d := range dims {
			shape.Dim = append(shape.Dim, &tfpb.TensorShapeProto_Dim{Size: d})
		}
		return &tfpb.TensorInfo{Encoding: &tfpb.TensorInfo_Name{Name: name + ":0"}, Dtype: dt, TensorShape: shape}
	}
	return &tfpb.SignatureDef{
		Inputs: map[string]*tfpb.TensorInfo{
			tfserving.CommSeq:   info(tfserving.CommSeq, tfpb.DataType_DT_HALF, -1, int64(sig.SeqDim)),
			tfserving.LevelTopN: info(tfserving.LevelTopN, tfpb.DataType_DT_INT32, 6),
			tfserving.ItemIDs:   info(tfserving.ItemIDs, tfpb.DataType_DT_INT64, -1, -1),
			tfserving.CateIDs:   info(tfserving.CateIDs, tfpb.DataType_DT_INT64, -1, -1),
		},
		Outputs: map[string]*tfpb.TensorInfo{
			tfserving.TopK:   info(tfserving.TopK, tfpb.DataType_DT_INT64, -1, int64(sig.K)),
			tfserving.Scores: info(tfserving.Scores, tfpb.DataType_DT_FLOAT, -1, int64(sig.K)),
		},
		MethodName: "tensorflow/serving/predict",
	}
}

func (m *modelService) GetModelStatus(ctx context.Context, req *servingpb.GetModelStatusRequest) (*servingpb.GetModelStatusResponse, error) {
	resp, err := m.s.modelStatus(targetOf(req.GetModelSpec()))
	return resp, grpcError(err)
}

// modelStatus answers GetModelStatus for gRPC and REST.
func (s *Server) modelStatus(t target) (*servingpb.GetModelStatusResponse, error) {
	t.signature = ""
	if _, err := s.resolve(t); err != nil {
		return nil, err
	}
	st, err := s.mgr.statuses(t.version)
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
	s.unaryActive.Add(1)
	defer func() {
		s.unaryActive.Add(-1)
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
