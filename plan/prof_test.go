package plan

import (
	"testing"

	"nann/onnx"
)

func BenchmarkDIN(b *testing.B) {
	f := loadFixture(b, "din17")
	p, err := Compile(f.g, f.c, f.items, Options{})
	if err != nil {
		b.Fatal(err)
	}
	n := f.items.Shape[0]
	in := map[string]*onnx.Tensor{}
	for k, v := range f.users {
		in[k] = userRow(v, 0)
	}
	rows := make([]int32, n)
	for i := range rows {
		rows[i] = int32(i)
	}
	out := make([]float32, n)
	sc := p.NewScorer()
	sc.Bind(in)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sc.Score(rows, out)
	}
}

func TestDescribeDIN(t *testing.T) {
	f := loadFixture(t, "din17")
	p, err := Compile(f.g, f.c, f.items, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + p.Describe())
}
