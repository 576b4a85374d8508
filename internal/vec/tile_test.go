package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// tileRef is the float64 reference of the tile kernels: the mr×w tile at c
// becomes epilogue(A·B) with A's element (i, p) at a[i*rs+p*cs] and B's
// (p, j) at b[p*ldb+j].
func tileRef(mr, w, k int, a []float32, rs, cs int, b []float32, ldb int, c []float32, ldc int, f TileFlags, bias, alpha []float32) {
	for i := 0; i < mr; i++ {
		for j := 0; j < w; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += float64(a[i*rs+p*cs]) * float64(b[p*ldb+j])
			}
			if f&TileAccumulate != 0 {
				s += float64(c[i*ldc+j])
			}
			if f&TileBias != 0 {
				s += float64(bias[j])
			}
			if f&TilePReLU != 0 && s <= 0 {
				s *= float64(alpha[j])
			}
			if f&TileReLU != 0 && !(s > 0) {
				s = 0
			}
			c[i*ldc+j] = float32(s)
		}
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

const allTileFlags = TileAccumulate | TileBias | TilePReLU | TileReLU

// tileCase is one call of the micro-kernel family with its operands; A and
// B carry NaNs in every element the call must not read, so an over-read
// (past k, past w, past the last row) poisons the result.
type tileCase struct {
	mr, w, k       int
	rs, cs, ldb    int
	ldc            int
	f              TileFlags
	a, b, c0       []float32
	bias, alpha    []float32
	transA, packed bool
}

func newTileCase(r *rand.Rand, mr, w, k int, transA bool, ldbPad int, f TileFlags) tileCase {
	nan := float32(math.NaN())
	tc := tileCase{mr: mr, w: w, k: k, f: f, transA: transA, ldb: w + ldbPad, ldc: w + 1 + r.IntN(5)}
	// A is stored with room for one more row and column than the tile
	// reads, all NaN outside the mr×k sliver.
	if transA {
		tc.rs, tc.cs = 1, mr+1+r.IntN(3)
		tc.a = make([]float32, (k+1)*tc.cs)
	} else {
		tc.rs, tc.cs = k+1+r.IntN(3), 1
		tc.a = make([]float32, (mr+1)*tc.rs)
	}
	for i := range tc.a {
		tc.a[i] = nan
	}
	for i := 0; i < mr; i++ {
		for p := 0; p < k; p++ {
			tc.a[i*tc.rs+p*tc.cs] = float32(r.NormFloat64())
		}
	}
	tc.b = make([]float32, (k+1)*tc.ldb)
	for i := range tc.b {
		tc.b[i] = nan
	}
	for p := 0; p < k; p++ {
		for j := 0; j < w; j++ {
			tc.b[p*tc.ldb+j] = float32(r.NormFloat64())
		}
	}
	tc.c0 = randSlice(r, mr*tc.ldc)
	tc.bias, tc.alpha = randSlice(r, w), randSlice(r, w)
	return tc
}

func (tc tileCase) String() string {
	return fmt.Sprintf("%dx%d k=%d rs=%d cs=%d ldb=%d ldc=%d flags=%04b", tc.mr, tc.w, tc.k, tc.rs, tc.cs, tc.ldb, tc.ldc, tc.f)
}

func (tc tileCase) run() []float32 {
	c := append([]float32(nil), tc.c0...)
	microTile(tc.mr, tc.w, tc.k, tc.a, tc.rs, tc.cs, tc.b, tc.ldb, c, tc.ldc, tc.f, tc.bias, tc.alpha)
	return c
}

func (tc tileCase) want() []float32 {
	c := append([]float32(nil), tc.c0...)
	tileRef(tc.mr, tc.w, tc.k, tc.a, tc.rs, tc.cs, tc.b, tc.ldb, c, tc.ldc, tc.f, tc.bias, tc.alpha)
	return c
}

// check compares got with the float64 reference and checks that nothing
// outside the tile changed.
func (tc tileCase) check(t *testing.T, kern string, got []float32) {
	t.Helper()
	want := tc.want()
	tol := 1e-5 * float64(1+tc.k/16)
	for i := range got {
		if i%tc.ldc >= tc.w {
			if math.Float32bits(got[i]) != math.Float32bits(tc.c0[i]) {
				t.Fatalf("%s %v: wrote outside the tile at %d", kern, tc, i)
			}
			continue
		}
		if d := math.Abs(float64(got[i] - want[i])); !(d <= tol*(1+math.Abs(float64(want[i])))) {
			t.Fatalf("%s %v: c[%d] = %v, want %v", kern, tc, i, got[i], want[i])
		}
	}
}

// TestTileTwins runs every kernel of the family and its plain-Go twin on
// both tile heights and widths, depths with and without an odd tail, A
// row-major and transposed, B packed and strided, and all sixteen
// epilogues, against the float64 reference.
func TestTileTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, v := range variants() {
		for _, mr := range []int{TileRows, TileRows512} {
			for _, w := range []int{8, 16} {
				for _, k := range []int{0, 1, 2, 3, 7, 16, 51, 128, 257} {
					for _, transA := range []bool{false, true} {
						for _, ldbPad := range []int{0, 3} {
							for f := TileFlags(0); f <= allTileFlags; f++ {
								tc := newTileCase(r, mr, w, k, transA, ldbPad, f)
								var got []float32
								withKernels(t, v.k, func() { got = tc.run() })
								tc.check(t, v.name, got)
							}
						}
					}
				}
			}
		}
	}
}

// TestTileKernelsBitExact: the 16-column kernels sum over p in the same
// order with one FMA per step, and the epilogue is the same, so the AVX2
// 6×16 and the AVX-512 12×16 kernels agree bit for bit; and with k = 0
// (the epilogue alone: accumulate, bias, PReLU, ReLU) every kernel agrees
// bit for bit with the plain-Go twin, NaN and ±0 mapped alike by ReLU.
func TestTileKernelsBitExact(t *testing.T) {
	if !have.AVX2 {
		t.Skip("no AVX2/FMA")
	}
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range []int{0, 1, 5, 64, 129} {
		for f := TileFlags(0); f <= allTileFlags; f++ {
			tc := newTileCase(r, TileRows512, 16, k, k%2 == 1, 0, f)
			var avx2, avx512 []float32
			withKernels(t, Kernels{AVX2: true}, func() { avx2 = tc.run() })
			if have.AVX512 {
				withKernels(t, have, func() { avx512 = tc.run() })
				for i := range avx2 {
					if math.Float32bits(avx2[i]) != math.Float32bits(avx512[i]) {
						t.Fatalf("%v: c[%d] is %v with AVX2, %v with AVX-512", tc, i, avx2[i], avx512[i])
					}
				}
			}
		}
	}
	// The epilogue alone, with C holding NaN, ±0 and values of both signs.
	special := []float32{float32(math.NaN()), 0, float32(math.Copysign(0, -1)), 1.5, -2.25, float32(math.Inf(-1))}
	for _, w := range []int{8, 16} {
		for _, mr := range []int{TileRows, TileRows512} {
			for f := TileFlags(0); f <= allTileFlags; f++ {
				if f&(TilePReLU|TileBias) != 0 {
					continue // bias and alpha are finite: the other cases cover them
				}
				tc := newTileCase(r, mr, w, 0, false, 0, f)
				for i := range tc.c0 {
					tc.c0[i] = special[r.IntN(len(special))]
				}
				var want []float32
				withKernels(t, Kernels{}, func() { want = tc.run() })
				for _, v := range variants()[1:] {
					var got []float32
					withKernels(t, v.k, func() { got = tc.run() })
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
							t.Fatalf("%s %v: c[%d] = %v from %v, Go twin %v", v.name, tc, i, got[i], tc.c0[i], want[i])
						}
					}
				}
			}
		}
	}
	// Bias and PReLU on finite values: exact too (the sum is one rounding,
	// PReLU's FMA adds an exact 0 to one product).
	for _, w := range []int{8, 16} {
		for f := TileFlags(0); f <= allTileFlags; f++ {
			tc := newTileCase(r, TileRows, w, 0, false, 0, f)
			var want []float32
			withKernels(t, Kernels{}, func() { want = tc.run() })
			for _, v := range variants()[1:] {
				var got []float32
				withKernels(t, v.k, func() { got = tc.run() })
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%s %v: c[%d] = %v, Go twin %v", v.name, tc, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestTileExported checks Tile6x16, Tile6x8 and Tile12x16, the engine's
// entry points, with every kernel selection against the reference.
func TestTileExported(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	type entry struct {
		rows, w int
		f       func(k int, a []float32, lda int, b []float32, c []float32, ldc int, f TileFlags, bias, alpha []float32)
	}
	for _, v := range variants() {
		for _, e := range []entry{{TileRows, 16, Tile6x16}, {TileRows, 8, Tile6x8}, {TileRows512, 16, Tile12x16}} {
			for _, k := range []int{0, 1, 5, 50, 128} {
				for f := TileFlags(0); f <= allTileFlags; f++ {
					tc := newTileCase(r, e.rows, e.w, k, false, 0, f)
					got := append([]float32(nil), tc.c0...)
					withKernels(t, v.k, func() {
						e.f(k, tc.a, tc.rs, tc.b, got, tc.ldc, f, tc.bias, tc.alpha)
					})
					tc.check(t, v.name, got)
				}
			}
		}
	}
}

// TestTileShortSlicesPanic: the bounds the assembly relies on are checked.
func TestTileShortSlicesPanic(t *testing.T) {
	const k = 4
	a, b, c := make([]float32, TileRows*k), make([]float32, k*16), make([]float32, TileRows*16)
	for name, call := range map[string]func(){
		"a":     func() { Tile6x16(k, a[:len(a)-1], k, b, c, 16, 0, nil, nil) },
		"b":     func() { Tile6x16(k, a, k, b[:len(b)-1], c, 16, 0, nil, nil) },
		"c":     func() { Tile6x16(k, a, k, b, c[:len(c)-1], 16, 0, nil, nil) },
		"bias":  func() { Tile6x16(k, a, k, b, c, 16, TileBias, make([]float32, 15), nil) },
		"alpha": func() { Tile6x16(k, a, k, b, c, 16, TilePReLU, nil, make([]float32, 15)) },
		"12":    func() { Tile12x16(k, a, k, b, make([]float32, TileRows512*16), 16, 0, nil, nil) },
	} {
		for _, v := range variants() {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s: short %s did not panic", v.name, name)
					}
				}()
				withKernels(t, v.k, call)
			}()
		}
	}
}

func BenchmarkTile6x16(b *testing.B) { benchTile6(b, 16, Tile6x16) }

func BenchmarkTile6x8(b *testing.B) { benchTile6(b, 8, Tile6x8) }

// benchTile6 times a 6-row tile of width columns (k = 128, bias and PReLU
// epilogue) and reports GFLOP/s.
func benchTile6(b *testing.B, width int, tile func(k int, a []float32, lda int, b []float32, c []float32, ldc int, f TileFlags, bias, alpha []float32)) {
	const k = 128
	r := rand.New(rand.NewPCG(5, 6))
	a, p, c := randSlice(r, TileRows*k), randSlice(r, k*width), make([]float32, TileRows*width)
	bias := randSlice(r, width)
	for b.Loop() {
		tile(k, a, k, p, c, width, TileBias|TilePReLU, bias, bias)
	}
	b.ReportMetric(float64(2*TileRows*width*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkTile12x16 compares, in the same loop, one 12-row AVX-512 tile
// with two 6-row AVX2 tiles doing the same work.
func BenchmarkTile12x16(b *testing.B) {
	const k = 128
	r := rand.New(rand.NewPCG(5, 6))
	a, p, c := randSlice(r, TileRows512*k), randSlice(r, k*16), make([]float32, TileRows512*16)
	bias := randSlice(r, 16)
	var t512, t2 time.Duration
	for b.Loop() {
		t0 := time.Now()
		for i := 0; i < 50; i++ {
			Tile12x16(k, a, k, p, c, 16, TileBias|TilePReLU, bias, bias)
		}
		t1 := time.Now()
		for i := 0; i < 50; i++ {
			Tile6x16(k, a, k, p, c, 16, TileBias|TilePReLU, bias, bias)
			Tile6x16(k, a[TileRows*k:], k, p, c[TileRows*16:], 16, TileBias|TilePReLU, bias, bias)
		}
		t512 += t1.Sub(t0)
		t2 += time.Since(t1)
	}
	flop := float64(2*TileRows512*16*k*50) * float64(b.N)
	b.ReportMetric(flop/t512.Seconds()/1e9, "tile12x16_GFLOP/s")
	b.ReportMetric(flop/t2.Seconds()/1e9, "2x_tile6x16_GFLOP/s")
	b.ReportMetric(t2.Seconds()/t512.Seconds(), "x_avx512")
}

// TestPackPanels checks the panel layout element by element for a plain
// and a transposed source whose width is neither a multiple of 16 nor of 8,
// and that a large enough dst is reused.
func TestPackPanels(t *testing.T) {
	const k, n, ld = 3, 21, 25
	src := make([]float32, k*ld)
	for i := range src {
		src[i] = float32(i + 1)
	}
	srcT := make([]float32, n*ld)
	for p := 0; p < k; p++ {
		for j := 0; j < n; j++ {
			srcT[j*ld+p] = src[p*ld+j]
		}
	}
	for _, trans := range []bool{false, true} {
		s := src
		if trans {
			s = srcT
		}
		buf := make([]float32, 200)
		got := PackPanels(buf, s, k, n, ld, trans)
		if len(got) != k*24 || &got[0] != &buf[0] {
			t.Fatalf("trans %v: len %d (want %d) or dst not reused", trans, len(got), k*24)
		}
		for j := 0; j < 24; j++ {
			q, pw := j/16, 16
			if q == 1 {
				pw = 8
			}
			for p := 0; p < k; p++ {
				want := float32(0)
				if j < n {
					want = src[p*ld+j]
				}
				if v := got[16*q*k+p*pw+j%16]; v != want {
					t.Fatalf("trans %v: (%d, %d) = %v, want %v", trans, p, j, v, want)
				}
			}
		}
	}
}
