package vec

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// tileRef is a float64 reference for the tile kernels (TileRows rows).
func tileRef(w, k int, a []float32, lda int, b []float32, c []float32, ldc int, f TileFlags, bias, alpha []float32) {
	tileRefRows(TileRows, w, k, a, lda, b, c, ldc, f, bias, alpha)
}

func tileRefRows(rows, w, k int, a []float32, lda int, b []float32, c []float32, ldc int, f TileFlags, bias, alpha []float32) {
	for i := 0; i < rows; i++ {
		for j := 0; j < w; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += float64(a[i*lda+p]) * float64(b[p*w+j])
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

// TestTileTwins checks both tile kernels, assembly and Go, against a float64
// reference for every epilogue, several depths and strides, and checks that
// nothing outside the tile is written.
func TestTileTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, asm := range []bool{false, true} {
		prev := SetEngineAsm(asm)
		if asm && !EngineAsm() {
			SetEngineAsm(prev)
			t.Log("no AVX2/FMA: assembly twin skipped")
			continue
		}
		for _, w := range []int{8, 16} {
			for _, k := range []int{0, 1, 2, 7, 50, 128} {
				for f := TileFlags(0); f < 8; f++ {
					lda, ldc := k+3, w+5
					a := randSlice(r, (TileRows-1)*lda+k+1)
					b := randSlice(r, k*w)
					bias, alpha := randSlice(r, w), randSlice(r, w)
					c0 := randSlice(r, TileRows*ldc)
					got := append([]float32(nil), c0...)
					want := append([]float32(nil), c0...)
					tile(w, k, a, lda, b, got, ldc, f, bias, alpha)
					tileRef(w, k, a, lda, b, want, ldc, f, bias, alpha)
					for i := range got {
						if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i])))*float64(1+k/16) {
							t.Fatalf("asm=%v w=%d k=%d flags=%b: c[%d] = %v, want %v", asm, w, k, f, i, got[i], want[i])
						}
						if i%ldc >= w && got[i] != c0[i] {
							t.Fatalf("asm=%v w=%d k=%d: wrote outside the tile at %d", asm, w, k, i)
						}
					}
				}
			}
		}
		SetEngineAsm(prev)
	}
}

// TestTile12x16 checks the 12-row tile, AVX-512 and fallback, against the
// float64 reference, including that nothing outside the tile is written.
func TestTile12x16(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, on := range []bool{false, true} {
		prev := SetEngine512(on)
		for _, k := range []int{0, 1, 5, 50, 128} {
			for f := TileFlags(0); f < 8; f++ {
				lda, ldc := k+3, 16+5
				a := randSlice(r, (TileRows512-1)*lda+k+1)
				b := randSlice(r, k*16)
				bias, alpha := randSlice(r, 16), randSlice(r, 16)
				c0 := randSlice(r, TileRows512*ldc)
				got := append([]float32(nil), c0...)
				want := append([]float32(nil), c0...)
				Tile12x16(k, a, lda, b, got, ldc, f, bias, alpha)
				tileRefRows(TileRows512, 16, k, a, lda, b, want, ldc, f, bias, alpha)
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i])))*float64(1+k/16) {
						t.Fatalf("avx512=%v k=%d flags=%b: c[%d] = %v, want %v", Engine512(), k, f, i, got[i], want[i])
					}
					if i%ldc >= 16 && got[i] != c0[i] {
						t.Fatalf("avx512=%v k=%d: wrote outside the tile at %d", Engine512(), k, i)
					}
				}
			}
		}
		SetEngine512(prev)
	}
}

func TestExpPoly(t *testing.T) {
	for x := float32(-87); x <= 0; x += 0.0137 {
		got, want := float64(ExpPoly(x)), math.Exp(float64(x))
		if math.Abs(got-want) > 3e-7*want {
			t.Fatalf("ExpPoly(%v) = %v, want %v (rel %g)", x, got, want, math.Abs(got-want)/want)
		}
	}
	if v := ExpPoly(float32(math.Inf(-1))); v < 0 || v > 2e-38 {
		t.Fatalf("ExpPoly(-Inf) = %v, want ~0", v)
	}
}

// TestSoftmaxTwins compares both softmax kernels with a float64 softmax,
// including -Inf padding and large logits.
func TestSoftmaxTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, asm := range []bool{false, true} {
		prev := SetEngineAsm(asm)
		for _, cols := range []int{8, 16, 56, 64} {
			rows, ld := 7, cols+4
			x := randSlice(r, rows*ld)
			for i := range x {
				x[i] *= 10
			}
			x[3] = float32(math.Inf(-1))
			x[ld+cols-1] = float32(math.Inf(-1))
			x[2*ld] = 80
			want := make([]float64, len(x))
			for i := 0; i < rows; i++ {
				m := math.Inf(-1)
				for j := 0; j < cols; j++ {
					m = math.Max(m, float64(x[i*ld+j]))
				}
				var s float64
				for j := 0; j < cols; j++ {
					want[i*ld+j] = math.Exp(float64(x[i*ld+j]) - m)
					s += want[i*ld+j]
				}
				for j := 0; j < cols; j++ {
					want[i*ld+j] /= s
				}
				for j := cols; j < ld; j++ {
					want[i*ld+j] = float64(x[i*ld+j])
				}
			}
			SoftmaxRows(x, rows, cols, ld)
			for i := range x {
				if d := math.Abs(float64(x[i]) - want[i]); d > 1e-6*math.Max(math.Abs(want[i]), 1e-3) {
					t.Fatalf("asm=%v cols=%d: x[%d] = %v, want %v", asm, cols, i, x[i], want[i])
				}
			}
		}
		SetEngineAsm(prev)
	}
}

func BenchmarkTile6x16(b *testing.B) {
	const k = 128
	r := rand.New(rand.NewPCG(5, 6))
	a, p, c := randSlice(r, TileRows*k), randSlice(r, k*16), make([]float32, TileRows*16)
	bias := randSlice(r, 16)
	b.SetBytes(0)
	for b.Loop() {
		Tile6x16(k, a, k, p, c, 16, TileBias|TilePReLU, bias, bias)
	}
	b.ReportMetric(float64(2*TileRows*16*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkSoftmax56(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	x := randSlice(r, 48*56)
	for b.Loop() {
		SoftmaxRows(x, 48, 56, 56)
	}
	b.ReportMetric(float64(48*b.N)/b.Elapsed().Seconds()/1e6, "Mrows/s")
}

func BenchmarkTile6x8(b *testing.B) {
	const k = 128
	r := rand.New(rand.NewPCG(5, 6))
	a, p, c := randSlice(r, TileRows*k), randSlice(r, k*8), make([]float32, TileRows*8)
	bias := randSlice(r, 8)
	for b.Loop() {
		Tile6x8(k, a, k, p, c, 8, TileBias|TilePReLU, bias, bias)
	}
	b.ReportMetric(float64(2*TileRows*8*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
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
