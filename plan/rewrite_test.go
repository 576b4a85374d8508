package plan

import (
	"math"
	"testing"

	"nann/onnx"
)

// The rewrites are exact algebra: the rewritten graph, interpreted in
// float64, gives the original graph's scores to rounding.
func TestRewritesPreserveScores(t *testing.T) {
	for _, name := range fixtureNames {
		f := loadFixture(t, name)
		if err := f.g.InferShapes(); err != nil {
			t.Fatal(err)
		}
		c, err := f.c.resolve(f.g)
		if err != nil {
			t.Fatal(err)
		}
		rg, err := rewrite(f.g, c)
		if err != nil {
			t.Fatal(err)
		}
		n := f.items.Shape[0]
		in := map[string]*onnx.Tensor{f.c.ItemInput: f.items}
		for k, v := range f.users {
			r := userRow(v, 1)
			rep := &onnx.Tensor{DType: r.DType, Shape: append([]int{n}, r.Shape[1:]...)}
			for i := 0; i < n; i++ {
				rep.Data = append(rep.Data, r.Data...)
			}
			in[k] = rep
		}
		a, err := f.g.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		b, err := rg.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		x, y := a[c.ScoreOutput].Data, b[c.ScoreOutput].Data
		worst := 0.0
		for i := range x {
			worst = math.Max(worst, math.Abs(x[i]-y[i])/math.Max(1, math.Abs(x[i])))
		}
		t.Logf("%s: %d nodes → %d after rewriting; max rel diff %.1e", name, len(f.g.Nodes), len(rg.Nodes), worst)
		if worst > 1e-12 {
			t.Errorf("%s: rewritten graph differs by %.3g", name, worst)
		}
		if len(rg.Nodes) == len(f.g.Nodes) && name == "reference" {
			t.Errorf("%s: nothing was rewritten", name)
		}
	}
}

// The DIN unit's first layer over [q, k, q−k, q·k] splits into an item
// product (q·(W₀+W₂), stored per item, unexpanded), a user product
// (k·(W₁−W₂), once per query) and the pair product of q·k alone.
func TestDINSplit(t *testing.T) {
	for _, name := range []string{"din13", "din17"} {
		f := loadFixture(t, name)
		p, err := Compile(f.g, f.c, f.items, Options{})
		if err != nil {
			t.Fatal(err)
		}
		st := p.Stats()
		if st.TableFloats > 100 {
			t.Errorf("%s: %d floats per item stored, want ≤ 100 (16 emb + 32 unit + 48 tower)\n%s", name, st.TableFloats, p.Describe())
		}
		mm := 0
		for _, n := range p.pairNodes {
			if n.Op == "MatMul" || n.Op == "Gemm" {
				mm++
			}
		}
		// q·k product, au2, the pooled part of the tower, two tower layers.
		if mm > 5 {
			t.Errorf("%s: %d matrix products in the pair stage, want ≤ 5\n%s", name, mm, p.Describe())
		}
		if st.UserValues < 2 {
			t.Errorf("%s: %d user values, want the unit's and the tower's user products", name, st.UserValues)
		}
	}
}

func TestBatchNormFolded(t *testing.T) {
	f := loadFixture(t, "reference")
	p, err := Compile(f.g, f.c, f.items, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range p.g.Nodes {
		if n.Op == "BatchNormalization" {
			t.Errorf("%s left after folding", n)
		}
	}
}

func TestFastMath(t *testing.T) {
	const n = 4001
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i-n/2) / 250 // [-8, 8]
	}
	y, tmp := make([]float32, n), make([]float32, n)
	sliceFuncs["Erf"](x, y, tmp)
	worstAbs := 0.0
	for i, v := range x {
		worstAbs = math.Max(worstAbs, math.Abs(float64(y[i])-math.Erf(float64(v))))
	}
	if worstAbs > 5e-7 { // A&S 1.5e-7 plus float32 rounding near ±1
		t.Errorf("Erf: max absolute error %.3g", worstAbs)
	}
	for name, ref := range map[string]func(float64) float64{
		"Tanh": math.Tanh, "Sigmoid": func(v float64) float64 { return 1 / (1 + math.Exp(-v)) },
		"Exp": math.Exp,
	} {
		sliceFuncs[name](x, y, tmp)
		worst := 0.0
		for i, v := range x {
			r := ref(float64(v))
			worst = math.Max(worst, math.Abs(float64(y[i])-r)/math.Max(math.Abs(r), 1e-3))
		}
		if worst > 2e-6 {
			t.Errorf("%s: max error %.3g", name, worst)
		}
	}
}
