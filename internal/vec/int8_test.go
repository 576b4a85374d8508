package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// int8Variants are the selections the int8 tests compare: the plain-Go
// twins and, where the CPU has them, the VNNI kernels.
func int8Variants(t testing.TB) []Kernels {
	v := []Kernels{{}}
	if have.VNNI {
		v = append(v, have)
	} else {
		t.Log("no AVX-512 VNNI here: only the plain-Go twins run")
	}
	return v
}

func randRowsF32(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(5)-2)))
	}
	return x
}

// TestQuantizeRowsTwins codes random rows (every tail length, all-zero
// rows, negative values in unsigned rows) with both twins: the codes and
// scales agree exactly, and each code is within half a step of its value.
func TestQuantizeRowsTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 1))
	for _, cols := range []int{1, 3, 4, 5, 15, 16, 17, 31, 50, 51, 64, 128, 130} {
		for _, signed := range []bool{true, false} {
			const rows = 13
			ldx, ldd := cols+3, RoundUp4(cols)+5
			x := randRowsF32(r, rows*ldx)
			clear(x[2*ldx : 2*ldx+cols]) // an all-zero row
			if !signed {
				for i := range x {
					if i%ldx != 0 || i/ldx == 5 { // row 5 keeps its negatives
						x[i] = float32(math.Abs(float64(x[i])))
					}
				}
			}
			var got [][]uint8
			var gotS [][]float32
			for _, k := range int8Variants(t) {
				dst := make([]uint8, rows*ldd)
				for i := range dst {
					dst[i] = 0xAA // bytes past each row's padding stay untouched
				}
				s := make([]float32, rows)
				withKernels(t, k, func() { QuantizeRows(dst, ldd, s, x, ldx, rows, cols, signed) })
				got, gotS = append(got, dst), append(gotS, s)
			}
			for v := 1; v < len(got); v++ {
				if !slices.Equal(got[0], got[v]) || !slices.Equal(gotS[0], gotS[v]) {
					t.Fatalf("cols=%d signed=%v: VNNI codes or scales differ from the twin's", cols, signed)
				}
			}
			dst, s := got[0], gotS[0]
			for i := 0; i < rows; i++ {
				for j := 0; j < ldd; j++ {
					c := dst[i*ldd+j]
					switch {
					case j >= RoundUp4(cols):
						if c != 0xAA {
							t.Fatalf("cols=%d: byte %d past row %d's padding written", cols, j, i)
						}
					case j >= cols:
						if want := map[bool]uint8{true: 128, false: 0}[signed]; c != want {
							t.Fatalf("cols=%d: padding byte %d of row %d is %d, want %d", cols, j, i, c, want)
						}
					default:
						v := float64(x[i*ldx+j])
						q := float64(c)
						if signed {
							q -= 128
						} else {
							v = max(v, 0)
						}
						if err := math.Abs(q*float64(s[i]) - v); err > 0.5001*float64(s[i]) {
							t.Fatalf("cols=%d signed=%v row %d col %d: %v coded %d (scale %g), error %g", cols, signed, i, j, v, c, s[i], err)
						}
					}
				}
			}
			if s[2] != 0 {
				t.Fatalf("cols=%d: all-zero row has scale %g", cols, s[2])
			}
		}
	}
}

// TestQuantizePanels checks the panel layout, scales and corrections
// against a direct computation, for both orientations of the source.
func TestQuantizePanels(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 2))
	for _, trans := range []bool{false, true} {
		k, n := 50, 37
		ld := n + 2
		if trans {
			ld = k + 1
		}
		src := randRowsF32(r, 64*64)
		at := func(p, j int) float32 {
			if trans {
				return src[j*ld+p]
			}
			return src[p*ld+j]
		}
		npad, kp := RoundUp16(n), RoundUp4(k)
		scale, comp := make([]float32, npad), make([]int32, npad)
		dst := QuantizePanels(nil, scale, comp, src, k, n, ld, trans)
		if len(dst) != kp*npad {
			t.Fatalf("len %d, want %d", len(dst), kp*npad)
		}
		for j := 0; j < npad; j++ {
			var m float64
			for p := 0; p < k && j < n; p++ {
				m = max(m, math.Abs(float64(at(p, j))))
			}
			if want := float32(m) / 127; scale[j] != want {
				t.Fatalf("trans=%v: scale[%d] = %g, want %g", trans, j, scale[j], want)
			}
			var sum int32
			for p := 0; p < kp; p++ {
				q := dst[(j/16)*16*kp+(p/4)*64+(j%16)*4+p%4]
				sum += int32(q)
				var want float64
				if p < k && j < n {
					want = float64(at(p, j))
				}
				if math.Abs(float64(q)*float64(scale[j])-want) > 0.5001*float64(scale[j]) {
					t.Fatalf("trans=%v: B[%d][%d] = %g coded %d (scale %g)", trans, p, j, want, q, scale[j])
				}
			}
			if comp[j] != 128*sum {
				t.Fatalf("comp[%d] = %d, want %d", j, comp[j], 128*sum)
			}
		}
	}
}

// TestTile12x16I8Twins runs the VNNI kernel and its twin on the same
// random codes for every epilogue and several depths and requires equal
// outputs; it also checks the twin against a float64 evaluation of the
// dequantized product (the kernel's meaning).
func TestTile12x16I8Twins(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 3))
	for _, k := range []int{0, 4, 8, 52, 128} {
		for f := TileFlags(0); f < 16; f++ {
			lda, ldc := k+8, 16+3
			a := make([]uint8, I8TileRows*lda)
			for i := range a {
				a[i] = uint8(r.IntN(256))
			}
			b := make([]int8, k*16)
			for i := range b {
				b[i] = int8(r.IntN(255) - 127)
			}
			comp, rs, cs := make([]int32, 16), randRowsF32(r, 12), randRowsF32(r, 16)
			for j := range comp {
				comp[j] = int32(r.IntN(1 << 16))
			}
			bias, alpha := randRowsF32(r, 16), randRowsF32(r, 16)
			c0 := randRowsF32(r, I8TileRows*ldc)
			var outs [][]float32
			for _, kv := range int8Variants(t) {
				c := slices.Clone(c0)
				withKernels(t, kv, func() { Tile12x16I8(k, a, lda, b, c, ldc, f, comp, rs, cs, bias, alpha) })
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
			for i := 0; i < I8TileRows; i++ {
				for j := 0; j < 16; j++ {
					var acc int64
					for p := 0; p < k; p++ {
						acc += int64(a[i*lda+p]) * int64(b[(p/4)*64+4*j+p%4])
					}
					v := float64(acc-int64(comp[j])) * float64(cs[j]) * float64(rs[i])
					if f&TileAccumulate != 0 {
						v += float64(c0[i*ldc+j])
					}
					if f&TileBias != 0 {
						v += float64(bias[j])
					}
					if f&TilePReLU != 0 && v <= 0 {
						v *= float64(alpha[j])
					}
					if f&TileReLU != 0 && v < 0 {
						v = 0
					}
					got := float64(outs[0][i*ldc+j])
					if math.Abs(got-v) > 1e-5*(math.Abs(v)+math.Abs(float64(c0[i*ldc+j]))+math.Abs(float64(bias[j]))+1e-3) {
						t.Fatalf("%s: C[%d][%d] = %v, float64 reference %v", name, i, j, got, v)
					}
				}
				for j := 16; j < ldc; j++ {
					if outs[0][i*ldc+j] != c0[i*ldc+j] {
						t.Fatalf("%s: C[%d][%d] outside the tile written", name, i, j)
					}
				}
			}
		}
	}
}

// TestInt8Product quantizes a random float32 product end to end
// (QuantizeRows, QuantizePanels, Tile12x16I8) and bounds its error by the
// documented half-step bound.
func TestInt8Product(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 4))
	const k, n = 128, 32
	x, w := randRowsF32(r, I8TileRows*k), randRowsF32(r, k*n)
	for _, signed := range []bool{true, false} {
		if !signed {
			for i := range x {
				x[i] = float32(math.Abs(float64(x[i])))
			}
		}
		for _, kv := range int8Variants(t) {
			withKernels(t, kv, func() {
				qa, rs := make([]uint8, I8TileRows*k), make([]float32, I8TileRows)
				QuantizeRows(qa, k, rs, x, k, I8TileRows, k, signed)
				cs, comp := make([]float32, n), make([]int32, n)
				qb := QuantizePanels(nil, cs, comp, w, k, n, n, false)
				if !signed {
					clear(comp)
				}
				c := make([]float32, I8TileRows*n)
				for q := 0; q < n/16; q++ {
					Tile12x16I8(k, qa, k, qb[q*16*k:], c[q*16:], n, 0, comp[q*16:], rs, cs[q*16:], nil, nil)
				}
				for i := 0; i < I8TileRows; i++ {
					for j := 0; j < n; j++ {
						var want, sa, sw float64
						for p := 0; p < k; p++ {
							want += float64(x[i*k+p]) * float64(w[p*n+j])
							sa += math.Abs(float64(x[i*k+p]))
							sw += math.Abs(float64(w[p*n+j]))
						}
						bound := float64(rs[i])/2*sw + float64(cs[j])/2*sa + float64(rs[i])*float64(cs[j])/4*k
						if err := math.Abs(float64(c[i*n+j]) - want); err > bound*1.0001 {
							t.Fatalf("signed=%v C[%d][%d] = %v, want %v: error %g over the bound %g", signed, i, j, c[i*n+j], want, err, bound)
						}
					}
				}
			})
		}
	}
}

func BenchmarkTile12x16I8(b *testing.B) {
	const k = 128
	a, bp := make([]uint8, I8TileRows*k), make([]int8, k*16)
	c := make([]float32, I8TileRows*16)
	comp, rs, cs := make([]int32, 16), make([]float32, 12), make([]float32, 16)
	for b.Loop() {
		Tile12x16I8(k, a, k, bp, c, 16, TileBias|TilePReLU, comp, rs, cs, cs, cs)
	}
	b.ReportMetric(2*12*16*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gop/s")
}

func BenchmarkQuantizeRows(b *testing.B) {
	const rows, cols = 48, 128
	x, dst, s := make([]float32, rows*cols), make([]uint8, rows*cols), make([]float32, rows)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	for b.Loop() {
		QuantizeRows(dst, cols, s, x, cols, rows, cols, true)
	}
	b.SetBytes(rows * cols * 4)
}

// TestGatherI8Rows: the assembly gather and its twin give the same codes,
// scales and widened values, for a layout the assembly takes and one it
// leaves to the twin.
func TestGatherI8Rows(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 5))
	for _, shape := range [][2]int{{128, 128}, {64, 16}, {12, 24}} {
		hp, w := shape[0], shape[1]
		const items = 50
		rb := hp + 2*w + 6
		table := make([]uint8, items*rb)
		for i := range table {
			table[i] = uint8(r.IntN(256))
		}
		for i := 0; i < items; i++ { // finite float16 values
			for j := 0; j < w; j++ {
				table[i*rb+hp+2*j+1] &= 0x7b
			}
		}
		tscale := randRowsF32(r, items)
		rows := []int32{3, 49, 0, 3, 17, 22, 8}
		n, ldu := len(rows), w+5
		var outs [][]float32
		var codes [][]uint8
		for _, kv := range int8Variants(t) {
			c, s, u := make([]uint8, n*hp), make([]float32, n), make([]float32, n*ldu)
			withKernels(t, kv, func() { GatherI8Rows(c, hp, s, u, ldu, w, table, rb, tscale, rows) })
			for i, row := range rows {
				if s[i] != tscale[row] || !slices.Equal(c[i*hp:(i+1)*hp], table[int(row)*rb:int(row)*rb+hp]) {
					t.Fatalf("hp=%d w=%d vnni=%v: row %d's codes or scale wrong", hp, w, kv.VNNI, i)
				}
			}
			outs, codes = append(outs, u), append(codes, c)
		}
		for v := 1; v < len(outs); v++ {
			if !slices.Equal(outs[0], outs[v]) || !slices.Equal(codes[0], codes[v]) {
				t.Fatalf("hp=%d w=%d: assembly and twin differ", hp, w)
			}
		}
	}
}

// TestSoftmaxCodeRows: the fused AVX-512 softmax-and-code pass gives the
// codes and scales of SoftmaxRows followed by QuantizeRows, bit for bit,
// for every tail of nv, −Inf padding, and rows whose largest weight lies
// past nv.
func TestSoftmaxCodeRows(t *testing.T) {
	if !have.VNNI {
		t.Skip("no AVX-512 VNNI")
	}
	r := rand.New(rand.NewPCG(17, 6))
	for _, cols := range []int{16, 32, 64} {
		for _, nv := range []int{1, 3, 5, 15, 16, 17, 31, 50, 64} {
			if nv > cols {
				continue
			}
			const rows = 11
			ld, ldd := cols+3, RoundUp4(nv)+2
			x := randRowsF32(r, rows*ld)
			for i := range x {
				x[i] *= 4
				if i%ld >= cols-3 && i%ld < cols {
					x[i] = float32(math.Inf(-1))
				}
			}
			if nv < cols-3 {
				x[2*ld+nv] = 40 // row 2's largest weight past nv
			}
			x[4*ld] = 80
			var codes [][]uint8
			var scales [][]float32
			for _, vnni := range []bool{true, false} {
				k := have
				k.VNNI = vnni
				xc, dst, sc := slices.Clone(x), make([]uint8, rows*ldd), make([]float32, rows)
				withKernels(t, k, func() { SoftmaxCodeRows(xc, rows, cols, ld, nv, dst, ldd, sc) })
				codes, scales = append(codes, dst), append(scales, sc)
			}
			if !slices.Equal(codes[0], codes[1]) || !slices.Equal(scales[0], scales[1]) {
				t.Fatalf("cols=%d nv=%d: fused codes/scales %v %v\nvs composition %v %v", cols, nv, codes[0][:ldd], scales[0], codes[1][:ldd], scales[1])
			}
		}
	}
}
