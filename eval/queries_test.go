package eval

import (
	"nann/item"
	"slices"
	"testing"
)

func TestQueriesPairsInputsWithTruth(t *testing.T) {
	q := Queries([]string{"a", "b", "c"}, []item.Row{7, 0, 3})
	got := make([]string, len(q))
	truth := make([]item.Row, len(q))
	for i, x := range q {
		got[i], truth[i] = x.Input, x.Truth
	}
	if !slices.Equal(got, []string{"a", "b", "c"}) || !slices.Equal(truth, []item.Row{7, 0, 3}) {
		t.Errorf("Queries gave inputs %v truth %v", got, truth)
	}
	defer func() {
		if recover() == nil {
			t.Error("3 inputs with 2 truth rows did not panic")
		}
	}()
	Queries([]string{"a", "b", "c"}, []item.Row{1, 2})
}
