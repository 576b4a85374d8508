package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"

	"nann/serving"
	"nann/tfserving"
)

// maxRank is the deepest nesting a tensor may have, in JSON and in protos.
const maxRank = 4

// restBody is a decoded REST predict request.
type restBody struct {
	signatureName string
	rows          bool // "instances" (row format) rather than "inputs"
	in            map[string]*tensor
}

// jsonStream decodes a REST predict body token by token, checking every
// limit (rows, elements per input, list lengths, nesting) as it goes, so a
// hostile body is refused after reading little more than the allowed
// amount, and nothing is held but the decoded values.
type jsonStream struct {
	dec *json.Decoder
	sig serving.Signature
	cfg *Config
}

func decodeRESTBody(r io.Reader, sig serving.Signature, cfg *Config) (*restBody, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	js := &jsonStream{dec: dec, sig: sig, cfg: cfg}
	body, err := js.body()
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errorf(kindTooLarge, "request body exceeds %d bytes", cfg.MaxMessageBytes)
		}
		var re *reqError
		if errors.As(err, &re) {
			return nil, err
		}
		return nil, invalidf("request body: %v", err)
	}
	return body, nil
}

func (js *jsonStream) token() (json.Token, error) {
	tok, err := js.dec.Token()
	if err == io.EOF {
		return nil, io.ErrUnexpectedEOF
	}
	return tok, err
}

func (js *jsonStream) delim(want json.Delim) error {
	tok, err := js.token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("got %s, want %q", describe(tok), string(want))
	}
	return nil
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return strconv.Quote(string(v))
	case string:
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return "string " + strconv.Quote(v)
	case json.Number:
		return "number " + string(v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

func (js *jsonStream) body() (*restBody, error) {
	if err := js.delim('{'); err != nil {
		return nil, fmt.Errorf("want a JSON object: %w", err)
	}
	b := &restBody{}
	seen := map[string]bool{}
	for js.dec.More() {
		tok, err := js.token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, invalidf("request body: field %q given twice", key)
		}
		seen[key] = true
		switch key {
		case "signature_name":
			tok, err := js.token()
			if err != nil {
				return nil, err
			}
			s, ok := tok.(string)
			if !ok {
				return nil, invalidf(`request body: "signature_name" is %s, want a string`, describe(tok))
			}
			b.signatureName = s
		case "instances", "inputs":
			if b.in != nil {
				return nil, invalidf(`request body: send exactly one of "instances" (row format) or "inputs" (columnar format)`)
			}
			b.rows = key == "instances"
			if b.rows {
				b.in, err = js.instances()
			} else {
				b.in, err = js.inputs()
			}
			if err != nil {
				return nil, err
			}
		default:
			return nil, invalidf("request body: unknown field %q (fields: signature_name, instances, inputs)", key)
		}
	}
	if err := js.delim('}'); err != nil {
		return nil, err
	}
	if _, err := js.dec.Token(); err != io.EOF {
		return nil, invalidf("request body: data after the JSON object")
	}
	if b.in == nil {
		return nil, invalidf(`request body: send exactly one of "instances" (row format) or "inputs" (columnar format)`)
	}
	return b, nil
}

// inputs reads columnar format: an object keyed by input name, or a bare
// comm_seq tensor.
func (js *jsonStream) inputs() (map[string]*tensor, error) {
	tok, err := js.token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		bare, err := bareInput(js.sig)
		if err != nil {
			return nil, err
		}
		tb := js.builder(bare)
		if err := tb.value(js, tok, 0); err != nil {
			return nil, invalidf(`"inputs": input %q: %v`, bare, err)
		}
		return map[string]*tensor{bare: tb.tensor()}, nil
	}
	in := map[string]*tensor{}
	for js.dec.More() {
		name, err := js.inputName(in)
		if err != nil {
			return nil, err
		}
		tb := js.builder(name)
		tok, err := js.token()
		if err == nil {
			err = tb.value(js, tok, 0)
		}
		if err != nil {
			return nil, invalidf("input %q: %v", name, err)
		}
		in[name] = tb.tensor()
	}
	return in, js.delim('}')
}

func (js *jsonStream) inputName(have map[string]*tensor) (string, error) {
	tok, err := js.token()
	if err != nil {
		return "", err
	}
	name, _ := tok.(string)
	if err := checkInputName(name, js.sig); err != nil {
		return "", err
	}
	if have[name] != nil {
		return "", invalidf("input %q given twice", name)
	}
	return name, nil
}

// instances reads row format: a list of objects keyed by input name (each
// value without the batch dimension), or a list of bare comm_seq rows.
// level_topn, which has no batch dimension, must be equal in every
// instance.
func (js *jsonStream) instances() (map[string]*tensor, error) {
	if err := js.delim('['); err != nil {
		return nil, invalidf(`"instances" must be a list: %v`, err)
	}
	cols := map[string]*tensorBuilder{}
	var first []string // input names of instances[0]
	var topn *tensor
	rows := 0
	for ; js.dec.More(); rows++ {
		if rows == js.cfg.MaxBatch {
			return nil, invalidf(`"instances" has more than %d rows`, js.cfg.MaxBatch)
		}
		tok, err := js.token()
		if err != nil {
			return nil, err
		}
		if tok != json.Delim('{') { // a bare row of comm_seq (or of the only named input)
			bare, err := bareInput(js.sig)
			if err != nil {
				return nil, err
			}
			if rows > 0 && !slices.Equal(first, []string{bare}) {
				return nil, invalidf("instances[%d] has inputs different from instances[0]", rows)
			}
			first = []string{bare}
			tb := cols[bare]
			if tb == nil {
				tb = js.builder(bare)
				cols[bare] = tb
			}
			if err := tb.value(js, tok, 1); err != nil {
				return nil, invalidf("instances[%d]: input %q: %v", rows, bare, err)
			}
			continue
		}
		var names []string
		for js.dec.More() {
			name, err := js.inputName(nil)
			if err != nil {
				return nil, invalidf("instances[%d]: %v", rows, err)
			}
			if slices.Contains(names, name) {
				return nil, invalidf("instances[%d]: input %q given twice", rows, name)
			}
			if rows > 0 && !slices.Contains(first, name) {
				return nil, invalidf("instances[%d] has input %q that instances[0] lacks", rows, name)
			}
			names = append(names, name)
			tok, err := js.token()
			if err != nil {
				return nil, err
			}
			if name == tfserving.LevelTopN {
				tb := js.builder(name)
				if err := tb.value(js, tok, 0); err != nil {
					return nil, invalidf("instances[%d]: input %q: %v", rows, name, err)
				}
				t := tb.tensor()
				if topn == nil {
					topn = t
				} else if !slices.Equal(t.shape, topn.shape) || !slices.Equal(t.ints, topn.ints) {
					return nil, invalidf("instances[%d]: input %q differs from instances[0]; it is one value per request", rows, name)
				}
				continue
			}
			tb := cols[name]
			if tb == nil {
				tb = js.builder(name)
				cols[name] = tb
			}
			if err := tb.value(js, tok, 1); err != nil {
				return nil, invalidf("instances[%d]: input %q: %v", rows, name, err)
			}
		}
		if err := js.delim('}'); err != nil {
			return nil, err
		}
		if rows == 0 {
			first = names
		} else if len(names) != len(first) {
			return nil, invalidf("instances[%d] has inputs different from instances[0]", rows)
		}
	}
	if err := js.delim(']'); err != nil {
		return nil, err
	}
	if rows == 0 {
		return nil, invalidf(`"instances" has 0 rows, want 1 to %d`, js.cfg.MaxBatch)
	}
	in := map[string]*tensor{}
	for name, tb := range cols {
		tb.setOuter(int64(rows))
		in[name] = tb.tensor()
	}
	if topn != nil {
		in[tfserving.LevelTopN] = topn
	}
	return in, nil
}

// tensorBuilder collects one input's values from nested JSON lists,
// recording the shape from the first list closed at each depth and
// checking every later list against it while it is read.
type tensorBuilder struct {
	floats bool  // comm_seq: float32 values; otherwise int64
	limit  int64 // most elements
	dims   []int64
	rank   int // depth of the numbers, -1 until known
	t      tensor
	n      int64
}

func (js *jsonStream) builder(name string) *tensorBuilder {
	return &tensorBuilder{floats: floatInput(name, js.sig), limit: maxElements(name, js.sig, js.cfg), rank: -1}
}

// value reads the value that starts with tok at the given depth (1 for
// the rows of the instances format, whose depth 0 is the row list).
func (tb *tensorBuilder) value(js *jsonStream, tok json.Token, depth int) error {
	switch v := tok.(type) {
	case json.Number:
		return tb.number(v, depth)
	case bool:
		return tb.boolean(v, depth)
	case json.Delim:
		if v == '[' {
			return tb.list(js, depth)
		}
	}
	return fmt.Errorf("value %s is not a number or a list", describe(tok))
}

// leaf checks a scalar (what: "a number", "a value") about to be added at
// depth: the first fixes the rank, every later one must be at that depth,
// and no more than limit may be added.
func (tb *tensorBuilder) leaf(what string, depth int) error {
	if tb.rank == -1 {
		tb.rank = depth
	} else if depth != tb.rank {
		return fmt.Errorf("ragged nesting: %s at depth %d, want depth %d", what, depth, tb.rank)
	}
	if tb.n >= tb.limit {
		return fmt.Errorf("more than %d elements", tb.limit)
	}
	return nil
}

func (tb *tensorBuilder) number(v json.Number, depth int) error {
	if err := tb.leaf("a number", depth); err != nil {
		return err
	}
	if tb.floats {
		f, err := strconv.ParseFloat(string(v), 32)
		if err != nil {
			return fmt.Errorf("value %s at flat index %d is not a finite float32", v, tb.n)
		}
		tb.t.floats = append(tb.t.floats, float32(f))
	} else {
		x, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("value %s at flat index %d is not an integer", v, tb.n)
		}
		tb.t.ints = append(tb.t.ints, x)
	}
	tb.n++
	return nil
}

// list reads a list whose '[' has been consumed.
func (tb *tensorBuilder) list(js *jsonStream, depth int) error {
	if depth >= maxRank {
		return fmt.Errorf("nesting deeper than %d", maxRank)
	}
	if tb.rank != -1 && depth >= tb.rank {
		return fmt.Errorf("ragged nesting: a list at depth %d, want numbers", depth)
	}
	for len(tb.dims) <= depth {
		tb.dims = append(tb.dims, -1) // -1: the first list at this depth is open
	}
	want := tb.dims[depth]
	var n int64
	for js.dec.More() {
		n++
		if want >= 0 && n > want {
			return fmt.Errorf("ragged list: a list of more than %d at depth %d does not match the first row", want, depth)
		}
		if n > tb.limit {
			return fmt.Errorf("a list of more than %d values", tb.limit)
		}
		tok, err := js.token()
		if err != nil {
			return err
		}
		if err := tb.value(js, tok, depth+1); err != nil {
			return err
		}
	}
	if err := js.delim(']'); err != nil {
		return err
	}
	switch {
	case want == -1:
		tb.dims[depth] = n
		if n == 0 && tb.rank == -1 {
			tb.rank = depth + 1
		}
	case n != want:
		return fmt.Errorf("ragged list: a list of %d at depth %d does not match the first row (%d)", n, depth, want)
	}
	return nil
}

// setOuter sets the row count of an instances column.
func (tb *tensorBuilder) setOuter(rows int64) {
	if len(tb.dims) == 0 {
		tb.dims = []int64{rows}
	}
	tb.dims[0] = rows
}

func (tb *tensorBuilder) tensor() *tensor {
	t := tb.t
	t.shape = slices.Clone(tb.dims)
	if tb.rank >= 0 && len(t.shape) > tb.rank {
		t.shape = t.shape[:tb.rank]
	}
	if t.floats == nil && tb.floats {
		t.floats = []float32{}
	}
	if t.ints == nil && !tb.floats {
		t.ints = []int64{}
	}
	return &t
}
