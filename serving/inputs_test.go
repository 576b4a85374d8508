package serving

import (
	"strings"
	"testing"
)

// TestSignatureInputsValidate: a signature with named inputs needs no
// comm_seq sizes, and every problem with its inputs is reported at once.
func TestSignatureInputsValidate(t *testing.T) {
	topn := [6]int32{1, 2, 3, 4, 5, 6}
	ok := Signature{K: 5, DefaultLevelTopN: topn, Inputs: []Input{
		{Name: "hist", DType: Float32, Shape: []int64{-1, 50, 16}},
		{Name: "ids", DType: Int64, Shape: []int64{-1, -1}},
	}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid signature: %v", err)
	}
	if got := ok.Inputs[0].RowLen(); got != 800 {
		t.Errorf("RowLen %d, want 800", got)
	}
	if got := ok.Inputs[1].RowLen(); got != -1 {
		t.Errorf("RowLen of a free row %d, want -1", got)
	}
	bad := Signature{K: 5, DefaultLevelTopN: topn, Inputs: []Input{
		{Name: "", DType: Float32, Shape: []int64{-1, 3}},
		{Name: "a", DType: InvalidDType, Shape: []int64{-1}},
		{Name: "b", DType: Float32, Shape: []int64{4, 3}},
		{Name: "c", DType: Int32, Shape: []int64{-1, 0}},
		{Name: "d", DType: Float16, Shape: []int64{-1, 1, 1, 1, 1}},
		{Name: "b", DType: Float32, Shape: []int64{-1}},
		{Name: "level_topn", DType: Int32, Shape: []int64{-1, 6}},
		{Name: "e", DType: Float32, Shape: []int64{-1, 1 << 13, 1 << 13}},
	}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad inputs accepted")
	}
	for _, want := range []string{"input 0 has no name", `"a": unsupported dtype`, `"b": shape [4 3]: the leading dimension`,
		`"c": shape [-1 0]: dimension 1 is 0`, `"d": shape [-1 1 1 1 1]: rank 5`, `"b" is listed twice`, `"level_topn"`, `"e": shape`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "CommSeqLen") {
		t.Errorf("a signature with named inputs asked for CommSeqLen: %v", err)
	}
}

func TestParseDType(t *testing.T) {
	for _, d := range []DType{Float32, Float16, Int32, Int64} {
		got, err := ParseDType(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDType(%q) = %v, %v", d.String(), got, err)
		}
	}
	if _, err := ParseDType("bool"); err == nil || !strings.Contains(err.Error(), `"bool"`) {
		t.Errorf("ParseDType(bool): %v", err)
	}
	if _, err := ParseDType("invalid"); err == nil {
		t.Error("ParseDType(invalid) accepted")
	}
}
