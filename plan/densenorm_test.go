package plan

import (
	"math"
	"testing"

	"nann/internal/numtest"
	"nann/internal/vec"
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
			rows, out := allRows(n), make([]float32, n)
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
