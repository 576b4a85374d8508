package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"google.golang.org/protobuf/proto"

	"nann/internal/safefile"
	"nann/onnx/onnxpb"
)

// Batch, as a dimension given to Builder.Input or Builder.Output, is the
// symbolic batch dimension "n".
const Batch = -1

// Builder assembles an ONNX model (the default domain at one opset) with
// the generated onnxpb types: graph inputs and outputs whose leading
// dimension may be the symbolic batch "n", initializers, and nodes in the
// order they are added (which must be topological). The first problem (a
// name defined twice, an unsupported type) is kept and returned by Model.
type Builder struct {
	g      *onnxpb.GraphProto
	opset  int
	names  map[string]bool
	prefix string
	seq    int
	err    error
}

// NewBuilder starts a graph named name at the given opset.
func NewBuilder(name string, opset int) *Builder {
	return &Builder{g: &onnxpb.GraphProto{Name: proto.String(name)}, opset: opset, names: map[string]bool{}}
}

func (b *Builder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("onnx builder: "+format, args...)
	}
}

func (b *Builder) define(name string) string {
	if name == "" {
		b.fail("a value has no name")
	} else if b.names[name] {
		b.fail("value %q defined twice", name)
	}
	b.names[name] = true
	return name
}

// Scope sets the prefix of generated node and value names ("" for none),
// as torch.onnx names values after their module ("/item_net/dense0/…").
func (b *Builder) Scope(prefix string) { b.prefix = prefix }

// fresh returns an unused generated name for an output of op.
func (b *Builder) fresh(op string) string {
	for {
		b.seq++
		n := fmt.Sprintf("%s/%s_%d", b.prefix, op, b.seq)
		if !b.names[n] {
			return n
		}
	}
}

func valueInfo(name string, dt DType, shape []int) *onnxpb.ValueInfoProto {
	s := &onnxpb.TensorShapeProto{}
	for _, d := range shape {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		if d == Batch {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "n"}
		} else {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		}
		s.Dim = append(s.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: s}}}}
}

// Input declares a graph input (Batch for the symbolic batch dimension)
// and returns its name.
func (b *Builder) Input(name string, dt DType, shape ...int) string {
	b.g.Input = append(b.g.Input, valueInfo(b.define(name), dt, shape))
	return name
}

// Output declares the value name as a graph output.
func (b *Builder) Output(name string, dt DType, shape ...int) {
	if !b.names[name] {
		b.fail("output %q is not defined", name)
	}
	b.g.Output = append(b.g.Output, valueInfo(name, dt, shape))
}

// Float32 adds a float32 initializer (stored as raw little-endian bytes)
// and returns its name; shape nil is a scalar.
func (b *Builder) Float32(name string, data []float32, shape ...int) string {
	if n := numel(shape); n != len(data) {
		b.fail("initializer %q: %d values for shape %v", name, len(data), shape)
	}
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return b.initializer(name, Float32, raw, shape)
}

// Int64 adds an int64 initializer and returns its name.
func (b *Builder) Int64(name string, data []int64, shape ...int) string {
	if n := numel(shape); n != len(data) {
		b.fail("initializer %q: %d values for shape %v", name, len(data), shape)
	}
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return b.initializer(name, Int64, raw, shape)
}

func (b *Builder) initializer(name string, dt DType, raw []byte, shape []int) string {
	if name == "" {
		name = b.fresh("Constant")
	}
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String(b.define(name)), DataType: proto.Int32(int32(dt)), Dims: dims, RawData: raw})
	return name
}

// IntAttr, FloatAttr and IntsAttr are node attributes.
func IntAttr(name string, v int64) *Attr { return &Attr{Name: name, Kind: AttrInt, I: v} }

// FloatAttr is a float attribute.
func FloatAttr(name string, v float64) *Attr { return &Attr{Name: name, Kind: AttrFloat, F: v} }

// IntsAttr is an ints attribute.
func IntsAttr(name string, v ...int64) *Attr { return &Attr{Name: name, Kind: AttrInts, Ints: v} }

func (b *Builder) attr(a *Attr) *onnxpb.AttributeProto {
	p := &onnxpb.AttributeProto{Name: proto.String(a.Name)}
	switch a.Kind {
	case AttrInt:
		p.Type, p.I = onnxpb.AttributeProto_INT.Enum(), proto.Int64(a.I)
	case AttrFloat:
		p.Type, p.F = onnxpb.AttributeProto_FLOAT.Enum(), proto.Float32(float32(a.F))
	case AttrInts:
		p.Type, p.Ints = onnxpb.AttributeProto_INTS.Enum(), append([]int64(nil), a.Ints...)
	default:
		b.fail("attribute %q: kind %d is not written by the builder", a.Name, a.Kind)
	}
	return p
}

// Node adds a node with one output named out ("" for a generated name)
// and returns the output's name. An input "" is an omitted optional input.
func (b *Builder) Node(op, out string, inputs []string, attrs ...*Attr) string {
	for _, in := range inputs {
		if in != "" && !b.names[in] {
			b.fail("node %s: input %q is not defined", op, in)
		}
	}
	if out == "" {
		out = b.fresh(op)
	}
	np := &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(out), Input: append([]string(nil), inputs...), Output: []string{b.define(out)}}
	for _, a := range attrs {
		np.Attribute = append(np.Attribute, b.attr(a))
	}
	b.g.Node = append(b.g.Node, np)
	return out
}

// Model returns the model: IR version 8, the builder's opset of the default
// domain, producer "nann".
func (b *Builder) Model(producerVersion string) (*onnxpb.ModelProto, error) {
	if b.err != nil {
		return nil, b.err
	}
	if len(b.g.Output) == 0 {
		return nil, errors.New("onnx builder: the graph has no output")
	}
	return &onnxpb.ModelProto{
		IrVersion:       proto.Int64(int64(onnxpb.Version_IR_VERSION)),
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(int64(b.opset))}},
		ProducerName:    proto.String("nann"),
		ProducerVersion: proto.String(producerVersion),
		Graph:           b.g,
	}, nil
}

// WriteModel serializes mp to path atomically (temporary file, fsync,
// rename): an existing file at path is replaced only by a complete model.
func WriteModel(path string, mp *onnxpb.ModelProto) error {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(mp)
	if err != nil {
		return fmt.Errorf("onnx: encoding the model: %w", err)
	}
	if err := safefile.Write(path, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return nil
}

// TensorProto encodes t as a named TensorProto (raw little-endian data) of
// its own element type: float32, float64, int32 or int64.
func TensorProto(name string, t *Tensor) (*onnxpb.TensorProto, error) {
	var raw []byte
	switch t.DType {
	case Float32:
		raw = make([]byte, 4*len(t.Data))
		for i, v := range t.Data {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(v)))
		}
	case Float64:
		raw = make([]byte, 8*len(t.Data))
		for i, v := range t.Data {
			binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(v))
		}
	case Int32:
		raw = make([]byte, 4*len(t.Data))
		for i, v := range t.Data {
			binary.LittleEndian.PutUint32(raw[4*i:], uint32(int32(v)))
		}
	case Int64:
		raw = make([]byte, 8*len(t.Data))
		for i, v := range t.Data {
			binary.LittleEndian.PutUint64(raw[8*i:], uint64(int64(v)))
		}
	default:
		return nil, fmt.Errorf("onnx: tensor %q: element type %s is not encoded (float32, float64, int32, int64)", name, t.DType)
	}
	if numel(t.Shape) != len(t.Data) {
		return nil, fmt.Errorf("onnx: tensor %q: %d values for shape %v", name, len(t.Data), t.Shape)
	}
	dims := make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = int64(d)
	}
	return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(t.DType)), Dims: dims, RawData: raw}, nil
}
