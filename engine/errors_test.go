package engine

import (
	"math"
	"strings"
	"testing"

	"nann/item"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig(10, 3).Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig(0, 3)
	c.ScoreHidden[1] = 60
	c.SeqLen = -1
	c.BNEps = float32(math.NaN())
	err := c.Validate()
	for _, want := range []string{"num_items", "mlp[1]", "seq_len", "eps"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %s", err, want)
		}
	}
	if err := (Options{Table: 7, Store: 9, Threads: -1}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "precision") || !strings.Contains(err.Error(), "layout") || !strings.Contains(err.Error(), "threads") {
		t.Errorf("Options.Validate() = %v, want precision, layout and threads problems", err)
	}
}

func TestCompileErrors(t *testing.T) {
	ts := newSetup(t, 50, 5, 1, 41)
	if _, err := Compile(ts.w, ts.cates[:49], Options{}); err == nil || !strings.Contains(err.Error(), "49 item categories") {
		t.Errorf("short category list: %v", err)
	}
	bad := append([]int32(nil), ts.cates...)
	bad[7] = 6
	if _, err := Compile(ts.w, bad, Options{}); err == nil || !strings.Contains(err.Error(), "row 7") {
		t.Errorf("category out of range: %v", err)
	}
	w := *ts.w
	w.Score[1].B = w.Score[1].B[:10]
	w.QueryAct = append([]float32(nil), w.QueryAct...)
	w.QueryAct[3] = float32(math.Inf(1))
	err := w.Validate()
	for _, want := range []string{"score_net/dense1/bias", "attention/query_prelu/alpha[3]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %s", err, want)
		}
	}
}

func TestBindErrors(t *testing.T) {
	ts := newSetup(t, 50, 5, 1, 42)
	e, err := Compile(ts.w, ts.cates, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := e.NewScorer()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Score before Bind did not panic")
			}
		}()
		s.Score([]item.Row{0}, make([]float32, 1))
	}()
	seq := append([]float32(nil), ts.users[0]...)
	if err := s.BindSeq(seq[:100]); err == nil || !strings.Contains(err.Error(), "3200") {
		t.Errorf("short comm_seq: %v", err)
	}
	seq[64*3+5] = float32(math.NaN())
	if err := s.BindSeq(seq); err == nil || !strings.Contains(err.Error(), "position 3") {
		t.Errorf("NaN comm_seq: %v", err)
	}
	for _, c := range []struct {
		items []item.ID
		cates []int32
		want  string
	}{
		{[]item.ID{1, 2}, []int32{1}, "2 item ids but 1"},
		{[]item.ID{51}, []int32{1}, "item id 51"},
		{[]item.ID{1}, []int32{-1}, "category id -1"},
		{make([]item.ID, 51), make([]int32, 51), "more than seq_len"},
	} {
		if err := s.BindIDs(c.items, c.cates); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("BindIDs(%v, %v) = %v, want %q", c.items, c.cates, err, c.want)
		}
	}
}
