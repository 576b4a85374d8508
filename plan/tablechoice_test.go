package plan

import (
	"testing"

	"nann/item"
	"nann/onnx"
)

// fixtureUser is the user inputs of fixture user u (leading dimension 1).
func fixtureUser(f *fixture, u int) map[string]*onnx.Tensor {
	in := map[string]*onnx.Tensor{}
	for k, v := range f.users {
		in[k] = userRow(v, u)
	}
	return in
}

// MeasureTables times both precisions, records them, and the plan it
// keeps scores exactly as the plan compiled with that precision directly.
func TestMeasureTables(t *testing.T) {
	f := loadFixture(t, "din17")
	items := bigCorpus(f, 3000)
	pm, err := Compile(f.g, f.c, items, Options{MeasureTables: true, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	st := pm.Stats()
	ch := st.Tables
	t.Logf("din17: %s", ch)
	if !ch.Measured || ch.NsPerItem[0] <= 0 || ch.NsPerItem[1] <= 0 || ch.Rows == 0 {
		t.Fatalf("no measurement recorded: %+v", ch)
	}
	if st.Float16Tables != ch.Float16Chosen {
		t.Errorf("Stats.Float16Tables %v, choice %v", st.Float16Tables, ch.Float16Chosen)
	}
	f = loadFixture(t, "din17")
	pd, err := Compile(f.g, f.c, items, Options{Float16Tables: ch.Float16Chosen, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := st.TableBytes, pd.Stats().TableBytes; a != b {
		t.Errorf("measured plan holds %d table bytes, the direct one %d", a, b)
	}
	rows := item.AllRows(3000)
	a, b := make([]float32, len(rows)), make([]float32, len(rows))
	for _, c := range []struct {
		p   *Plan
		out []float32
	}{{pm, a}, {pd, b}} {
		s := c.p.NewScorer()
		if err := s.Bind(fixtureUser(f, 1)); err != nil {
			t.Fatal(err)
		}
		if err := s.Score(rows, c.out); err != nil {
			t.Fatal(err)
		}
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("row %d: measured plan %v, direct %v", i, a[i], b[i])
		}
	}
	f = loadFixture(t, "din17")
	p16, err := Compile(f.g, f.c, items, Options{Float16Tables: true, MeasureTables: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := p16.Stats(); s.Tables.Measured || !s.Float16Tables {
		t.Errorf("Float16Tables with MeasureTables: %+v", s.Tables)
	}
}
