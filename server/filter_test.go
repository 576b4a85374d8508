package server

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"nann/serving"
	"nann/tfserving"
	"nann/tfserving/servingpb"
	"nann/tfserving/tfpb"
)

var filterSig = serving.Signature{CommSeqLen: 4, SeqLen: 3, K: 2, DefaultLevelTopN: [6]int32{1, 1, 1, 1, 1, 1}, Filters: serving.AllFilters}

func boolTensor(shape []int64, vals ...bool) *tfpb.TensorProto {
	return &tfpb.TensorProto{Dtype: tfpb.DataType_DT_BOOL, TensorShape: dims(shape...), BoolVal: vals}
}

func int32Rows(rows [][]int32) *tfpb.TensorProto {
	var v []int32
	for _, r := range rows {
		v = append(v, r...)
	}
	return &tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT32, TensorShape: dims(int64(len(rows)), int64(len(rows[0]))), IntVal: v}
}

// decodeProtoInputs runs a PredictRequest's inputs through the gRPC
// decoders, wire check included.
func decodeProtoInputs(inputs map[string]*tfpb.TensorProto, sig serving.Signature, cfg *Config) (*serving.Request, error) {
	raw, err := proto.Marshal(&servingpb.PredictRequest{Inputs: inputs})
	if err != nil {
		return nil, err
	}
	if err := checkPredictWire(raw, sig, cfg); err != nil {
		return nil, err
	}
	in := map[string]*tensor{}
	for name, tp := range inputs {
		if err := checkInputName(name, sig); err != nil {
			return nil, err
		}
		t, err := decodeTensorProto(name, tp, sig, cfg)
		if err != nil {
			return nil, err
		}
		in[name] = t
	}
	return buildRequest(in, sig, cfg)
}

func decodeRESTInputs(body string, sig serving.Signature, cfg *Config) (*serving.Request, error) {
	b, err := decodeRESTBody(strings.NewReader(body), sig, cfg)
	if err != nil {
		return nil, err
	}
	return buildRequest(b.in, sig, cfg)
}

// TestFilterInputsDecode: the four filter inputs arrive in Request.Filter
// the same way from protos (int64 and int32, DT_BOOL) and from REST
// (columnar and row format), one entry per row.
func TestFilterInputsDecode(t *testing.T) {
	cfg := DefaultConfig()
	want := &serving.Filter{
		ExcludeItemIDs: [][]int64{{5, 6, 0}, {7, 0, 0}},
		ExcludeHistory: []bool{true, false},
		IncludeCateIDs: [][]int64{{1}, {0}},
		ExcludeCateIDs: [][]int64{{2, 3}, {4, 0}},
	}
	ids := int64Tensor([][]int64{{1, 2}, {3, 0}})
	fromProto, err := decodeProtoInputs(map[string]*tfpb.TensorProto{
		tfserving.ItemIDs:        ids,
		tfserving.ExcludeItemIDs: int64Tensor(want.ExcludeItemIDs),
		tfserving.ExcludeHistory: boolTensor([]int64{2}, true, false),
		tfserving.IncludeCateIDs: int32Rows([][]int32{{1}, {0}}),
		tfserving.ExcludeCateIDs: int64Tensor(want.ExcludeCateIDs),
	}, filterSig, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	columnar, err := decodeRESTInputs(`{"inputs": {"item_ids": [[1, 2], [3, 0]], "exclude_item_ids": [[5, 6, 0], [7, 0, 0]],
		"exclude_history": [true, false], "include_cate_ids": [[1], [0]], "exclude_cate_ids": [[2, 3], [4, 0]]}}`, filterSig, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := decodeRESTInputs(`{"instances": [
		{"item_ids": [1, 2], "exclude_item_ids": [5, 6, 0], "exclude_history": true, "include_cate_ids": [1], "exclude_cate_ids": [2, 3]},
		{"item_ids": [3, 0], "exclude_item_ids": [7, 0, 0], "exclude_history": false, "include_cate_ids": [0], "exclude_cate_ids": [4, 0]}]}`, filterSig, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*serving.Request{"proto": fromProto, "REST inputs": columnar, "REST instances": rows} {
		f := r.Filter
		if f == nil || !equalRows(f.ExcludeItemIDs, want.ExcludeItemIDs) || !slices.Equal(f.ExcludeHistory, want.ExcludeHistory) ||
			!equalRows(f.IncludeCateIDs, want.IncludeCateIDs) || !equalRows(f.ExcludeCateIDs, want.ExcludeCateIDs) {
			t.Fatalf("%s: filter %+v, want %+v", name, f, want)
		}
	}
	// One exclude_history value applies to every row; no filter input: no Filter.
	r, err := decodeRESTInputs(`{"inputs": {"item_ids": [[1], [2]], "exclude_history": [true]}}`, filterSig, &cfg)
	if err != nil || !slices.Equal(r.Filter.ExcludeHistory, []bool{true, true}) {
		t.Fatalf("broadcast exclude_history: %+v %v", r, err)
	}
	r, err = decodeRESTInputs(`{"inputs": {"item_ids": [[1]]}}`, filterSig, &cfg)
	if err != nil || r.Filter != nil {
		t.Fatalf("no filter input: %+v %v", r, err)
	}
}

func equalRows(a, b [][]int64) bool {
	return slices.EqualFunc(a, b, func(x, y []int64) bool { return slices.Equal(x, y) })
}

// TestFilterInputsRefused: bad filter inputs are INVALID_ARGUMENT errors
// naming the input, and limits are checked before decoding.
func TestFilterInputsRefused(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxBatch = 4
	ids := int64Tensor([][]int64{{1, 2}})
	for _, tc := range []struct {
		name   string
		inputs map[string]*tfpb.TensorProto
		sig    serving.Signature
		want   string
	}{
		{"no filters in the signature", map[string]*tfpb.TensorProto{tfserving.ItemIDs: ids, tfserving.ExcludeItemIDs: int64Tensor([][]int64{{1}})},
			fakeSig, `input "exclude_item_ids": this model version does not apply filters`},
		{"wrong batch", map[string]*tfpb.TensorProto{tfserving.ItemIDs: ids, tfserving.ExcludeCateIDs: int64Tensor([][]int64{{1}, {2}})},
			filterSig, `input "exclude_cate_ids": shape [2 1], want [1, L]`},
		{"rank 1", map[string]*tfpb.TensorProto{tfserving.ItemIDs: ids, tfserving.IncludeCateIDs: {Dtype: tfpb.DataType_DT_INT64, TensorShape: dims(2), Int64Val: []int64{1, 2}}},
			filterSig, `input "include_cate_ids": shape [2], want [1, L]`},
		{"negative id", map[string]*tfpb.TensorProto{tfserving.ItemIDs: ids, tfserving.ExcludeItemIDs: int64Tensor([][]int64{{1, -3}})},
			filterSig, `input "exclude_item_ids": negative id -3 at [0, 1]`},
		{"float ids", map[string]*tfpb.TensorProto{tfserving.ItemIDs: ids, tfserving.ExcludeItemIDs: {Dtype: tfpb.DataType_DT_FLOAT, TensorShape: dims(1, 1), FloatVal: []float32{1}}},
			filterSig, `input "exclude_item_ids": dtype DT_FLOAT`},
		{"int history flag", map[string]*tfpb.TensorProto{tfserving.ItemIDs: ids, tfserving.ExcludeHistory: int32Tensor(1)},
			filterSig, `input "exclude_history": dtype DT_INT32`},
		{"history with comm_seq", map[string]*tfpb.TensorProto{tfserving.CommSeq: {Dtype: tfpb.DataType_DT_FLOAT, TensorShape: dims(1, 4), FloatVal: []float32{1, 2, 3, 4}},
			tfserving.ExcludeHistory: boolTensor([]int64{1}, true)},
			filterSig, `input "exclude_history" needs the history as "item_ids"`},
		{"history shape", map[string]*tfpb.TensorProto{tfserving.ItemIDs: ids, tfserving.ExcludeHistory: boolTensor([]int64{3}, true, true, true)},
			filterSig, `input "exclude_history": shape [3], want [1]`},
		{"bool content byte", map[string]*tfpb.TensorProto{tfserving.ItemIDs: ids, tfserving.ExcludeHistory: {Dtype: tfpb.DataType_DT_BOOL, TensorShape: dims(1), TensorContent: []byte{7}}},
			filterSig, `input "exclude_history": tensor_content byte 0 is 7`},
		{"too many ids", map[string]*tfpb.TensorProto{tfserving.ItemIDs: ids, tfserving.ExcludeItemIDs: {Dtype: tfpb.DataType_DT_INT64, TensorShape: dims(1, MaxFilterIDs+1), Int64Val: []int64{1}}},
			filterSig, `input "exclude_item_ids": 10001 ids per row, at most 10000`},
		{"past the element limit", map[string]*tfpb.TensorProto{tfserving.ItemIDs: ids, tfserving.ExcludeItemIDs: {Dtype: tfpb.DataType_DT_INT64, TensorShape: dims(1, 4*MaxFilterIDs+1), Int64Val: []int64{1}}},
			filterSig, `input "exclude_item_ids": shape [1 40001] exceeds the limit of 40000 elements`},
	} {
		_, err := decodeProtoInputs(tc.inputs, tc.sig, &cfg)
		if err == nil || kindOf(err) != kindInvalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want INVALID_ARGUMENT with %q", tc.name, err, tc.want)
		}
	}
	for _, tc := range []struct{ body, want string }{
		{`{"inputs": {"item_ids": [[1]], "exclude_history": [1]}}`, `input "exclude_history": want true or false`},
		{`{"inputs": {"item_ids": [[true]]}}`, `input "item_ids": true/false values, want numbers`},
		{`{"inputs": {"comm_seq": [[true, 1, 2, 3]]}}`, `input "comm_seq": value true is not a number`},
		{`{"instances": [{"item_ids": [1], "exclude_item_ids": [1, 2]}, {"item_ids": [1], "exclude_item_ids": [3]}]}`, `input "exclude_item_ids": ragged list`},
	} {
		_, err := decodeRESTInputs(tc.body, filterSig, &cfg)
		if err == nil || kindOf(err) != kindInvalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want INVALID_ARGUMENT with %q", tc.body, err, tc.want)
		}
	}
}

// TestFilterInputsInMetadata: a signature with Filters lists the four
// inputs, one without does not.
func TestFilterInputsInMetadata(t *testing.T) {
	with, without := signatureDef(filterSig), signatureDef(fakeSig)
	for _, name := range filterNames {
		if with.Inputs[name] == nil || without.Inputs[name] != nil {
			t.Fatalf("input %q: listed %v with filters, %v without", name, with.Inputs[name] != nil, without.Inputs[name] != nil)
		}
	}
	if with.Inputs[tfserving.ExcludeHistory].Dtype != tfpb.DataType_DT_BOOL || with.Inputs[tfserving.ExcludeItemIDs].Dtype != tfpb.DataType_DT_INT64 {
		t.Fatalf("dtypes: %v", with.Inputs)
	}
}

// FuzzFilterInputs: REST bodies and protos with filter inputs decode to a
// request whose filter has one entry per row, non-negative ids, at most
// MaxFilterIDs per row, or to an error; never a panic.
func FuzzFilterInputs(f *testing.F) {
	for _, s := range []string{
		`{"inputs": {"item_ids": [[1, 2]], "exclude_item_ids": [[3, 0]], "exclude_history": [true]}}`,
		`{"instances": [{"item_ids": [1], "include_cate_ids": [4, 5], "exclude_cate_ids": [6], "exclude_history": false}]}`,
		`{"inputs": {"item_ids": [[1]], "exclude_history": true}}`,
		`{"inputs": {"item_ids": [[1]], "exclude_history": [[true], [false]]}}`,
		`{"inputs": {"comm_seq": [[1, 2, 3, 4]], "exclude_item_ids": [[-1]]}}`,
		`{"inputs": {"item_ids": [[1]], "include_cate_ids": [[true]]}}`,
	} {
		f.Add([]byte(s), false)
	}
	for _, in := range []map[string]*tfpb.TensorProto{
		{tfserving.ItemIDs: int64Tensor([][]int64{{1}}), tfserving.ExcludeHistory: boolTensor([]int64{1}, true)},
		{tfserving.ItemIDs: int64Tensor([][]int64{{1}}), tfserving.ExcludeCateIDs: int32Rows([][]int32{{2, 3}})},
		{tfserving.ItemIDs: int64Tensor([][]int64{{1}}), tfserving.ExcludeHistory: {Dtype: tfpb.DataType_DT_BOOL, TensorShape: dims(1), TensorContent: []byte{1}}},
	} {
		b, _ := proto.Marshal(&servingpb.PredictRequest{Inputs: in})
		f.Add(b, true)
	}
	cfg := DefaultConfig()
	cfg.MaxBatch = 4
	f.Fuzz(func(t *testing.T, data []byte, isProto bool) {
		var r *serving.Request
		var err error
		if isProto {
			var req servingpb.PredictRequest
			if proto.Unmarshal(data, &req) != nil {
				return
			}
			r, err = decodeProtoInputs(req.GetInputs(), filterSig, &cfg)
		} else {
			var b *restBody
			if b, err = decodeRESTBody(bytes.NewReader(data), filterSig, &cfg); err == nil {
				r, err = buildRequest(b.in, filterSig, &cfg)
			}
		}
		if err != nil {
			if kindOf(err) != kindInvalid && kindOf(err) != kindTooLarge {
				t.Fatalf("error of kind %v: %v", kindOf(err), err)
			}
			return
		}
		checkRequest(t, r, filterSig, &cfg)
		if r.Filter == nil {
			return
		}
		for _, l := range [][][]int64{r.Filter.ExcludeItemIDs, r.Filter.IncludeCateIDs, r.Filter.ExcludeCateIDs} {
			if l != nil && len(l) != r.Batch {
				t.Fatalf("%d filter rows for a batch of %d", len(l), r.Batch)
			}
			for _, row := range l {
				if len(row) > MaxFilterIDs {
					t.Fatalf("filter row of %d ids", len(row))
				}
				for _, id := range row {
					if id < 0 {
						t.Fatalf("negative filter id %d accepted", id)
					}
				}
			}
		}
		if h := r.Filter.ExcludeHistory; h != nil && (len(h) != r.Batch || slices.Contains(h, true) && r.ItemIDs == nil) {
			t.Fatalf("exclude_history %v for batch %d (item_ids %v)", h, r.Batch, r.ItemIDs != nil)
		}
	})
}
