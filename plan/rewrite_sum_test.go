package plan

import (
	"testing"
)

// The DIN unit's first layer, after the rewrites, is one product of the
// candidates' item rows with a per-query stacked matrix (no element-wise
// product of a user and an item value is left in the pair stage), the
// attention-weighted pooling is a product with a user matrix, and the
// LayerNorm+GELU chains (with the one-output layer after the unit's) are
// single passes: the whole pair stage is dense products and LayerNorm
// passes — also for din13, whose LayerNorm torch exports as ReduceMean,
// Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add (the layerNorm rewrite).
func TestDINPairStageFused(t *testing.T) {
	for _, name := range []string{"din13", "din17"} {
		f := loadFixture(t, name)
		p, err := Compile(f.g, f.c, f.items, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range p.pairNodes {
			if n.Op != "Mul" || len(n.Inputs) != 2 {
				continue
			}
			a, b := p.lab[n.Inputs[0]], p.lab[n.Inputs[1]]
			if a == User && b == Item || a == Item && b == User {
				t.Errorf("%s: %s multiplies a user and an item value in the pair stage\n%s", name, n, p.Describe())
			}
		}
		if k := len(p.prog.kernels); k > 6 {
			t.Errorf("%s: %d pair kernels, want ≤ 6 (3 products, 3 LayerNorm passes)", name, k)
		}
		for i, k := range p.prog.kernels {
			switch k.(type) {
			case *denseKernel, *lnKernel, *denseNormKernel:
			default:
				t.Errorf("%s: pair kernel %d is a %T, want only products and LayerNorm passes", name, i, k)
			}
		}
		if got := p.Stats().TableFloats; got > 64 {
			t.Errorf("%s: %d floats per item stored, want ≤ 64 (16 emb + 48 tower)", name, got)
		}
	}
}

// The reference network's pair stage: the logits' product takes the user
// bias and the 1/√H scale in its epilogue and the softmax in the same
// kernel; the MLP's first product its item term (accumulate) and PReLU.
func TestReferencePairStageFused(t *testing.T) {
	f := loadFixture(t, "reference")
	p, err := Compile(f.g, f.c, f.items, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if k := len(p.prog.kernels); k > 6 {
		t.Errorf("%d pair kernels, want ≤ 6", k)
	}
	for i, k := range p.prog.kernels {
		if _, ok := k.(*denseKernel); !ok {
			t.Errorf("pair kernel %d is a %T, want only products", i, k)
		}
	}
}
