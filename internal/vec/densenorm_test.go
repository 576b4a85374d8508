package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// denseNormCase is a random DenseNorm problem.
type denseNormCase struct {
	p          *DenseNorm
	rows       int
	a, w, bias []float32 // w: K × N row-major
	packed     []float32
}

func newDenseNormCase(rng *rand.Rand, rows, k, m, groups int, gelu, withBias bool) *denseNormCase {
	n := m * groups
	p := &DenseNorm{K: k, N: n, LN: LayerNorm{Cols: m, Scale: make([]float32, m), Bias: make([]float32, m), Eps: 1e-5, GELU: gelu, Dot: make([]float32, m), DotBias: 0.25}}
	for j := 0; j < m; j++ {
		p.LN.Scale[j], p.LN.Bias[j], p.LN.Dot[j] = float32(rng.Float64()+0.5), float32(rng.NormFloat64()*0.3), float32(rng.NormFloat64())
	}
	c := &denseNormCase{p: p, rows: rows, a: make([]float32, rows*k), w: make([]float32, k*n)}
	for i := range c.a {
		c.a[i] = float32(rng.NormFloat64())
	}
	for i := range c.w {
		c.w[i] = float32(rng.NormFloat64())
	}
	if withBias {
		c.bias = make([]float32, n)
		for i := range c.bias {
			c.bias[i] = float32(rng.NormFloat64()*2 + 1) // a mean far from 0
		}
	}
	c.packed = PackPanels(make([]float32, k*n), c.w, k, n, n, false)
	return c
}

// ref is the pass in float64.
func (c *denseNormCase) ref() []float64 {
	p, m := c.p, c.p.LN.Cols
	groups := p.N / m
	out := make([]float64, c.rows*groups)
	x := make([]float64, m)
	for r := 0; r < c.rows; r++ {
		for g := 0; g < groups; g++ {
			var mu float64
			for j := range x {
				v := 0.0
				if c.bias != nil {
					v = float64(c.bias[g*m+j])
				}
				for i := 0; i < p.K; i++ {
					v += float64(c.a[r*p.K+i]) * float64(c.w[i*p.N+g*m+j])
				}
				x[j] = v
				mu += v
			}
			mu /= float64(m)
			var vr float64
			for _, v := range x {
				vr += (v - mu) * (v - mu)
			}
			rs := 1 / math.Sqrt(vr/float64(m)+float64(p.LN.Eps))
			acc := 0.0
			for j, v := range x {
				y := (v-mu)*rs*float64(p.LN.Scale[j]) + float64(p.LN.Bias[j])
				if p.LN.GELU {
					y = 0.5 * y * (1 + math.Erf(y/math.Sqrt2))
				}
				acc += y * float64(p.LN.Dot[j])
			}
			out[r*groups+g] = acc + float64(p.LN.DotBias)
		}
	}
	return out
}

// Every kernel variant against the float64 pass, over rows (whole and
// partial blocks of 16), inner dimensions, group widths and counts, with
// and without GELU and bias.
func TestDenseNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, v := range variants() {
		withKernels(t, v.k, func() {
			for _, rows := range []int{1, 16, 37, 48} {
				for _, k := range []int{1, 5, 16, 17} {
					for _, mg := range [][2]int{{16, 1}, {32, 3}, {48, 2}, {32, 50}} {
						for f := 0; f < 4; f++ {
							c := newDenseNormCase(rng, rows, k, mg[0], mg[1], f&1 != 0, f&2 != 0)
							got := make([]float32, rows*mg[1])
							c.p.Rows(c.a, rows, c.packed, c.bias, got, make([]float32, c.p.WorkLen()))
							for i, want := range c.ref() {
								// The dot adds m terms of a product of k: float32 rounding grows with both.
								tol := 2e-6 * float64(mg[0]) * math.Sqrt(float64(k))
								if d := math.Abs(float64(got[i]) - want); d > tol*math.Max(1, math.Abs(want)) || math.IsNaN(float64(got[i])) {
									t.Fatalf("%s: rows %d k %d m %d groups %d flags %d: [%d] = %v, float64 %v", v.name, rows, k, mg[0], mg[1], f, i, got[i], want)
								}
							}
						}
					}
				}
			}
		})
	}
}

// The assembly and its twin agree closely (same statistics, same GELU).
func TestDenseNormTwin(t *testing.T) {
	if !AvailableKernels().AVX512 {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	c := newDenseNormCase(rng, 48, 16, 32, 50, true, true)
	asm, twin := make([]float32, 48*50), make([]float32, 48*50)
	c.p.Rows(c.a, 48, c.packed, c.bias, asm, make([]float32, c.p.WorkLen()))
	denseNormGeneric(c.p, c.a, 48, c.packed, c.bias, twin, make([]float32, 32))
	for i := range asm {
		if d := math.Abs(float64(asm[i] - twin[i])); d > 2e-5*math.Max(1, math.Abs(float64(twin[i]))) {
			t.Fatalf("[%d] asm %v, twin %v", i, asm[i], twin[i])
		}
	}
}

// No allocation per call, with or without a bias, also for a wide product.
func TestDenseNormNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, kg := range [][2]int{{16, 50}, {4, 200}} {
		for _, withBias := range []bool{false, true} {
			c := newDenseNormCase(rng, 48, kg[0], 32, kg[1], true, withBias)
			out, work := make([]float32, 48*kg[1]), make([]float32, c.p.WorkLen())
			for _, v := range variants() {
				withKernels(t, v.k, func() {
					if n := testing.AllocsPerRun(5, func() { c.p.Rows(c.a, 48, c.packed, c.bias, out, work) }); n != 0 {
						t.Errorf("%s: k %d, %d groups, bias %v: %v allocations per call", v.name, kg[0], kg[1], withBias, n)
					}
				})
			}
		}
	}
}

func TestDenseNormShapePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a group width of 24 did not panic")
		}
	}()
	p := &DenseNorm{K: 4, N: 48, LN: LayerNorm{Cols: 24, Scale: make([]float32, 24), Bias: make([]float32, 24), Dot: make([]float32, 24)}}
	p.Rows(make([]float32, 4), 1, make([]float32, 4*48), nil, make([]float32, 2), make([]float32, 4096))
}

// BenchmarkDenseNorm is the DIN activation unit at the plan's block of 48
// candidates: a 16 × 1600 product read as 50 LayerNorm rows of 32 each,
// GELU and a one-output layer — fused, and as a tiled product then the
// LayerNorm pass.
func BenchmarkDenseNorm(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	c := newDenseNormCase(rng, 48, 16, 32, 50, true, true)
	out := make([]float32, 48*50)
	b.Run("fused", func(b *testing.B) {
		work := make([]float32, c.p.WorkLen())
		for i := 0; i < b.N; i++ {
			c.p.Rows(c.a, 48, c.packed, c.bias, out, work)
		}
		b.ReportMetric(float64(48*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("separate", func(b *testing.B) {
		x := make([]float32, 48*1600)
		for i := 0; i < b.N; i++ {
			for r := 0; r < 48; r += TileRows512 {
				for j := 0; j < 1600; j += 16 {
					Tile12x16(16, c.a[r*16:], 16, c.packed[j*16:], x[r*1600+j:], 1600, TileBias, c.bias[j:], nil)
				}
			}
			c.p.LN.Rows(x, 48*50, out)
		}
		b.ReportMetric(float64(48*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// A group mean far above the spread: CenterGroups leaves the pass's exact
// value unchanged and keeps the unshifted statistics accurate, on every
// kernel variant.
func TestDenseNormCentered(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	c := newDenseNormCase(rng, 37, 16, 32, 5, true, true)
	for i := range c.bias {
		c.bias[i] += 300
	}
	for i := range c.w {
		c.w[i] *= 0.05
	}
	c.packed = PackPanels(c.packed, c.w, c.p.K, c.p.N, c.p.N, false)
	want := c.ref()
	// Uncentred, the sums lose what the mean takes (logged, not checked).
	raw := make([]float32, len(want))
	c.p.Rows(c.a, c.rows, c.packed, c.bias, raw, make([]float32, c.p.WorkLen()))
	worst := 0.0
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(raw[i])-want[i])/math.Max(1, math.Abs(want[i])))
	}
	t.Logf("uncentred: max error %.2g", worst)
	b, bias := append([]float32(nil), c.packed...), append([]float32(nil), c.bias...)
	CenterGroups(b, bias, c.p.K, c.p.N, c.p.LN.Cols)
	for g := 0; g < c.p.N/32; g++ {
		var s float64
		for _, v := range bias[g*32 : g*32+32] {
			s += float64(v)
		}
		if math.Abs(s) > 32*300*1e-6 { // float32 sums of values near 300
			t.Fatalf("group %d: centred bias sums to %v", g, s)
		}
	}
	for _, v := range variants() {
		withKernels(t, v.k, func() {
			got := make([]float32, len(want))
			c.p.Rows(c.a, c.rows, b, bias, got, make([]float32, c.p.WorkLen()))
			for i := range want {
				if d := math.Abs(float64(got[i]) - want[i]); d > 1e-4*math.Max(1, math.Abs(want[i])) {
					t.Fatalf("%s: [%d] = %v, float64 %v", v.name, i, got[i], want[i])
				}
			}
		})
	}
}
