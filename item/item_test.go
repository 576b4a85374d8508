package item

import (
	"math"
	"testing"
)

func TestConversions(t *testing.T) {
	for _, c := range []struct {
		id  ID
		row Row
	}{{1, 0}, {2, 1}, {1000, 999}, {math.MaxInt32, math.MaxInt32 - 1}} {
		if got := c.id.Row(); got != c.row {
			t.Errorf("ID(%d).Row() = %d, want %d", c.id, got, c.row)
		}
		if got := c.row.ID(); got != c.id {
			t.Errorf("Row(%d).ID() = %d, want %d", c.row, got, c.id)
		}
	}
	if got := Padding.Row(); got != -1 {
		t.Errorf("Padding.Row() = %d, want -1", got)
	}
}

func TestValid(t *testing.T) {
	const n = 3
	for id, want := range map[ID]bool{-1: false, Padding: false, 1: true, 3: true, 4: false} {
		if got := id.Valid(n); got != want {
			t.Errorf("ID(%d).Valid(%d) = %v, want %v", id, n, got, want)
		}
	}
	for r, want := range map[Row]bool{-1: false, 0: true, 2: true, 3: false} {
		if got := r.Valid(n); got != want {
			t.Errorf("Row(%d).Valid(%d) = %v, want %v", r, n, got, want)
		}
	}
	if ID(math.MaxInt32).Valid(math.MaxInt32 - 1) {
		t.Error("MaxInt32 valid among MaxInt32-1 items")
	}
}

// TestTables checks that a ByID table and its Rows view name the same
// entry for the same item, and that the view aliases the table.
func TestTables(t *testing.T) {
	byID := ByID[int64]{0, 101, 102, 103} // padding, then items 1..3
	rows := byID.Rows()
	if byID.Len() != 3 || rows.Len() != 3 {
		t.Fatalf("Len: by id %d, by row %d, want 3", byID.Len(), rows.Len())
	}
	for id := ID(1); id.Valid(byID.Len()); id++ {
		if a, b := byID.At(id), rows.At(id.Row()); a != b || a != 100+int64(id) {
			t.Errorf("item %d: by id %d, by row %d, want %d", id, a, b, 100+int64(id))
		}
	}
	rows[0] = 7
	if byID.At(1) != 7 {
		t.Error("Rows copied the table instead of aliasing it")
	}
	if ByID[int32](nil).Rows() != nil || ByID[int32](nil).Len() != 0 {
		t.Error("empty table: want nil rows and length 0")
	}
}

func TestReinterpret(t *testing.T) {
	v := []int32{0, 5, -3}
	ids := IDs(v)
	if len(ids) != 3 || ids[1] != 5 || ids[2] != -3 {
		t.Fatalf("IDs(%v) = %v", v, ids)
	}
	ids[0] = 9
	if v[0] != 9 {
		t.Error("IDs copied instead of aliasing")
	}
	if back := Int32s(ids); &back[0] != &v[0] {
		t.Error("Int32s does not alias")
	}
	rs := Rows(v)
	rs[2] = 4
	if v[2] != 4 || &RowInt32s(rs)[0] != &v[0] {
		t.Error("Rows/RowInt32s do not alias")
	}
	if IDs(nil) != nil || Int32s(nil) != nil || Rows(nil) != nil || RowInt32s(nil) != nil {
		t.Error("nil in, want nil out")
	}
}

func TestAllRows(t *testing.T) {
	if r := AllRows(0); len(r) != 0 {
		t.Errorf("AllRows(0) = %v", r)
	}
	r := AllRows(5)
	for i, x := range r {
		if x != Row(i) || x.ID() != ID(i+1) {
			t.Errorf("AllRows(5)[%d] = %d", i, x)
		}
	}
	if len(r) != 5 {
		t.Errorf("AllRows(5) has %d rows", len(r))
	}
	ids := AllIDs(5)
	for i, id := range ids {
		if id != ID(i+1) || id.Row() != Row(i) {
			t.Errorf("AllIDs(5)[%d] = %d", i, id)
		}
	}
	if len(ids) != 5 {
		t.Errorf("AllIDs(5) has %d ids", len(ids))
	}
}
