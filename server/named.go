package server

// Named inputs: a version whose Signature lists Inputs (an imported ONNX
// scoring network) takes one tensor per listed input, by its ONNX name,
// plus level_topn. The decoders check each against the signature: dtype,
// rank, fixed dimensions, the shared batch size, and the MaxBatch element
// bound before anything is allocated.

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"nann/serving"
	"nann/tfserving"
	"nann/tfserving/tfpb"
)

// namedInput is the signature's named input called name.
func namedInput(sig serving.Signature, name string) (serving.Input, bool) {
	for _, in := range sig.Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return serving.Input{}, false
}

// namedDTypes are the wire dtypes accepted for a named input of each
// dtype: floats as DT_FLOAT or DT_HALF, integers as DT_INT64 or DT_INT32.
func namedDTypes(d serving.DType) []tfpb.DataType {
	switch d {
	case serving.Float32:
		return []tfpb.DataType{tfpb.DataType_DT_FLOAT, tfpb.DataType_DT_HALF}
	case serving.Float16:
		return []tfpb.DataType{tfpb.DataType_DT_HALF, tfpb.DataType_DT_FLOAT}
	case serving.Int64:
		return []tfpb.DataType{tfpb.DataType_DT_INT64, tfpb.DataType_DT_INT32}
	case serving.Int32:
		return []tfpb.DataType{tfpb.DataType_DT_INT32, tfpb.DataType_DT_INT64}
	}
	return nil
}

// acceptedDTypes lists the wire dtypes accepted for input name.
func acceptedDTypes(name string, sig serving.Signature) []tfpb.DataType {
	if in, ok := namedInput(sig, name); ok {
		return namedDTypes(in.DType)
	}
	return wantDType[name]
}

// namedLimit bounds the elements of a named input: MaxBatch rows, or, when
// a row's size is free, what a message of MaxMessageBytes could hold.
func namedLimit(in serving.Input, cfg *Config) int64 {
	if w := in.RowLen(); w >= 0 {
		return int64(cfg.MaxBatch) * w
	}
	return int64(cfg.MaxMessageBytes)
}

// floatInput reports whether input name carries float values.
func floatInput(name string, sig serving.Signature) bool {
	if in, ok := namedInput(sig, name); ok {
		return in.DType.IsFloat()
	}
	return name == tfserving.CommSeq
}

// inputNames lists the inputs sig takes, for error messages.
func inputNames(sig serving.Signature) string {
	if len(sig.Inputs) == 0 {
		return strings.Join(append([]string{tfserving.CommSeq, tfserving.ItemIDs, tfserving.CateIDs, tfserving.LevelTopN}, filterInputNames(sig)...), ", ")
	}
	names := make([]string, 0, len(sig.Inputs)+1)
	for _, in := range sig.Inputs {
		names = append(names, in.Name)
	}
	return strings.Join(append(append(names, tfserving.LevelTopN), filterInputNames(sig)...), ", ")
}

// checkInputName refuses a name that is no input of sig.
func checkInputName(name string, sig serving.Signature) error {
	if _, ok := namedInput(sig, name); ok {
		return nil
	}
	if len(sig.Inputs) > 0 && (name == tfserving.CommSeq || name == tfserving.ItemIDs || name == tfserving.CateIDs) {
		return invalidf("input %q is not an input of this model (it takes %s)", name, inputNames(sig))
	}
	if _, ok := wantDType[name]; ok {
		return nil
	}
	return invalidf("unknown input %q (inputs: %s)", name, inputNames(sig))
}

// maxInputEntries bounds the input entries of one request.
func maxInputEntries(sig serving.Signature) int {
	return len(wantDType) - len(filterDTypes) + len(sig.Inputs) + filterEntries(sig)
}

// bareInput is the input a bare JSON tensor (no input names) stands for:
// comm_seq for the reference model, the only named input otherwise.
func bareInput(sig serving.Signature) (string, error) {
	switch len(sig.Inputs) {
	case 0:
		return tfserving.CommSeq, nil
	case 1:
		return sig.Inputs[0].Name, nil
	}
	return "", invalidf("a bare tensor names no input, and this model takes several (%s): send an object keyed by input name", inputNames(sig))
}

// buildNamedRequest checks the decoded inputs of a request to a version
// with named inputs: every listed input once, with the signature's rank and
// fixed dimensions and one batch size for all, finite floats, integers in
// range; level_topn as for any version.
func buildNamedRequest(in map[string]*tensor, sig serving.Signature, cfg *Config) (*serving.Request, error) {
	r := &serving.Request{Inputs: make(map[string]*serving.Tensor, len(sig.Inputs))}
	var names []string
	for name := range in {
		if _, ok := namedInput(sig, name); !ok && name != tfserving.LevelTopN && !filterAccepted(sig, name) {
			names = append(names, name)
		}
	}
	if len(names) > 0 {
		slices.Sort(names)
		return nil, invalidf("input %q is not an input of this model (it takes %s)", names[0], inputNames(sig))
	}
	var missing []string
	batchOf := ""
	for _, spec := range sig.Inputs {
		t := in[spec.Name]
		if t == nil {
			missing = append(missing, spec.Name)
			continue
		}
		if err := checkNamedShape(spec, t.shape, cfg); err != nil {
			return nil, err
		}
		if batchOf == "" {
			r.Batch, batchOf = int(t.shape[0]), spec.Name
		} else if int(t.shape[0]) != r.Batch {
			return nil, invalidf("input %q: batch size %d, but input %q has %d", spec.Name, t.shape[0], batchOf, r.Batch)
		}
		if err := checkNamedValues(spec, t); err != nil {
			return nil, err
		}
		st := &serving.Tensor{Shape: t.shape}
		if spec.DType.IsFloat() {
			st.Floats = t.floats
		} else {
			st.Ints = t.ints
		}
		r.Inputs[spec.Name] = st
	}
	if len(missing) > 0 {
		return nil, invalidf("missing input %s (this model takes %s)", quotedNames(missing), inputNames(sig))
	}
	if err := setLevelTopN(r, in[tfserving.LevelTopN], sig, cfg); err != nil {
		return nil, err
	}
	if err := setFilter(r, in, sig); err != nil {
		return nil, err
	}
	return r, nil
}

func quotedNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// checkNamedShape checks a named input's shape against its signature.
func checkNamedShape(spec serving.Input, shape []int64, cfg *Config) error {
	if len(shape) != len(spec.Shape) {
		return invalidf("input %q: shape %v has rank %d, want %v (rank %d; -1 is the batch or a free size)", spec.Name, shape, len(shape), spec.Shape, len(spec.Shape))
	}
	if shape[0] < 1 || shape[0] > int64(cfg.MaxBatch) {
		return invalidf("input %q: batch size %d outside [1, %d]", spec.Name, shape[0], cfg.MaxBatch)
	}
	for i := 1; i < len(shape); i++ {
		if spec.Shape[i] >= 0 && shape[i] != spec.Shape[i] {
			return invalidf("input %q: shape %v, want %v (dimension %d must be %d)", spec.Name, shape, spec.Shape, i, spec.Shape[i])
		}
	}
	return nil
}

// checkNamedValues refuses non-finite floats and integers out of range for
// the input's dtype (or beyond 2^53, where the model's float64 ids would
// round), naming the position.
func checkNamedValues(spec serving.Input, t *tensor) error {
	if spec.DType.IsFloat() {
		if t.floats == nil && len(t.ints) > 0 {
			return invalidf("input %q: integer values, want %s", spec.Name, spec.DType)
		}
		for i, v := range t.floats {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return invalidf("input %q: non-finite value %v at %v", spec.Name, v, position(t.shape, i))
			}
		}
		return nil
	}
	if t.ints == nil && len(t.floats) > 0 {
		return invalidf("input %q: float values, want %s", spec.Name, spec.DType)
	}
	lo, hi := int64(-1<<53), int64(1<<53)
	if spec.DType == serving.Int32 {
		lo, hi = math.MinInt32, math.MaxInt32
	}
	for i, v := range t.ints {
		if v < lo || v > hi {
			return invalidf("input %q: value %d at %v is out of range for %s", spec.Name, v, position(t.shape, i), spec.DType)
		}
	}
	return nil
}

// position is the index of flat element i in shape.
func position(shape []int64, i int) []int64 {
	pos := make([]int64, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			pos[d] = int64(i) % shape[d]
			i = int(int64(i) / shape[d])
		}
	}
	return pos
}

// namedInputInfos describes the named inputs (and level_topn) in the
// SignatureDef: ONNX name, dtype, shape with -1 for the batch.
func namedInputInfos(sig serving.Signature, info func(name string, dt tfpb.DataType, dims ...int64) *tfpb.TensorInfo) map[string]*tfpb.TensorInfo {
	out := map[string]*tfpb.TensorInfo{tfserving.LevelTopN: info(tfserving.LevelTopN, tfpb.DataType_DT_INT32, 6)}
	for _, in := range sig.Inputs {
		out[in.Name] = info(in.Name, namedDTypes(in.DType)[0], in.Shape...)
	}
	return out
}
