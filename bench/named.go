package bench

// Named inputs: requests to an imported model (nann import) carry one
// tensor per user-side input, by its ONNX name, instead of comm_seq or
// item_ids. NamedInputs takes them from the arrays of a users.npz (the file
// nann score --users reads), one user per request.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/x448/float16"

	"nann/onnx"
	"nann/serving"
	"nann/tfserving/tfpb"
)

// NamedTensor is one named input of one request: its dtype and the tensor
// (leading dimension 1, the one user).
type NamedTensor struct {
	DType serving.DType
	serving.Tensor
}

// NamedInputs returns up to n inputs of named tensors from arrays with a
// leading users dimension: the arrays called "user.<name>" when there are
// any (the layout of onnx/testdata's fixtures), else every array, each
// sent as input <name>. Users are taken in order, cycling if there are
// fewer than n.
func NamedInputs(arrs map[string]*onnx.Tensor, n int, topn [6]int32) ([]Input, error) {
	if err := checkPool(n); err != nil {
		return nil, err
	}
	byName := map[string]*onnx.Tensor{}
	for k, v := range arrs {
		if name, ok := strings.CutPrefix(k, "user."); ok {
			byName[name] = v
		}
	}
	if len(byName) == 0 {
		byName = arrs
	}
	names := make([]string, 0, len(byName))
	for k := range byName {
		names = append(names, k)
	}
	sort.Strings(names)
	users, first := -1, ""
	dtypes := map[string]serving.DType{}
	for _, name := range names {
		x := byName[name]
		dt, err := serving.ParseDType(x.DType.String())
		if err != nil {
			return nil, fmt.Errorf("array %q: %w", name, err)
		}
		dtypes[name] = dt
		if x.Rank() == 0 || x.Shape[0] == 0 {
			return nil, fmt.Errorf("array %q: shape %v, want [users, ...] with users > 0", name, x.Shape)
		}
		if users < 0 {
			users, first = x.Shape[0], name
		} else if x.Shape[0] != users {
			return nil, fmt.Errorf("array %q has %d users but %q has %d", name, x.Shape[0], first, users)
		}
		if dt.IsFloat() {
			for i, v := range x.Data {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return nil, fmt.Errorf("array %q: value %d is %v; inputs must be finite", name, i, v)
				}
			}
		}
	}
	if users < 0 {
		return nil, fmt.Errorf("no arrays")
	}
	out := make([]Input, n)
	for i := range out {
		u := i % users
		in := Input{Named: map[string]*NamedTensor{}, LevelTopN: topn}
		for _, name := range names {
			x := byName[name]
			w := x.Len() / users
			t := &NamedTensor{DType: dtypes[name], Tensor: serving.Tensor{Shape: []int64{1}}}
			for _, d := range x.Shape[1:] {
				t.Shape = append(t.Shape, int64(d))
			}
			row := x.Data[u*w : (u+1)*w]
			if t.DType.IsFloat() {
				t.Floats = make([]float32, w)
				for j, v := range row {
					t.Floats[j] = float32(v)
					if t.DType == serving.Float16 { // as sent on the wire, so every target sees the same numbers
						t.Floats[j] = float16.Fromfloat32(t.Floats[j]).Float32()
					}
				}
			} else {
				t.Ints = make([]int64, w)
				for j, v := range row {
					t.Ints[j] = int64(v)
				}
			}
			in.Named[name] = t
		}
		out[i] = in
	}
	return out, nil
}

// checkNamed reports what is wrong with an input's named tensors.
func checkNamed(in *Input) error {
	if in.CommSeq != nil || in.ItemIDs != nil || in.CateIDs != nil {
		return fmt.Errorf("input has named tensors and comm_seq or item_ids; send one kind")
	}
	if len(in.Named) == 0 {
		return fmt.Errorf("input has an empty set of named tensors")
	}
	for name, t := range in.Named {
		n := int64(1)
		for _, d := range t.Shape {
			n *= d
		}
		if len(t.Shape) == 0 || t.Shape[0] != 1 || n != int64(t.Len()) || t.DType.IsFloat() != (t.Floats != nil) {
			return fmt.Errorf("named input %q: shape %v with %d %s values, want [1, ...] filled", name, t.Shape, t.Len(), t.DType)
		}
	}
	return nil
}

// namedProtos encodes named tensors as TensorProtos: float32 as DT_FLOAT
// and float16 as DT_HALF (raw little-endian bytes), integers as DT_INT64
// or DT_INT32 values.
func namedProtos(named map[string]*NamedTensor, inputs map[string]*tfpb.TensorProto) {
	for name, t := range named {
		shape := &tfpb.TensorShapeProto{}
		for _, d := range t.Shape {
			shape.Dim = append(shape.Dim, &tfpb.TensorShapeProto_Dim{Size: d})
		}
		tp := &tfpb.TensorProto{TensorShape: shape}
		switch t.DType {
		case serving.Float32:
			tp.Dtype = tfpb.DataType_DT_FLOAT
			tp.TensorContent = make([]byte, 4*len(t.Floats))
			for i, x := range t.Floats {
				binary.LittleEndian.PutUint32(tp.TensorContent[4*i:], math.Float32bits(x))
			}
		case serving.Float16:
			tp.Dtype = tfpb.DataType_DT_HALF
			tp.TensorContent = make([]byte, 2*len(t.Floats))
			for i, x := range t.Floats {
				binary.LittleEndian.PutUint16(tp.TensorContent[2*i:], float16.Fromfloat32(x).Bits())
			}
		case serving.Int32:
			tp.Dtype = tfpb.DataType_DT_INT32
			for _, x := range t.Ints {
				tp.IntVal = append(tp.IntVal, int32(x))
			}
		default:
			tp.Dtype, tp.Int64Val = tfpb.DataType_DT_INT64, slices.Clone(t.Ints)
		}
		inputs[name] = tp
	}
}

// writeNamedJSON appends `,"name":[[...]]` for every named tensor, nested
// by its shape, names in order.
func writeNamedJSON(b *bytes.Buffer, named map[string]*NamedTensor) {
	names := make([]string, 0, len(named))
	for k := range named {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		t := named[name]
		key, _ := json.Marshal(name)
		b.WriteByte(',')
		b.Write(key)
		b.WriteByte(':')
		i := 0
		var rec func(dims []int64)
		rec = func(dims []int64) {
			b.WriteByte('[')
			for j := int64(0); j < dims[0]; j++ {
				if j > 0 {
					b.WriteByte(',')
				}
				if len(dims) > 1 {
					rec(dims[1:])
					continue
				}
				if t.Floats != nil {
					b.WriteString(strconv.FormatFloat(float64(t.Floats[i]), 'g', -1, 32))
				} else {
					b.WriteString(strconv.FormatInt(t.Ints[i], 10))
				}
				i++
			}
			b.WriteByte(']')
		}
		rec(t.Shape)
	}
}

// namedRequest is the serving.Request of named tensors.
func namedRequest(in *Input, sig serving.Signature) (*serving.Request, error) {
	if len(sig.Inputs) == 0 {
		return nil, fmt.Errorf("the model takes comm_seq or item_ids, not named inputs")
	}
	r := &serving.Request{Batch: 1, LevelTopN: in.LevelTopN, Inputs: map[string]*serving.Tensor{}}
	for _, spec := range sig.Inputs {
		t := in.Named[spec.Name]
		if t == nil {
			return nil, fmt.Errorf("input lacks the model's input %q", spec.Name)
		}
		if len(t.Shape) != len(spec.Shape) || t.DType.IsFloat() != spec.DType.IsFloat() {
			return nil, fmt.Errorf("named input %q: %s %v, the model wants %s %v", spec.Name, t.DType, t.Shape, spec.DType, spec.Shape)
		}
		for i := 1; i < len(t.Shape); i++ {
			if spec.Shape[i] >= 0 && t.Shape[i] != spec.Shape[i] {
				return nil, fmt.Errorf("named input %q: shape %v, the model wants %v", spec.Name, t.Shape, spec.Shape)
			}
		}
		ts := t.Tensor
		r.Inputs[spec.Name] = &ts
	}
	for name := range in.Named {
		if _, ok := r.Inputs[name]; !ok {
			return nil, fmt.Errorf("named input %q is not an input of the model", name)
		}
	}
	return r, nil
}
