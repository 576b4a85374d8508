package onnx

import (
	"fmt"

	"nann/onnx/onnxpb"
)

// AttrKind is the type of an attribute.
type AttrKind int

// Attribute kinds nann reads (graphs and sparse tensors are refused).
const (
	AttrFloat AttrKind = iota + 1
	AttrInt
	AttrString
	AttrTensor
	AttrFloats
	AttrInts
	AttrStrings
)

// Attr is a node attribute.
type Attr struct {
	Name    string
	Kind    AttrKind
	F       float64
	I       int64
	S       string
	T       *Tensor
	Floats  []float64
	Ints    []int64
	Strings []string
}

func attrFromProto(ap *onnxpb.AttributeProto) (*Attr, error) {
	a := &Attr{Name: ap.GetName()}
	if a.Name == "" {
		return nil, fmt.Errorf("an attribute has no name")
	}
	if ap.GetRefAttrName() != "" {
		return nil, fmt.Errorf("attribute %q refers to a function attribute (functions are not supported)", a.Name)
	}
	switch ap.GetType() {
	case onnxpb.AttributeProto_FLOAT:
		a.Kind, a.F = AttrFloat, float64(ap.GetF())
	case onnxpb.AttributeProto_INT:
		a.Kind, a.I = AttrInt, ap.GetI()
	case onnxpb.AttributeProto_STRING:
		a.Kind, a.S = AttrString, string(ap.GetS())
	case onnxpb.AttributeProto_TENSOR:
		t, err := TensorFromProto(ap.GetT())
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", a.Name, err)
		}
		a.Kind, a.T = AttrTensor, t
	case onnxpb.AttributeProto_FLOATS:
		a.Kind = AttrFloats
		for _, f := range ap.GetFloats() {
			a.Floats = append(a.Floats, float64(f))
		}
	case onnxpb.AttributeProto_INTS:
		a.Kind, a.Ints = AttrInts, append([]int64{}, ap.GetInts()...)
	case onnxpb.AttributeProto_STRINGS:
		a.Kind = AttrStrings
		for _, s := range ap.GetStrings() {
			a.Strings = append(a.Strings, string(s))
		}
	case onnxpb.AttributeProto_UNDEFINED:
		// IR < 3 files leave the type out; infer it from the one field set.
		switch {
		case ap.T != nil:
			ap.Type = onnxpb.AttributeProto_TENSOR.Enum()
		case len(ap.GetInts()) > 0:
			ap.Type = onnxpb.AttributeProto_INTS.Enum()
		case len(ap.GetFloats()) > 0:
			ap.Type = onnxpb.AttributeProto_FLOATS.Enum()
		case ap.I != nil:
			ap.Type = onnxpb.AttributeProto_INT.Enum()
		case ap.F != nil:
			ap.Type = onnxpb.AttributeProto_FLOAT.Enum()
		case ap.S != nil:
			ap.Type = onnxpb.AttributeProto_STRING.Enum()
		default:
			return nil, fmt.Errorf("attribute %q has no type and no value", a.Name)
		}
		return attrFromProto(ap)
	default:
		return nil, fmt.Errorf("attribute %q is of type %s, which is not supported", a.Name, ap.GetType())
	}
	return a, nil
}

// attrInt returns the int attribute name, or def if absent; an attribute of
// another kind is an error.
func (n *Node) attrInt(name string, def int64) (int64, error) {
	a, ok := n.Attrs[name]
	if !ok {
		return def, nil
	}
	if a.Kind != AttrInt {
		return 0, fmt.Errorf("attribute %q should be an int", name)
	}
	return a.I, nil
}

func (n *Node) attrFloat(name string, def float64) (float64, error) {
	a, ok := n.Attrs[name]
	if !ok {
		return def, nil
	}
	if a.Kind != AttrFloat {
		return 0, fmt.Errorf("attribute %q should be a float", name)
	}
	return a.F, nil
}

// attrInts returns the ints attribute name and whether it is present.
func (n *Node) attrInts(name string) ([]int64, bool, error) {
	a, ok := n.Attrs[name]
	if !ok {
		return nil, false, nil
	}
	if a.Kind != AttrInts {
		return nil, false, fmt.Errorf("attribute %q should be a list of ints", name)
	}
	return a.Ints, true, nil
}

func (n *Node) attrString(name, def string) (string, error) {
	a, ok := n.Attrs[name]
	if !ok {
		return def, nil
	}
	if a.Kind != AttrString {
		return "", fmt.Errorf("attribute %q should be a string", name)
	}
	return a.S, nil
}
