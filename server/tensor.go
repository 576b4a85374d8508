package server

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/x448/float16"

	"nann/serving"
	"nann/tfserving"
	"nann/tfserving/tfpb"
)

// PadScore is the score of padding entries (id 0) in rows shorter than the
// output width.
const PadScore = -math.MaxFloat32

// tensor is a decoded input: a shape and its values, as floats (comm_seq)
// or integers (everything else).
type tensor struct {
	shape  []int64
	floats []float32
	ints   []int64
	bools  int // how many of ints came as bools (DT_BOOL, JSON true/false)
}

// wantDType lists the dtypes accepted for each input alias.
var wantDType = map[string][]tfpb.DataType{
	tfserving.CommSeq:   {tfpb.DataType_DT_HALF, tfpb.DataType_DT_FLOAT},
	tfserving.LevelTopN: {tfpb.DataType_DT_INT32},
	tfserving.ItemIDs:   {tfpb.DataType_DT_INT64},
	tfserving.CateIDs:   {tfpb.DataType_DT_INT64},
}

// maxElements bounds the element count of each input before allocation.
func maxElements(name string, sig serving.Signature, cfg *Config) int64 {
	if in, ok := namedInput(sig, name); ok {
		return namedLimit(in, cfg)
	}
	if n, ok := filterLimit(name, cfg); ok {
		return n
	}
	switch name {
	case tfserving.CommSeq:
		return int64(cfg.MaxBatch) * int64(sig.CommSeqLen)
	case tfserving.LevelTopN:
		return 6
	}
	return int64(cfg.MaxBatch) * int64(sig.SeqLen)
}

// decodeTensorProto checks tp's dtype and size and decodes its values.
func decodeTensorProto(name string, tp *tfpb.TensorProto, sig serving.Signature, cfg *Config) (*tensor, error) {
	ok := false
	want := acceptedDTypes(name, sig)
	for _, d := range want {
		ok = ok || tp.GetDtype() == d
	}
	if !ok {
		return nil, invalidf("input %q: dtype %v, want %v", name, tp.GetDtype(), want)
	}
	shape, n, err := protoShape(name, tp.GetTensorShape(), maxElements(name, sig, cfg))
	if err != nil {
		return nil, err
	}
	t := &tensor{shape: shape}
	switch tp.GetDtype() {
	case tfpb.DataType_DT_HALF:
		t.floats, err = decodeHalf(name, tp, n)
	case tfpb.DataType_DT_FLOAT:
		t.floats, err = decodeValues(name, tp.GetTensorContent(), tp.GetFloatVal(), n, 4,
			func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) },
			func(v float32) float32 { return v })
	case tfpb.DataType_DT_INT32:
		t.ints, err = decodeValues(name, tp.GetTensorContent(), tp.GetIntVal(), n, 4,
			func(b []byte) int64 { return int64(int32(binary.LittleEndian.Uint32(b))) },
			func(v int32) int64 { return int64(v) })
	case tfpb.DataType_DT_INT64:
		t.ints, err = decodeValues(name, tp.GetTensorContent(), tp.GetInt64Val(), n, 8,
			func(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) },
			func(v int64) int64 { return v })
	case tfpb.DataType_DT_BOOL:
		t.ints, err = decodeBool(name, tp, n)
		t.bools = len(t.ints)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// protoShape validates a shape and returns it with its element count,
// which must not exceed limit.
func protoShape(name string, sp *tfpb.TensorShapeProto, limit int64) ([]int64, int64, error) {
	if sp.GetUnknownRank() {
		return nil, 0, invalidf("input %q: shape of unknown rank", name)
	}
	dims := sp.GetDim()
	if len(dims) > 4 {
		return nil, 0, invalidf("input %q: rank %d is too high", name, len(dims))
	}
	shape := make([]int64, len(dims))
	for i, d := range dims {
		if d.GetSize() < 0 {
			return nil, 0, invalidf("input %q: dimension %d has size %d", name, i, d.GetSize())
		}
		shape[i] = d.GetSize()
	}
	n := int64(1)
	for _, d := range shape {
		if d > 0 && n > limit/d {
			return nil, 0, invalidf("input %q: shape %v exceeds the limit of %d elements", name, shape, limit)
		}
		n *= d
	}
	if n > limit {
		return nil, 0, invalidf("input %q: shape %v exceeds the limit of %d elements", name, shape, limit)
	}
	return shape, n, nil
}

// decodeValues reads n values from raw little-endian content (size bytes
// each) or from the typed field, where a single value fills the shape.
func decodeValues[V, T any](name string, content []byte, vals []V, n int64, size int, fromBytes func([]byte) T, conv func(V) T) ([]T, error) {
	out := make([]T, n)
	switch {
	case len(content) > 0:
		if int64(len(content)) != n*int64(size) {
			return nil, invalidf("input %q: tensor_content has %d bytes, want %d (%d elements × %d bytes)", name, len(content), n*int64(size), n, size)
		}
		for i := range out {
			out[i] = fromBytes(content[i*size:])
		}
	case len(vals) == 1 && n > 1:
		for i := range out {
			out[i] = conv(vals[0])
		}
	case int64(len(vals)) == n:
		for i, v := range vals {
			out[i] = conv(v)
		}
	default:
		return nil, invalidf("input %q: %d values for a shape of %d elements", name, len(vals), n)
	}
	return out, nil
}

func decodeHalf(name string, tp *tfpb.TensorProto, n int64) ([]float32, error) {
	for i, h := range tp.GetHalfVal() {
		if h < 0 || h > math.MaxUint16 {
			return nil, invalidf("input %q: half_val[%d] = %d is not a 16-bit pattern", name, i, h)
		}
	}
	return decodeValues(name, tp.GetTensorContent(), tp.GetHalfVal(), n, 2,
		func(b []byte) float32 { return float16.Frombits(binary.LittleEndian.Uint16(b)).Float32() },
		func(v int32) float32 { return float16.Frombits(uint16(v)).Float32() })
}

// buildRequest validates decoded inputs against the signature and limits.
func buildRequest(in map[string]*tensor, sig serving.Signature, cfg *Config) (*serving.Request, error) {
	if len(sig.Inputs) > 0 {
		return buildNamedRequest(in, sig, cfg)
	}
	for name := range in {
		if _, ok := wantDType[name]; !ok {
			return nil, invalidf("unknown input %q (inputs: %s, %s, %s, %s)", name, tfserving.CommSeq, tfserving.ItemIDs, tfserving.CateIDs, tfserving.LevelTopN)
		}
	}
	seq, ids, cates := in[tfserving.CommSeq], in[tfserving.ItemIDs], in[tfserving.CateIDs]
	r := &serving.Request{}
	var err error
	switch {
	case seq != nil && ids != nil:
		return nil, invalidf("inputs %q and %q are alternatives; send one", tfserving.CommSeq, tfserving.ItemIDs)
	case seq != nil:
		if cates != nil {
			return nil, invalidf("input %q goes with %q, not with %q", tfserving.CateIDs, tfserving.ItemIDs, tfserving.CommSeq)
		}
		err = setCommSeq(r, seq, sig, cfg)
	case ids != nil:
		err = setIDs(r, ids, cates, sig, cfg)
	default:
		return nil, invalidf("missing input: send %q or %q", tfserving.CommSeq, tfserving.ItemIDs)
	}
	if err != nil {
		return nil, err
	}
	if err := setLevelTopN(r, in[tfserving.LevelTopN], sig, cfg); err != nil {
		return nil, err
	}
	if err := setFilter(r, in, sig); err != nil {
		return nil, err
	}
	return r, nil
}

func checkBatch(name string, shape []int64, cfg *Config) error {
	if len(shape) != 2 {
		return invalidf("input %q: shape %v, want rank 2 [batch, width]", name, shape)
	}
	if shape[0] < 1 || shape[0] > int64(cfg.MaxBatch) {
		return invalidf("input %q: batch size %d outside [1, %d]", name, shape[0], cfg.MaxBatch)
	}
	return nil
}

func setCommSeq(r *serving.Request, t *tensor, sig serving.Signature, cfg *Config) error {
	if err := checkBatch(tfserving.CommSeq, t.shape, cfg); err != nil {
		return err
	}
	if t.shape[1] != int64(sig.CommSeqLen) {
		return invalidf("input %q: shape %v, want [batch, %d]", tfserving.CommSeq, t.shape, sig.CommSeqLen)
	}
	for i, v := range t.floats {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return invalidf("input %q: non-finite value %v at [%d, %d]", tfserving.CommSeq, v, i/sig.CommSeqLen, i%sig.CommSeqLen)
		}
	}
	r.Batch, r.CommSeq = int(t.shape[0]), t.floats
	return nil
}

func setIDs(r *serving.Request, ids, cates *tensor, sig serving.Signature, cfg *Config) error {
	if err := checkBatch(tfserving.ItemIDs, ids.shape, cfg); err != nil {
		return err
	}
	if ids.shape[1] > int64(sig.SeqLen) {
		return invalidf("input %q: history length %d exceeds %d", tfserving.ItemIDs, ids.shape[1], sig.SeqLen)
	}
	var err error
	if r.ItemIDs, err = idRows(tfserving.ItemIDs, ids); err != nil {
		return err
	}
	if cates != nil {
		if len(cates.shape) != 2 || cates.shape[0] != ids.shape[0] || cates.shape[1] != ids.shape[1] {
			return invalidf("input %q: shape %v, want %v like %q", tfserving.CateIDs, cates.shape, ids.shape, tfserving.ItemIDs)
		}
		if r.CateIDs, err = idRows(tfserving.CateIDs, cates); err != nil {
			return err
		}
	}
	r.Batch = int(ids.shape[0])
	return nil
}

func idRows(name string, t *tensor) ([][]int64, error) {
	b, l := int(t.shape[0]), int(t.shape[1])
	rows := make([][]int64, b)
	for i := range rows {
		rows[i] = t.ints[i*l : (i+1)*l : (i+1)*l]
		for j, id := range rows[i] {
			if id < 0 {
				return nil, invalidf("input %q: negative id %d at [%d, %d]", name, id, i, j)
			}
		}
	}
	return rows, nil
}

func setLevelTopN(r *serving.Request, t *tensor, sig serving.Signature, cfg *Config) error {
	if t == nil {
		r.LevelTopN = sig.DefaultLevelTopN
		return nil
	}
	if !(len(t.shape) == 1 && t.shape[0] == 6) && !(len(t.shape) == 2 && t.shape[0] == 1 && t.shape[1] == 6) {
		return invalidf("input %q: shape %v, want [6]", tfserving.LevelTopN, t.shape)
	}
	for i, v := range t.ints {
		if v < 1 || v > int64(cfg.MaxLevelTopN) {
			return invalidf("input %q: value %d at [%d] outside [1, %d]", tfserving.LevelTopN, v, i, cfg.MaxLevelTopN)
		}
		r.LevelTopN[i] = int32(v)
	}
	return nil
}

// checkResponse verifies that a servable answered one row per request row
// with matching id and score rows, and returns the output width.
func checkResponse(req *serving.Request, resp *serving.Response) (int, error) {
	if resp == nil {
		return 0, fmt.Errorf("servable returned no response")
	}
	if len(resp.TopK) != req.Batch || len(resp.Scores) != req.Batch {
		return 0, fmt.Errorf("servable returned %d id rows and %d score rows for a batch of %d", len(resp.TopK), len(resp.Scores), req.Batch)
	}
	width := 0
	for i := range resp.TopK {
		if len(resp.TopK[i]) != len(resp.Scores[i]) {
			return 0, fmt.Errorf("servable returned %d ids and %d scores in row %d", len(resp.TopK[i]), len(resp.Scores[i]), i)
		}
		width = max(width, len(resp.TopK[i]))
	}
	return width, nil
}

// outputTensors encodes a response as TensorProtos [batch, width], padding
// short rows with id 0 and PadScore.
func outputTensors(resp *serving.Response, width int) (ids, scores *tfpb.TensorProto) {
	b := len(resp.TopK)
	shape := &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: int64(b)}, {Size: int64(width)}}}
	iv := make([]int64, 0, b*width)
	sv := make([]float32, 0, b*width)
	for i := range resp.TopK {
		iv = append(iv, resp.TopK[i]...)
		sv = append(sv, resp.Scores[i]...)
		for range width - len(resp.TopK[i]) {
			iv = append(iv, 0)
			sv = append(sv, PadScore)
		}
	}
	ids = &tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT64, TensorShape: shape, Int64Val: iv}
	scores = &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shape, FloatVal: sv}
	return ids, scores
}
