package plan

import (
	"math"
	"math/rand/v2"
	"testing"

	"nann/internal/numtest"
	"nann/internal/vec"
	"nann/item"
	"nann/onnx"
)

// The DIN unit's product and LayerNorm pass compile to one denseNormKernel
// that gives torch's scores on every kernel selection (AVX-512: the fused
// vec.DenseNorm; AVX2 and plain Go: a column group at a time through the
// tile kernels and the LayerNorm pass), for a block of whole 16-candidate
// lane groups and one with a partial group.
func TestDenseNormKernel(t *testing.T) {
	all := vec.AvailableKernels()
	for _, name := range []string{"din13", "din17"} {
		for _, block := range []int{48, 18} {
			f := loadFixture(t, name)
			p, err := Compile(f.g, f.c, f.items, Options{Block: block, Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := p.prog.kernels[0].(*denseNormKernel); !ok {
				t.Fatalf("%s: pair kernel 0 is a %T, want the fused product and LayerNorm", name, p.prog.kernels[0])
			}
			n := f.items.Shape[0]
			rows, out := item.AllRows(n), make([]float32, n)
			for _, k := range []vec.Kernels{all, {AVX2: all.AVX2}, {}} {
				prev := vec.UseKernels(k)
				sc := p.NewScorer()
				worst := 0.0
				for u := 0; u < f.scores.Shape[0]; u++ {
					in := map[string]*onnx.Tensor{}
					for key, v := range f.users {
						in[key] = userRow(v, u)
					}
					if err := sc.Bind(in); err != nil {
						t.Fatal(err)
					}
					if err := sc.Score(rows, out); err != nil {
						t.Fatal(err)
					}
					worst = math.Max(worst, numtest.RelErr(out, f.scores64.Data[u*n:(u+1)*n]))
				}
				vec.UseKernels(prev)
				t.Logf("%s block %d %+v: max rel err vs torch float64 %.2e", name, block, k, worst)
				if worst > 1e-4 {
					t.Errorf("%s block %d kernels %+v: max rel err %.3g > 1e-4", name, block, k, worst)
				}
			}
		}
	}
}

// unitGraph: user u [n,8], item x [n,8]; a pair product (x⊙u)·W + b
// [n,64], optionally ReLU'd, read as [n,2,32] by a LayerNorm, GELU and a
// one-output layer, summed to the score; with twice, the product's sum is
// added to the score too (a second reader of the product).
func unitGraph(t *testing.T, relu, twice bool) *onnx.Graph {
	t.Helper()
	rng := rand.New(rand.NewPCG(21, 22))
	f32 := func(n int, s float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * s)
		}
		return v
	}
	b := onnx.NewBuilder("unit", 17)
	u := b.Input("u", onnx.Float32, onnx.Batch, 8)
	x := b.Input("x", onnx.Float32, onnx.Batch, 8)
	p := b.Node("Mul", "", []string{x, u})
	h := b.Node("MatMul", "", []string{p, b.Float32("W", f32(8*64, 0.5), 8, 64)})
	bias := f32(64, 1)
	for i := range bias {
		bias[i] += 3 // a mean far from 0
	}
	h = b.Node("Add", "", []string{h, b.Float32("B", bias, 64)})
	if relu {
		h = b.Node("Relu", "", []string{h})
	}
	prod := h
	h = b.Node("Reshape", "", []string{h, b.Int64("", []int64{-1, 2, 32}, 3)})
	ln := b.Node("LayerNormalization", "", []string{h, b.Float32("s", f32(32, 0.3), 32), b.Float32("lb", f32(32, 0.3), 32)}, onnx.IntAttr("axis", -1))
	// Exact GELU as torch exports it.
	d := b.Node("Div", "", []string{ln, b.Float32("", []float32{float32(math.Sqrt2)})})
	e := b.Node("Erf", "", []string{d})
	a := b.Node("Add", "", []string{e, b.Float32("", []float32{1})})
	m := b.Node("Mul", "", []string{ln, a})
	g := b.Node("Mul", "", []string{m, b.Float32("", []float32{0.5})})
	w := b.Node("MatMul", "", []string{g, b.Float32("w2", f32(32, 0.3), 32, 1)})
	if !twice {
		b.Node("ReduceSum", "score", []string{w, b.Int64("", []int64{1, 2}, 2)}, onnx.IntAttr("keepdims", 0))
	} else {
		s := b.Node("ReduceSum", "", []string{w, b.Int64("", []int64{1, 2}, 2)}, onnx.IntAttr("keepdims", 0))
		s2 := b.Node("ReduceSum", "", []string{prod, b.Int64("", []int64{1}, 1)}, onnx.IntAttr("keepdims", 0))
		b.Node("Add", "score", []string{s, s2})
	}
	b.Output("score", onnx.Float32, onnx.Batch)
	return builtGraph(t, b)
}

// With and without an activation between the product and the LayerNorm
// (only without it are B and the bias centred), the fused kernel gives
// the interpreter's scores on every kernel selection; a product with a
// second reader is not fused (its result would not be stored).
func TestDenseNormActivation(t *testing.T) {
	all := vec.AvailableKernels()
	const n = 100
	items := randomTable(n, 8, 3)
	user := randomTable(1, 8, 4)
	for _, tc := range []struct{ relu, twice bool }{{false, false}, {true, false}, {false, true}} {
		g := unitGraph(t, tc.relu, tc.twice)
		in := map[string]*onnx.Tensor{"x": items, "u": repeatTensor(user, n)}
		want, err := g.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Compile(unitGraph(t, tc.relu, tc.twice), Contract{UserInputs: []string{"u"}, ItemInput: "x"}, items, Options{Block: 48, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		fused := false
		for _, k := range p.prog.kernels {
			_, ok := k.(*denseNormKernel)
			fused = fused || ok
		}
		if fused == tc.twice {
			t.Fatalf("%+v: fused %v\n%s", tc, fused, p.Describe())
		}
		for _, k := range []vec.Kernels{all, {AVX2: all.AVX2}, {}} {
			prev := vec.UseKernels(k)
			sc := p.NewScorer()
			if err := sc.Bind(map[string]*onnx.Tensor{"u": user}); err != nil {
				t.Fatal(err)
			}
			out := make([]float32, n)
			if err := sc.Score(item.AllRows(n), out); err != nil {
				t.Fatal(err)
			}
			vec.UseKernels(prev)
			if e := numtest.RelErr(out, want["score"].Data); e > 1e-4 {
				t.Errorf("%+v, kernels %+v: max rel err %.3g vs the interpreter", tc, k, e)
			}
		}
	}
}
