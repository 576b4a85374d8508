package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/x448/float16"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"nann/tfserving"
	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
)

// ServerConfig names the model a gRPC or REST target calls.
type ServerConfig struct {
	// Addr is host:port for gRPC, or a base URL (http://host:port) for REST.
	Addr string
	// Model is model_spec.name ("nann").
	Model string
	// VersionLabel, when set, asks for the version the label names
	// (model_spec.version_label; REST /v1/models/{model}/labels/{label}).
	VersionLabel string
	// Signature is the signature name ("serving_default").
	Signature string
	// Conns is how many connections to spread requests over (default 1).
	Conns int
	// MaxMessageBytes bounds an answer (default 64 MiB).
	MaxMessageBytes int
	// MetricsURL is the server's Prometheus endpoint, read before and
	// after each run for its CPU time and items scored. REST targets
	// default to Addr + "/metrics"; gRPC targets have none by default.
	MetricsURL string
}

func (c *ServerConfig) defaults() {
	if c.Model == "" {
		c.Model = "nann"
	}
	if c.Signature == "" {
		c.Signature = "serving_default"
	}
	if c.Conns == 0 {
		c.Conns = 1
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 64 << 20
	}
}

// Validate reports every problem with c at once.
func (c ServerConfig) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("server address is empty"))
	}
	if c.Model == "" {
		errs = append(errs, errors.New("model name is empty"))
	}
	if c.Conns < 1 || c.Conns > 64 {
		errs = append(errs, fmt.Errorf("connections %d outside [1, 64]", c.Conns))
	}
	if c.MaxMessageBytes < 1024 {
		errs = append(errs, fmt.Errorf("max message bytes %d < 1024", c.MaxMessageBytes))
	}
	return errors.Join(errs...)
}

type grpcTarget struct {
	cfg     ServerConfig
	metrics *http.Client
	conns   []*grpc.ClientConn
	clients []servingpb.PredictionServiceClient
	next    atomic.Uint64
}

// DialGRPC returns a Target calling tensorflow.serving.PredictionService/
// Predict at cfg.Addr (host:port, plaintext). Connections are made lazily.
func DialGRPC(cfg ServerConfig) (Target, error) {
	cfg.defaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gRPC target: %w", err)
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("gRPC target: address %q is not host:port: %w", cfg.Addr, err)
	}
	t := &grpcTarget{cfg: cfg, metrics: &http.Client{Transport: &http.Transport{Proxy: nil}}}
	for range cfg.Conns {
		cc, err := grpc.NewClient("passthrough:///"+cfg.Addr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(cfg.MaxMessageBytes)))
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("gRPC target %s: %w", cfg.Addr, err)
		}
		t.conns = append(t.conns, cc)
		t.clients = append(t.clients, servingpb.NewPredictionServiceClient(cc))
	}
	return t, nil
}

func (t *grpcTarget) Name() string { return "grpc " + t.cfg.Addr }
func (t *grpcTarget) Kind() string { return "grpc" }

// ServerSample reads the server's metrics, if a URL was given.
func (t *grpcTarget) ServerSample(ctx context.Context) (ServerSample, error) {
	if t.cfg.MetricsURL == "" {
		return ServerSample{}, errNoStats
	}
	return scrapeMetrics(ctx, t.metrics, t.cfg.MetricsURL)
}

func (t *grpcTarget) Close() error {
	t.metrics.CloseIdleConnections()
	var errs []error
	for _, cc := range t.conns {
		errs = append(errs, cc.Close())
	}
	return errors.Join(errs...)
}

// Prepare encodes in as a PredictRequest: comm_seq DT_HALF [1, n] as raw
// little-endian bytes, or item_ids / cate_ids DT_INT64 [1, n]; level_topn
// DT_INT32 [6].
func (t *grpcTarget) Prepare(in *Input) (any, error) {
	if err := in.Check(); err != nil {
		return nil, err
	}
	inputs := map[string]*tfpb.TensorProto{
		tfserving.LevelTopN: {Dtype: tfpb.DataType_DT_INT32, TensorShape: shapeOf(6), IntVal: in.LevelTopN[:]},
	}
	if in.Named != nil {
		namedProtos(in.Named, inputs)
	} else if in.CommSeq != nil {
		inputs[tfserving.CommSeq] = halfTensor(in.CommSeq)
	} else {
		inputs[tfserving.ItemIDs] = &tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT64, TensorShape: shapeOf(1, len(in.ItemIDs)), Int64Val: in.ItemIDs}
		if in.CateIDs != nil {
			inputs[tfserving.CateIDs] = &tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT64, TensorShape: shapeOf(1, len(in.CateIDs)), Int64Val: in.CateIDs}
		}
	}
	spec := &servingpb.ModelSpec{Name: t.cfg.Model, SignatureName: t.cfg.Signature}
	if t.cfg.VersionLabel != "" {
		spec.VersionChoice = &servingpb.ModelSpec_VersionLabel{VersionLabel: t.cfg.VersionLabel}
	}
	return &servingpb.PredictRequest{ModelSpec: spec, Inputs: inputs}, nil
}

func shapeOf(dims ...int) *tfpb.TensorShapeProto {
	s := &tfpb.TensorShapeProto{}
	for _, d := range dims {
		s.Dim = append(s.Dim, &tfpb.TensorShapeProto_Dim{Size: int64(d)})
	}
	return s
}

// halfTensor encodes v as a DT_HALF [1, len(v)] tensor.
func halfTensor(v []float32) *tfpb.TensorProto {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], float16.Fromfloat32(x).Bits())
	}
	return &tfpb.TensorProto{Dtype: tfpb.DataType_DT_HALF, TensorShape: shapeOf(1, len(v)), TensorContent: b}
}

func (t *grpcTarget) Do(ctx context.Context, prepared any) (Result, error) {
	c := t.clients[t.next.Add(1)%uint64(len(t.clients))]
	resp, err := c.Predict(ctx, prepared.(*servingpb.PredictRequest))
	if err != nil {
		return Result{}, err
	}
	return grpcResult(resp)
}

// grpcResult reads top_k (required) and items_scored (optional).
func grpcResult(resp *servingpb.PredictResponse) (Result, error) {
	tk := resp.GetOutputs()[tfserving.TopK]
	if tk == nil {
		return Result{}, &BadResponseError{Msg: "no top_k output"}
	}
	ids, err := intValues(tk)
	if err != nil {
		return Result{}, &BadResponseError{Msg: "top_k: " + err.Error()}
	}
	res := Result{IDs: countIDs(ids), ItemsScored: -1}
	if is := resp.GetOutputs()[tfserving.ItemsScored]; is != nil {
		v, err := intValues(is)
		if err != nil || len(v) != 1 {
			return Result{}, &BadResponseError{Msg: fmt.Sprintf("items_scored: %d values, %v", len(v), err)}
		}
		res.ItemsScored = int(v[0])
	}
	return res, nil
}

// intValues decodes an integer tensor from its typed field or raw bytes.
func intValues(tp *tfpb.TensorProto) ([]int64, error) {
	raw := tp.GetTensorContent()
	switch tp.GetDtype() {
	case tfpb.DataType_DT_INT64:
		if len(raw) > 0 {
			return rawInts(raw, 8, "int64", func(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) })
		}
		return tp.GetInt64Val(), nil
	case tfpb.DataType_DT_INT32:
		if len(raw) > 0 {
			return rawInts(raw, 4, "int32", func(b []byte) int64 { return int64(int32(binary.LittleEndian.Uint32(b))) })
		}
		out := make([]int64, len(tp.GetIntVal()))
		for i, v := range tp.GetIntVal() {
			out[i] = int64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype %v, want DT_INT64 or DT_INT32", tp.GetDtype())
}

// rawInts decodes tensor_content holding little-endian integers of size
// bytes each (the element type's name, for the error), read by at.
func rawInts(raw []byte, size int, name string, at func([]byte) int64) ([]int64, error) {
	if len(raw)%size != 0 {
		return nil, fmt.Errorf("tensor_content of %d bytes is not a whole number of %s", len(raw), name)
	}
	out := make([]int64, len(raw)/size)
	for i := range out {
		out[i] = at(raw[size*i:])
	}
	return out, nil
}
