package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The pass's erf and GELU against math.Erf, and the assembly against its
// plain-Go twin over widths, flags and rows.
func TestErf32(t *testing.T) {
	worst, worstGELU := 0.0, 0.0
	for i := -4000; i <= 4000; i++ {
		x := float32(i) / 400 // [-10, 10]
		worst = math.Max(worst, math.Abs(float64(Erf32(x))-math.Erf(float64(x))))
		g := 0.5 * float64(x) * (1 + math.Erf(float64(x)/math.Sqrt2))
		worstGELU = math.Max(worstGELU, math.Abs(float64(GELU32(x))-g)/math.Max(math.Abs(float64(x)), 1))
	}
	// A&S's 3e-7 plus float32 rounding of p¹⁶ (16 roundings of p) near 0.
	if worst > 2e-6 {
		t.Errorf("Erf32: max absolute error %.3g", worst)
	}
	if worstGELU > 1e-6 {
		t.Errorf("GELU32: max error %.3g (absolute, per unit of max(|x|, 1))", worstGELU)
	}
	if v := Erf32(float32(math.NaN())); !math.IsNaN(float64(v)) {
		t.Errorf("Erf32(NaN) = %v", v)
	}
	if v := Erf32(float32(math.Inf(1))); v != 1 {
		t.Errorf("Erf32(+Inf) = %v", v)
	}
}

func TestLayerNormRows(t *testing.T) {
	all := AvailableKernels()
	for _, k := range []Kernels{all, {AVX2: all.AVX2}, {}} {
		prev := UseKernels(k)
		testLayerNormRows(t)
		UseKernels(prev)
	}
}

func testLayerNormRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cols := range []int{8, 16, 24, 32, 48, 5, 13} {
		for flags := 0; flags < 4; flags++ {
			rows := 71 // more than one chunk of lnChunk rows
			x := make([]float32, rows*cols)
			for i := range x {
				x[i] = float32(rng.NormFloat64()*3 + 1)
			}
			p := &LayerNorm{Cols: cols, Scale: make([]float32, cols), Bias: make([]float32, cols), Eps: 1e-5, GELU: flags&1 != 0}
			for j := 0; j < cols; j++ {
				p.Scale[j], p.Bias[j] = float32(rng.Float64()+0.5), float32(rng.NormFloat64()*0.3)
			}
			n := rows * cols
			if flags&2 != 0 {
				p.Dot = make([]float32, cols)
				for j := range p.Dot {
					p.Dot[j] = float32(rng.NormFloat64())
				}
				p.DotBias = 0.25
				n = rows
			}
			got, want := make([]float32, n), make([]float32, n)
			p.Rows(x, rows, got)
			layerNormGeneric(x, rows, p, want)
			// Against float64 arithmetic too.
			ref := make([]float64, n)
			for r := 0; r < rows; r++ {
				row := x[r*cols : (r+1)*cols]
				var mu, vr float64
				for _, v := range row {
					mu += float64(v)
				}
				mu /= float64(cols)
				for _, v := range row {
					vr += (float64(v) - mu) * (float64(v) - mu)
				}
				rs := 1 / math.Sqrt(vr/float64(cols)+1e-5)
				acc := 0.0
				for j, v := range row {
					y := (float64(v)-mu)*rs*float64(p.Scale[j]) + float64(p.Bias[j])
					if p.GELU {
						y = 0.5 * y * (1 + math.Erf(y/math.Sqrt2))
					}
					if p.Dot != nil {
						acc += y * float64(p.Dot[j])
					} else {
						ref[r*cols+j] = y
					}
				}
				if p.Dot != nil {
					ref[r] = acc + 0.25
				}
			}
			for i := range got {
				// A dot sums cols products in another order in each.
				tol := 2e-6
				if p.Dot != nil {
					tol = 1e-5
				}
				if d := math.Abs(float64(got[i] - want[i])); d > tol*math.Max(1, math.Abs(float64(want[i]))) {
					t.Fatalf("%+v: cols %d flags %d: [%d] asm %v, twin %v", ActiveKernels(), cols, flags, i, got[i], want[i])
				}
				if d := math.Abs(float64(want[i]) - ref[i]); d > 3e-6*math.Max(1, math.Abs(ref[i])) {
					t.Fatalf("cols %d flags %d: [%d] twin %v, float64 %v", cols, flags, i, want[i], ref[i])
				}
			}
		}
	}
}

func BenchmarkLayerNormGELU(b *testing.B) {
	const rows, cols = 2400, 32
	x, y := make([]float32, rows*cols), make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(i%17) - 8
	}
	p := &LayerNorm{Cols: cols, Scale: make([]float32, cols), Bias: make([]float32, cols), Eps: 1e-5, GELU: true}
	for j := range p.Scale {
		p.Scale[j] = 1
	}
	b.SetBytes(rows * cols * 4)
	for i := 0; i < b.N; i++ {
		p.Rows(x, rows, y)
	}
}

// BenchmarkLayerNormGELUDot is the DIN activation unit's pass: LayerNorm,
// GELU and a one-output layer over rows of 32.
func BenchmarkLayerNormGELUDot(b *testing.B) {
	const rows, cols = 2400, 32
	x, y := make([]float32, rows*cols), make([]float32, rows)
	for i := range x {
		x[i] = float32(i%17) - 8
	}
	p := &LayerNorm{Cols: cols, Scale: make([]float32, cols), Bias: make([]float32, cols), Eps: 1e-5, GELU: true, Dot: make([]float32, cols), DotBias: 0.5}
	for j := range p.Scale {
		p.Scale[j], p.Dot[j] = 1, float32(j%5)-2
	}
	b.SetBytes(rows * cols * 4)
	for i := 0; i < b.N; i++ {
		p.Rows(x, rows, y)
	}
}
