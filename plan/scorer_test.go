package plan

import (
	"math/rand/v2"
	"testing"

	"nann/onnx"
)

// bigCorpus is the fixture's network over n random items (ids for "ids").
func bigCorpus(f *fixture, n int) *onnx.Tensor {
	rng := rand.New(rand.NewPCG(3, 4))
	t := &onnx.Tensor{DType: f.items.DType, Shape: append([]int{n}, f.items.Shape[1:]...)}
	w := f.items.Len() / f.items.Shape[0]
	t.Data = make([]float64, n*w)
	for i := range t.Data {
		if f.items.DType.IsFloat() {
			t.Data[i] = rng.NormFloat64()
		} else {
			t.Data[i] = f.items.Data[rng.IntN(f.items.Len())]
		}
	}
	return t
}

// A batch split across threads gives the serial scores, the plan matches
// the interpreter on a large corpus, and Score does not allocate.
func TestThreadsAndAllocs(t *testing.T) {
	for _, name := range []string{"reference", "din17", "ids"} {
		f := loadFixture(t, name)
		items := bigCorpus(f, 1500)
		one, err := Compile(f.g, f.c, items, Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		f = loadFixture(t, name)
		four, err := Compile(f.g, f.c, items, Options{Threads: 4})
		if err != nil {
			t.Fatal(err)
		}
		rows := make([]int32, 1500)
		for i := range rows {
			rows[i] = int32((i * 7) % 1500)
		}
		in := map[string]*onnx.Tensor{}
		for k, v := range f.users {
			in[k] = userRow(v, 2)
		}
		a, b := make([]float32, len(rows)), make([]float32, len(rows))
		s1, s4 := one.NewScorer(), four.NewScorer()
		for _, s := range []*Scorer{s1, s4} {
			if err := s.Bind(in); err != nil {
				t.Fatal(err)
			}
		}
		if err := s1.Score(rows, a); err != nil {
			t.Fatal(err)
		}
		if err := s4.Score(rows, b); err != nil {
			t.Fatal(err)
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s: row %d: 1 thread %v, 4 threads %v", name, rows[i], a[i], b[i])
			}
		}
		// Against the interpreter on the first 300 rows.
		full := map[string]*onnx.Tensor{f.c.ItemInput: gatherRows(items, rows[:300])}
		for k, v := range in {
			full[k] = repeatTensor(v, 300)
		}
		ref, err := f.g.Run(full)
		if err != nil {
			t.Fatal(err)
		}
		if e := relErr(a[:300], ref[f.g.Outputs[0].Name].Data); e > 1e-4 {
			t.Errorf("%s: plan vs interpreter on a large corpus: %.3g", name, e)
		}
		for _, s := range []*Scorer{s1, s4} {
			if allocs := testing.AllocsPerRun(5, func() { _ = s.Score(rows, a) }); allocs != 0 {
				t.Errorf("%s: Score allocates %.0f times per call", name, allocs)
			}
		}
	}
}

func gatherRows(t *onnx.Tensor, rows []int32) *onnx.Tensor {
	w := t.Len() / t.Shape[0]
	out := &onnx.Tensor{DType: t.DType, Shape: append([]int{len(rows)}, t.Shape[1:]...)}
	for _, r := range rows {
		out.Data = append(out.Data, t.Data[int(r)*w:int(r+1)*w]...)
	}
	return out
}

func repeatTensor(t *onnx.Tensor, n int) *onnx.Tensor {
	out := &onnx.Tensor{DType: t.DType, Shape: append([]int{n * t.Shape[0]}, t.Shape[1:]...)}
	for i := 0; i < n; i++ {
		out.Data = append(out.Data, t.Data...)
	}
	return out
}
