package serving

import (
	"errors"
	"fmt"
)

// DType is the element type of a named input (Signature.Inputs).
type DType int

// The element types a named input may have.
const (
	InvalidDType DType = iota
	Float32
	Float16
	Int32
	Int64
)

var dtypeNames = [...]string{InvalidDType: "invalid", Float32: "float32", Float16: "float16", Int32: "int32", Int64: "int64"}

// String is the dtype's name as ONNX tools and NumPy write it ("float32").
func (d DType) String() string {
	if d < 0 || int(d) >= len(dtypeNames) {
		return fmt.Sprintf("DType(%d)", int(d))
	}
	return dtypeNames[d]
}

// IsFloat reports whether values of d are decoded into Tensor.Floats (else
// into Tensor.Ints).
func (d DType) IsFloat() bool { return d == Float32 || d == Float16 }

// ParseDType reads a dtype name written by String.
func ParseDType(s string) (DType, error) {
	for d, n := range dtypeNames {
		if n == s && DType(d) != InvalidDType {
			return DType(d), nil
		}
	}
	return InvalidDType, fmt.Errorf("dtype %q is not one of float32, float16, int32, int64", s)
}

// Input is one user-side input of an imported scoring network: the graph
// input's name, its element type and its shape, whose leading dimension is
// the batch (-1); a later -1 is a size the request chooses.
type Input struct {
	Name  string  // the ONNX graph input's name, e.g. "comm_seq"
	DType DType   // element type
	Shape []int64 // e.g. [-1, 50, 64]
}

// RowLen is the number of elements of one row (batch entry), or -1 when a
// dimension after the first is free.
func (in Input) RowLen() int64 {
	n := int64(1)
	for _, d := range in.Shape[1:] {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}

// MaxRank is the highest rank of a named input (the decoders' nesting bound).
const MaxRank = 4

// maxRowLen bounds the elements of one row of a named input.
const maxRowLen = 1 << 24

// reservedNames are inputs every Servable takes besides its own.
var reservedNames = []string{"level_topn"}

func (in Input) validate(i int) []error {
	var errs []error
	what := fmt.Sprintf("signature: input %d %q", i, in.Name)
	if in.Name == "" {
		errs = append(errs, fmt.Errorf("signature: input %d has no name", i))
	}
	for _, r := range reservedNames {
		if in.Name == r {
			errs = append(errs, fmt.Errorf("%s: the name is reserved for the server's own input", what))
		}
	}
	if in.DType <= InvalidDType || int(in.DType) >= len(dtypeNames) {
		errs = append(errs, fmt.Errorf("%s: unsupported dtype %v", what, in.DType))
	}
	switch {
	case len(in.Shape) < 1 || len(in.Shape) > MaxRank:
		errs = append(errs, fmt.Errorf("%s: shape %v: rank %d outside [1, %d]", what, in.Shape, len(in.Shape), MaxRank))
	case in.Shape[0] != -1:
		errs = append(errs, fmt.Errorf("%s: shape %v: the leading dimension is the batch and must be -1", what, in.Shape))
	default:
		n := int64(1)
		for j, d := range in.Shape[1:] {
			switch {
			case d == 0 || d < -1:
				errs = append(errs, fmt.Errorf("%s: shape %v: dimension %d is %d (want a size ≥ 1 or -1)", what, in.Shape, j+1, d))
			case d > 0:
				if n *= d; n > maxRowLen {
					errs = append(errs, fmt.Errorf("%s: shape %v: a row of more than %d elements", what, in.Shape, maxRowLen))
					return errs
				}
			}
		}
	}
	return errs
}

func validateInputs(ins []Input) error {
	var errs []error
	seen := map[string]bool{}
	for i, in := range ins {
		errs = append(errs, in.validate(i)...)
		if in.Name != "" && seen[in.Name] {
			errs = append(errs, fmt.Errorf("signature: input %q is listed twice", in.Name))
		}
		seen[in.Name] = true
	}
	return errors.Join(errs...)
}

// Tensor is a decoded named input: its shape (the leading dimension is the
// batch) and its values, row-major, in Floats (float dtypes, decoded to
// float32) or Ints (integer dtypes).
type Tensor struct {
	Shape  []int64
	Floats []float32
	Ints   []int64
}

// Len is the number of elements.
func (t *Tensor) Len() int {
	if t.Floats != nil {
		return len(t.Floats)
	}
	return len(t.Ints)
}
