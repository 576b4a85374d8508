package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQuantizeRows16Twins codes random rows (every tail length, an
// all-zero row) with both twins: codes and scales agree exactly, codes
// are within half a step, and nothing past a row's padding is written.
func TestQuantizeRows16Twins(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 1))
	for _, cols := range []int{1, 2, 3, 15, 16, 17, 33, 64, 127, 128} {
		const rows = 13
		ldx, ldd := cols+3, RoundUp2(cols)+3
		x := randRowsF32(r, rows*ldx)
		clear(x[4*ldx : 4*ldx+cols])
		var got [][]int16
		var gotS [][]float32
		for _, k := range int8Variants(t) {
			dst := make([]int16, rows*ldd)
			for i := range dst {
				dst[i] = 0x5555
			}
			s := make([]float32, rows)
			withKernels(t, k, func() { QuantizeRows16(dst, ldd, s, x, ldx, rows, cols) })
			got, gotS = append(got, dst), append(gotS, s)
		}
		for v := 1; v < len(got); v++ {
			if !slices.Equal(got[0], got[v]) || !slices.Equal(gotS[0], gotS[v]) {
				t.Fatalf("cols=%d: VNNI codes or scales differ from the twin's", cols)
			}
		}
		dst, s := got[0], gotS[0]
		for i := 0; i < rows; i++ {
			for j := 0; j < ldd; j++ {
				c := dst[i*ldd+j]
				switch {
				case j >= RoundUp2(cols):
					if c != 0x5555 {
						t.Fatalf("cols=%d: code %d past row %d's padding written", cols, j, i)
					}
				case j >= cols:
					if c != 0 {
						t.Fatalf("cols=%d: padding of row %d is %d", cols, i, c)
					}
				default:
					v := float64(x[i*ldx+j])
					if err := math.Abs(float64(c)*float64(s[i]) - v); err > 0.5001*float64(s[i]) || math.Abs(float64(c)) > I16ActLevels {
						t.Fatalf("cols=%d row %d col %d: %v coded %d (scale %g)", cols, i, j, v, c, s[i])
					}
				}
			}
		}
	}
}

// TestTile12x16I16Twins runs the VPDPWSSD kernel and its twin on the same
// extreme codes (the overflow bound's worst case) and random ones for
// every epilogue: the outputs agree exactly and match an int64 evaluation.
func TestTile12x16I16Twins(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 2))
	for _, k := range []int{0, 2, 6, 64, 128} {
		lw := int(I16WeightLevels(k))
		for f := TileFlags(0); f < 16; f++ {
			lda, ldc := k+6, 16+5
			a := make([]int16, I8TileRows*lda)
			b := make([]int16, k*16)
			for i := range a {
				a[i] = int16(r.IntN(2*I16ActLevels+1) - I16ActLevels)
			}
			for i := range b {
				b[i] = int16(r.IntN(2*lw+1) - lw)
			}
			if f == 0 { // all at the extremes: the largest sums
				for i := range a {
					a[i] = I16ActLevels
				}
				for i := range b {
					b[i] = int16(lw)
				}
			}
			rs, cs := randRowsF32(r, 12), randRowsF32(r, 16)
			bias, alpha := randRowsF32(r, 16), randRowsF32(r, 16)
			c0 := randRowsF32(r, I8TileRows*ldc)
			var outs [][]float32
			for _, kv := range int8Variants(t) {
				c := slices.Clone(c0)
				withKernels(t, kv, func() { Tile12x16I16(k, a, lda, b, c, ldc, f, rs, cs, bias, alpha) })
				outs = append(outs, c)
			}
			name := fmt.Sprintf("k=%d flags=%b", k, f)
			for v := 1; v < len(outs); v++ {
				for i := range outs[0] {
					if outs[0][i] != outs[v][i] {
						t.Fatalf("%s: element %d: VNNI %v, twin %v", name, i, outs[v][i], outs[0][i])
					}
				}
			}
			if f != 0 {
				continue
			}
			for i := 0; i < I8TileRows; i++ {
				for j := 0; j < 16; j++ {
					var acc int64
					for p := 0; p < k; p++ {
						acc += int64(a[i*lda+p]) * int64(b[(p/2)*32+2*j+p%2])
					}
					if acc > math.MaxInt32 {
						t.Fatalf("%s: sum %d overflows int32: I16WeightLevels too large", name, acc)
					}
					want := float32(float32(acc)*cs[j]) * rs[i]
					if got := outs[0][i*ldc+j]; got != want {
						t.Fatalf("%s: C[%d][%d] = %v, want %v", name, i, j, got, want)
					}
				}
			}
		}
	}
}

// TestInt16Product bounds the error of a quantized float32 product
// (QuantizeRows16, QuantizePanels16, Tile12x16I16) by half a step in each
// factor.
func TestInt16Product(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 3))
	const k, n = 128, 32
	x, w := randRowsF32(r, I8TileRows*k), randRowsF32(r, k*n)
	for _, kv := range int8Variants(t) {
		withKernels(t, kv, func() {
			qa, rs := make([]int16, I8TileRows*k), make([]float32, I8TileRows)
			QuantizeRows16(qa, k, rs, x, k, I8TileRows, k)
			cs := make([]float32, n)
			qb := QuantizePanels16(nil, cs, w, k, n, n, false)
			c := make([]float32, I8TileRows*n)
			for q := 0; q < n/16; q++ {
				Tile12x16I16(k, qa, k, qb[q*16*k:], c[q*16:], n, 0, rs, cs[q*16:], nil, nil)
			}
			for i := 0; i < I8TileRows; i++ {
				for j := 0; j < n; j++ {
					var want, sa, sw float64
					for p := 0; p < k; p++ {
						want += float64(x[i*k+p]) * float64(w[p*n+j])
						sa += math.Abs(float64(x[i*k+p]))
						sw += math.Abs(float64(w[p*n+j]))
					}
					bound := float64(rs[i])/2*sw + float64(cs[j])/2*sa + float64(rs[i])*float64(cs[j])/4*k + 1e-6*math.Abs(want)
					if err := math.Abs(float64(c[i*n+j]) - want); err > bound {
						t.Fatalf("C[%d][%d] = %v, want %v: error %g over the bound %g", i, j, c[i*n+j], want, err, bound)
					}
				}
			}
		})
	}
}

func BenchmarkTile12x16I16(b *testing.B) {
	const k = 128
	a, bp := make([]int16, I8TileRows*k), make([]int16, k*16)
	c := make([]float32, I8TileRows*16)
	rs, cs := make([]float32, 12), make([]float32, 16)
	for b.Loop() {
		Tile12x16I16(k, a, k, bp, c, 16, TileBias|TilePReLU, rs, cs, cs, cs)
	}
	b.ReportMetric(2*12*16*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gop/s")
}

// TestTile12x32Twins: the two-panel int8 and int16 kernels give exactly
// the results of two one-panel calls (and of the twins), for every
// epilogue.
func TestTile12x32Twins(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 4))
	for _, k := range []int{0, 4, 52, 128} {
		for f := TileFlags(0); f < 16; f++ {
			lda, ldc := k+4, 32+3
			a8, b8 := make([]uint8, I8TileRows*lda), make([]int8, 2*16*k)
			a16, b16 := make([]int16, I8TileRows*lda), make([]int16, 2*16*k)
			for i := range a8 {
				a8[i], a16[i] = uint8(r.IntN(256)), int16(r.IntN(8191)-4095)
			}
			for i := range b8 {
				b8[i], b16[i] = int8(r.IntN(255)-127), int16(r.IntN(8191)-4095)
			}
			comp := make([]int32, 32)
			for j := range comp {
				comp[j] = int32(r.IntN(1 << 16))
			}
			rs, cs, bias, alpha := randRowsF32(r, 12), randRowsF32(r, 32), randRowsF32(r, 32), randRowsF32(r, 32)
			c0 := randRowsF32(r, I8TileRows*ldc)
			for _, kv := range int8Variants(t) {
				withKernels(t, kv, func() {
					want8, got8 := slices.Clone(c0), slices.Clone(c0)
					want16, got16 := slices.Clone(c0), slices.Clone(c0)
					for q := 0; q < 2; q++ {
						Tile12x16I8(k, a8, lda, b8[q*16*k:], want8[q*16:], ldc, f, comp[q*16:], rs, cs[q*16:], bias[q*16:], alpha[q*16:])
						Tile12x16I16(k, a16, lda, b16[q*16*k:], want16[q*16:], ldc, f, rs, cs[q*16:], bias[q*16:], alpha[q*16:])
					}
					Tile12x32I8(k, a8, lda, b8, got8, ldc, f, comp, rs, cs, bias, alpha)
					Tile12x32I16(k, a16, lda, b16, got16, ldc, f, rs, cs, bias, alpha)
					for i := range c0 {
						if got8[i] != want8[i] || got16[i] != want16[i] {
							t.Fatalf("vnni=%v k=%d flags=%b element %d: 12×32 %v/%v, 12×16 %v/%v", kv.VNNI, k, f, i, got8[i], got16[i], want8[i], want16[i])
						}
					}
				})
			}
		}
	}
}

// TestNilComp: a nil correction is the all-zero one, for the one- and
// two-panel int8 kernels and their twins.
func TestNilComp(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 5))
	const k, lda, ldc = 52, 56, 32
	a, b := make([]uint8, I8TileRows*lda), make([]int8, 2*16*k)
	for i := range a {
		a[i] = uint8(r.IntN(256))
	}
	for i := range b {
		b[i] = int8(r.IntN(255) - 127)
	}
	rs, cs, alpha := randRowsF32(r, 12), randRowsF32(r, 32), randRowsF32(r, 32)
	c0 := randRowsF32(r, I8TileRows*ldc)
	f := TileAccumulate | TilePReLU
	for _, kv := range int8Variants(t) {
		withKernels(t, kv, func() {
			want, got, got16 := slices.Clone(c0), slices.Clone(c0), slices.Clone(c0)
			Tile12x32I8(k, a, lda, b, want, ldc, f, make([]int32, 32), rs, cs, nil, alpha)
			Tile12x32I8(k, a, lda, b, got, ldc, f, nil, rs, cs, nil, alpha)
			Tile12x16I8(k, a, lda, b, got16, ldc, f, nil, rs, cs, nil, alpha)
			Tile12x16I8(k, a, lda, b[16*k:], got16[16:], ldc, f, nil, rs, cs[16:], nil, alpha[16:])
			if !slices.Equal(want, got) || !slices.Equal(want, got16) {
				t.Fatalf("vnni=%v: nil comp differs from zeros", kv.VNNI)
			}
		})
	}
}
