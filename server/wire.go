package server

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"nann/serving"
	"nann/tfserving/servingpb"
)

// A PredictRequest is read as raw bytes and checked on the wire before it
// is unmarshalled: protobuf's decoded form can be many times the size of
// the message (a map entry of a few bytes becomes a key string and a
// TensorProto struct; a one-byte varint becomes an int64), so the element
// and entry counts are bounded first and only a message within them is
// decoded.

// Field numbers of tensorflow.serving.PredictRequest, its inputs map entry,
// tensorflow.TensorProto and tensorflow.TensorShapeProto.
const (
	fieldModelSpec    = 1
	fieldInputs       = 2
	fieldOutputFilter = 3
	fieldMapKey       = 1
	fieldMapValue     = 2
	fieldTensorShape  = 2
	fieldShapeDim     = 2
)

// Repeated value fields of TensorProto and how their packed elements are
// encoded: 'f' fixed32, 'd' fixed64, 'v' varint, 'b' bytes (never packed).
var tensorValueFields = map[protowire.Number]byte{
	5: 'f', 6: 'd', 7: 'v', 8: 'b', 9: 'f', 10: 'v', 11: 'v', 12: 'd', 13: 'v', 16: 'v', 17: 'v',
}

// maxOutputFilter bounds the output_filter entries (there are 2 outputs).
const maxOutputFilter = 16

// wireModelSpec returns the model_spec of a raw PredictRequest, merging
// repeated occurrences as proto.Unmarshal does.
func wireModelSpec(raw []byte) (*servingpb.ModelSpec, error) {
	spec := &servingpb.ModelSpec{}
	err := walkFields(raw, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num == fieldModelSpec && typ == protowire.BytesType {
			if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(v, spec); err != nil {
				return invalidf("model_spec: %v", err)
			}
		}
		return nil
	})
	return spec, err
}

// checkPredictWire checks a raw PredictRequest against the limits: at most
// one entry per known input of sig, each with at most maxElements values
// and rank ≤ maxRank, and a short output_filter.
func checkPredictWire(raw []byte, sig serving.Signature, cfg *Config) error {
	entries, filters := 0, 0
	return walkFields(raw, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == fieldInputs && typ == protowire.BytesType:
			entries++
			if n := maxInputEntries(sig); entries > n {
				return invalidf("inputs: more than %d entries (inputs: %s)", n, inputNames(sig))
			}
			return checkInputEntry(v, sig, cfg)
		case num == fieldOutputFilter:
			filters++
			if filters > maxOutputFilter {
				return invalidf("output_filter: more than %d entries", maxOutputFilter)
			}
		}
		return nil
	})
}

func checkInputEntry(entry []byte, sig serving.Signature, cfg *Config) error {
	var name string
	var value []byte
	err := walkFields(entry, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == fieldMapKey && typ == protowire.BytesType:
			name = string(v)
		case num == fieldMapValue && typ == protowire.BytesType:
			value = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := checkInputName(name, sig); err != nil {
		return err
	}
	return checkTensorWire(name, value, maxElements(name, sig, cfg))
}

// checkTensorWire counts a TensorProto's values and dims without decoding.
func checkTensorWire(name string, tp []byte, limit int64) error {
	var values int64
	return walkFields(tp, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num == fieldTensorShape && typ == protowire.BytesType {
			rank := 0
			return walkFields(v, func(num protowire.Number, _ protowire.Type, _ []byte) error {
				if num == fieldShapeDim {
					if rank++; rank > maxRank {
						return invalidf("input %q: rank more than %d", name, maxRank)
					}
				}
				return nil
			})
		}
		enc, ok := tensorValueFields[num]
		if !ok {
			return nil
		}
		n := int64(1)
		if typ == protowire.BytesType && enc != 'b' { // packed
			switch enc {
			case 'f':
				n = int64(len(v) / 4)
			case 'd':
				n = int64(len(v) / 8)
			default:
				n = 0
				for _, c := range v {
					if c < 0x80 {
						n++
					}
				}
			}
		}
		if values += n; values > limit {
			return invalidf("input %q: more than %d values", name, limit)
		}
		return nil
	})
}

// walkFields calls f for every field of a message, with the field's
// contents for length-delimited fields.
func walkFields(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return invalidf("malformed request message: %v", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		if typ == protowire.BytesType {
			v, n = protowire.ConsumeBytes(b)
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return invalidf("malformed request message: field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := f(num, typ, v); err != nil {
			return err
		}
	}
	return nil
}

// rawMessage receives a message's bytes undecoded (see rawCodec).
type rawMessage struct{ b []byte }

func (r *rawMessage) String() string { return fmt.Sprintf("raw message of %d bytes", len(r.b)) }
