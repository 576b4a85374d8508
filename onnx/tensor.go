package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/x448/float16"

	"nann/onnx/onnxpb"
)

// DType is the element type of a tensor, numbered as ONNX's
// TensorProto.DataType.
type DType int32

// The element types nann reads.
const (
	Undefined DType = 0
	Float32   DType = 1
	Uint8     DType = 2
	Int8      DType = 3
	Int32     DType = 6
	Int64     DType = 7
	Bool      DType = 9
	Float16   DType = 10
	Float64   DType = 11
)

func (d DType) String() string {
	switch d {
	case Undefined:
		return "undefined"
	case Float32:
		return "float32"
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case Bool:
		return "bool"
	case Float16:
		return "float16"
	case Float64:
		return "float64"
	}
	if s, ok := onnxpb.TensorProto_DataType_name[int32(d)]; ok {
		return strings.ToLower(s)
	}
	return fmt.Sprintf("DType(%d)", int32(d))
}

// Supported reports whether nann computes with the type.
func (d DType) Supported() bool {
	switch d {
	case Float32, Uint8, Int8, Int32, Int64, Bool, Float16, Float64:
		return true
	}
	return false
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool { return d == Float32 || d == Float16 || d == Float64 }

// elemSize is the size of one element in raw_data.
func (d DType) elemSize() int {
	switch d {
	case Float32, Int32:
		return 4
	case Int64, Float64:
		return 8
	case Float16:
		return 2
	case Uint8, Int8, Bool:
		return 1
	}
	return 0
}

// Tensor is a dense row-major tensor. Every element type is held as
// float64 (exact for all float16/float32 values and integers up to 2^53,
// which covers ids and shapes; larger int64 constants, such as the
// INT64_MAX "to the end" of Slice, are rounded but stay out of range):
// the interpreter computes in double precision whatever the nominal type.
type Tensor struct {
	DType DType
	Shape []int
	Data  []float64
}

// NewTensor returns a zero tensor of the given type and shape.
func NewTensor(dt DType, shape ...int) *Tensor {
	return &Tensor{DType: dt, Shape: append([]int{}, shape...), Data: make([]float64, numel(shape))}
}

// Scalar returns a rank-0 tensor.
func Scalar(dt DType, v float64) *Tensor {
	return &Tensor{DType: dt, Shape: []int{}, Data: []float64{v}}
}

// Len is the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Rank is the number of dimensions.
func (t *Tensor) Rank() int { return len(t.Shape) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{DType: t.DType, Shape: append([]int{}, t.Shape...), Data: append([]float64{}, t.Data...)}
}

// Ints returns the elements as int64 (for shape and index tensors).
func (t *Tensor) Ints() []int64 {
	out := make([]int64, len(t.Data))
	for i, v := range t.Data {
		out[i] = toInt64(v)
	}
	return out
}

// Float32s returns the elements rounded to float32.
func (t *Tensor) Float32s() []float32 {
	out := make([]float32, len(t.Data))
	for i, v := range t.Data {
		out[i] = float32(v)
	}
	return out
}

func (t *Tensor) String() string { return fmt.Sprintf("%s%v", t.DType, t.Shape) }

// toInt64 converts with saturation (float64(INT64_MAX) is out of range).
func toInt64(v float64) int64 {
	switch {
	case v != v:
		return 0
	case v >= 9.2e18:
		return math.MaxInt64
	case v <= -9.2e18:
		return math.MinInt64
	}
	return int64(v)
}

// strides returns the row-major element strides of shape.
func strides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// advance steps the multi-index ctr to the next one within lim in
// row-major order (the last axis fastest), wrapping to all zeros after the
// last.
func advance(ctr, lim []int) {
	for d := len(lim) - 1; d >= 0; d-- {
		if ctr[d]++; ctr[d] < lim[d] {
			return
		}
		ctr[d] = 0
	}
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// maxTensorElems bounds any one tensor the reader or interpreter creates
// (2 GiB of float64).
var maxTensorElems int64 = 1 << 28

// checkedNumel is the element count of shape, or an error if a dimension is
// negative or the count exceeds limit.
func checkedNumel(shape []int64, limit int64) (int, error) {
	n := int64(1)
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("dimension %d is %d", i, d)
		}
		if d > 0 && n > limit/d {
			return 0, fmt.Errorf("shape %v has more than %d elements", shape, limit)
		}
		n *= d
	}
	return int(n), nil
}

// TensorFromProto converts an embedded TensorProto. Tensors whose data
// lives in external files are refused (nann reads one self-contained file).
func TensorFromProto(tp *onnxpb.TensorProto) (*Tensor, error) {
	name := tp.GetName()
	if name == "" {
		name = "(unnamed)"
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("tensor %q: %s", name, fmt.Sprintf(format, args...))
	}
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL || len(tp.GetExternalData()) > 0 {
		return nil, fail("data is stored in an external file (%s); save the model with its weights embedded (onnx.save_model(m, f, save_as_external_data=False); models over 2 GB are not supported)", externalLocation(tp))
	}
	if tp.GetSegment() != nil {
		return nil, fail("segmented tensors are not supported")
	}
	dt := DType(tp.GetDataType())
	if !dt.Supported() {
		return nil, fail("element type %s is not supported", dt)
	}
	n, err := checkedNumel(tp.GetDims(), maxTensorElems)
	if err != nil {
		return nil, fail("%v", err)
	}
	shape := make([]int, len(tp.GetDims()))
	for i, d := range tp.GetDims() {
		shape[i] = int(d)
	}
	t := &Tensor{DType: dt, Shape: shape}
	if raw := tp.GetRawData(); len(raw) > 0 || tp.RawData != nil {
		es := dt.elemSize()
		if len(raw) != n*es {
			return nil, fail("raw_data has %d bytes, shape %v of %s needs %d", len(raw), shape, dt, n*es)
		}
		t.Data = make([]float64, n)
		for i := range t.Data {
			b := raw[i*es:]
			switch dt {
			case Float32:
				t.Data[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
			case Float64:
				t.Data[i] = math.Float64frombits(binary.LittleEndian.Uint64(b))
			case Float16:
				t.Data[i] = float64(float16.Frombits(binary.LittleEndian.Uint16(b)).Float32())
			case Int32:
				t.Data[i] = float64(int32(binary.LittleEndian.Uint32(b)))
			case Int64:
				t.Data[i] = float64(int64(binary.LittleEndian.Uint64(b)))
			case Int8:
				t.Data[i] = float64(int8(b[0]))
			case Uint8:
				t.Data[i] = float64(b[0])
			case Bool:
				t.Data[i] = b2f(b[0] != 0)
			}
		}
		return t, nil
	}
	var got int
	switch dt {
	case Float32:
		got = len(tp.GetFloatData())
		if got == n {
			t.Data = toFloat64s(tp.GetFloatData())
		}
	case Float64:
		got = len(tp.GetDoubleData())
		if got == n {
			t.Data = append([]float64{}, tp.GetDoubleData()...)
		}
	case Int64:
		got = len(tp.GetInt64Data())
		if got == n {
			t.Data = toFloat64s(tp.GetInt64Data())
		}
	default: // int32, int8, uint8, bool, float16 (bit patterns) live in int32_data
		got = len(tp.GetInt32Data())
		if got == n {
			t.Data = make([]float64, n)
			for i, v := range tp.GetInt32Data() {
				switch dt {
				case Float16:
					t.Data[i] = float64(float16.Frombits(uint16(v)).Float32())
				case Bool:
					t.Data[i] = b2f(v != 0)
				default:
					t.Data[i] = float64(v)
				}
			}
		}
	}
	if got != n {
		return nil, fail("holds %d values, shape %v needs %d", got, shape, n)
	}
	return t, nil
}

// toFloat64s converts a slice of numbers to float64, into a new slice.
func toFloat64s[T float32 | int64](v []T) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func externalLocation(tp *onnxpb.TensorProto) string {
	for _, e := range tp.GetExternalData() {
		if e.GetKey() == "location" {
			return fmt.Sprintf("location %q", e.GetValue())
		}
	}
	return "no location given"
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
