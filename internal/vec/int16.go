package vec

// This file: 16-bit integer kernels, the int8 path's companion for the
// layers whose inputs 8 bits code too coarsely (the engine's last score
// layers): AVX-512 VNNI VPDPWSSD (int16 pairs, twice the multiply-adds of a
// float32 FMA per instruction) with plain-Go twins, bit-exact like the
// int8 kernels. Codes are symmetric: q = RoundToEven(x·L/m) for a row (or
// column) whose largest magnitude is m. The int32 sums must not overflow:
// k·La·Lw < 2³¹ for depth k, activation levels La and weight levels Lw
// (I16Levels chooses them).

import "math"

// I16ActLevels is the number of levels a side of zero of the activation
// codes of the int16 kernels (12 bits and a sign).
const I16ActLevels = 4095

// I16WeightLevels returns the levels a side of zero of the weight codes for
// depth k: as many as keep k·I16ActLevels·Lw below 2³¹, at most 32767.
func I16WeightLevels(k int) float32 {
	k = max(RoundUp2(k), 2)
	return float32(min(32767, (math.MaxInt32)/(k*I16ActLevels)))
}

// RoundUp2 rounds n up to a multiple of 2 (VPDPWSSD sums two products).
func RoundUp2(n int) int { return (n + 1) &^ 1 }

// QuantizeRows16 codes rows rows of cols values of x (row i at x[i*ldx:])
// as int16 in dst (row i at dst[i*ldd:], RoundUp2(cols) codes, the padding
// 0) with I16ActLevels levels and writes each row's scale (m/I16ActLevels,
// 0 for an all-zero row) into scale[i]. Values must be finite.
func QuantizeRows16(dst []int16, ldd int, scale []float32, x []float32, ldx, rows, cols int) {
	if rows <= 0 {
		return
	}
	cp := RoundUp2(cols)
	_ = scale[rows-1]
	if cols > 0 {
		_ = x[(rows-1)*ldx+cols-1]
	}
	if cp > 0 {
		_ = dst[(rows-1)*ldd+cp-1]
	}
	if use.VNNI && cols > 0 {
		quantizeRows16Asm(&dst[0], ldd, &scale[0], &x[0], ldx, rows, cols)
		return
	}
	quantizeRows16Go(dst, ldd, scale, x, ldx, rows, cols)
}

// quantizeRows16Go is the plain-Go twin of quantizeRows16Asm.
func quantizeRows16Go(dst []int16, ldd int, scale []float32, x []float32, ldx, rows, cols int) {
	cp := RoundUp2(cols)
	for i := 0; i < rows; i++ {
		row := x[i*ldx : i*ldx+cols]
		var m float32
		for _, v := range row {
			m = max(m, float32(math.Abs(float64(v))))
		}
		s, inv := rowScale(m, I16ActLevels)
		scale[i] = s
		out := dst[i*ldd : i*ldd+cp]
		for j, v := range row {
			out[j] = int16(code(v, inv, math.MinInt16, math.MaxInt16))
		}
		clear(out[cols:])
	}
}

// QuantizePanels16 codes the k×n matrix B (element (p, j) at src[p*ld+j],
// or src[j*ld+p] if trans) as int16 with one scale per column (scale[j] =
// max_p |B[p][j]| / I16WeightLevels(k)) in the layout of Tile12x16I16:
// panels of I8Panel columns, panel q at dst[q·16·RoundUp2(k):], within a
// panel code 2·j + r of pair t holding B[2t+r][16q+j]; rows past k and
// columns past n are zero. scale needs RoundUp16(n) values. dst is reused
// if large enough.
func QuantizePanels16(dst []int16, scale []float32, src []float32, k, n, ld int, trans bool) []int16 {
	kp, npad := RoundUp2(k), RoundUp16(n)
	if cap(dst) < kp*npad {
		dst = make([]int16, kp*npad)
	}
	dst = dst[:kp*npad]
	clear(dst)
	scale = scale[:npad]
	lw := I16WeightLevels(k)
	for j := 0; j < npad; j++ {
		scale[j] = 0
		if j >= n {
			continue
		}
		base := (j/I8Panel)*I8Panel*kp + (j%I8Panel)*2
		at := func(p int) float32 {
			if trans {
				return src[j*ld+p]
			}
			return src[p*ld+j]
		}
		var m float32
		for p := 0; p < k; p++ {
			m = max(m, float32(math.Abs(float64(at(p)))))
		}
		s, inv := rowScale(m, lw)
		scale[j] = s
		for p := 0; p < k; p++ {
			dst[base+(p/2)*2*I8Panel+p%2] = int16(code(at(p), inv, -int32(lw), int32(lw)))
		}
	}
	return dst
}

// Tile12x16I16 computes the 12×16 tile C[0:12, 0:16] = epilogue(v) with
//
//	v[i][j] = float32(Σ_p A[i][p]·B[p][j]) · cscale[j] · rscale[i]
//
// (the sum in int32), where A is 12 rows of k int16 codes (row i at
// a[i*lda:], k even), B is one panel of QuantizePanels16, and the epilogue
// is that of the float32 tiles. cscale, bias and alpha (when their flag is
// set) need 16 values, rscale 12. It panics if a slice is too short or k
// is odd.
func Tile12x16I16(k int, a []int16, lda int, b []int16, c []float32, ldc int, f TileFlags, rscale, cscale, bias, alpha []float32) {
	if k%2 != 0 || k < 0 {
		panic("vec.Tile12x16I16: depth not a non-negative even number")
	}
	var pa, pb *int16
	if k > 0 {
		_ = a[(I8TileRows-1)*lda+k-1]
		_ = b[k*I8Panel-1]
		pa, pb = &a[0], &b[0]
	}
	_ = c[(I8TileRows-1)*ldc+I8Panel-1]
	_, _ = rscale[I8TileRows-1], cscale[I8Panel-1]
	var pbias, palpha *float32
	if f&TileBias != 0 {
		pbias = &bias[:I8Panel][0]
	}
	if f&TilePReLU != 0 {
		palpha = &alpha[:I8Panel][0]
	}
	if use.VNNI {
		tile12x16I16Asm(k/2, pa, lda*2, pb, &c[0], ldc, int(f), &zeroComp[0], &rscale[0], &cscale[0], pbias, palpha)
		return
	}
	tileI16Go(k, a, lda, b, c, ldc, f, rscale, cscale, bias, alpha)
}

// zeroComp is the (absent) correction of the int16 kernel, which shares
// the int8 kernel's epilogue.
var zeroComp [I8Panel]int32

// tileI16Go is the plain-Go twin of tile12x16I16Asm.
func tileI16Go(k int, a []int16, lda int, b []int16, c []float32, ldc int, f TileFlags, rscale, cscale, bias, alpha []float32) {
	var acc [I8TileRows][I8Panel]int32
	for p := 0; p < k; p++ {
		grp := b[(p/2)*2*I8Panel:]
		r := p % 2
		for i := 0; i < I8TileRows; i++ {
			av := int32(a[i*lda+p])
			row := &acc[i]
			for j := range row {
				row[j] += av * int32(grp[2*j+r])
			}
		}
	}
	tileI8Epilogue(&acc, c, ldc, f, zeroComp[:], rscale, cscale, bias, alpha)
}

// Tile12x32I16 is Tile12x16I16 for two consecutive panels of
// QuantizePanels16 at once (b holds 2·16·k codes; C[0:12, 0:32]; cscale,
// bias and alpha 32 values): the same results, with fewer loads per
// multiply-add where the VNNI kernel runs.
func Tile12x32I16(k int, a []int16, lda int, b []int16, c []float32, ldc int, f TileFlags, rscale, cscale, bias, alpha []float32) {
	if !use.VNNI || k == 0 {
		Tile12x16I16(k, a, lda, b, c, ldc, f, rscale, cscale, bias, alpha)
		Tile12x16I16(k, a, lda, b[k*I8Panel:], c[I8Panel:], ldc, f, rscale, cscale[I8Panel:], sub(bias, f&TileBias), sub(alpha, f&TilePReLU))
		return
	}
	if k%2 != 0 || k < 0 {
		panic("vec.Tile12x32I16: depth not a non-negative even number")
	}
	_ = a[(I8TileRows-1)*lda+k-1]
	_ = b[2*k*I8Panel-1]
	_ = c[(I8TileRows-1)*ldc+2*I8Panel-1]
	_, _ = rscale[I8TileRows-1], cscale[2*I8Panel-1]
	var pbias, palpha *float32
	if f&TileBias != 0 {
		pbias = &bias[:2*I8Panel][0]
	}
	if f&TilePReLU != 0 {
		palpha = &alpha[:2*I8Panel][0]
	}
	tile12x32I16Asm(k/2, &a[0], lda*2, &b[0], 2*k*I8Panel, &c[0], ldc, int(f), nil, &rscale[0], &cscale[0], pbias, palpha)
}
