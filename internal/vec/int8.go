package vec

// This file: 8-bit integer kernels for reduced-precision scoring, with
// AVX-512 VNNI assembly (int8_amd64.s, VPDPBUSD) and plain-Go twins that
// give bit-identical results (the products and sums are exact int32; the
// float32 steps around them are the same operations in the same order).
//
//	QuantizeRows    float32 rows → uint8 codes, one dynamic scale per row
//	QuantizePanels  a float32 weight matrix → int8 panels, one scale per column
//	Tile12x16I8     C = epilogue(dequantize(A·B)) for one 12×16 tile
//
// An activation row x is coded as u = RoundToEven(x·127/m) + 128 (signed
// rows, m = max|x|) or u = RoundToEven(x·255/m) (rows of values ≥ 0, such
// as softmax weights); a weight column w as q = RoundToEven(w·127/m). The
// kernel sums u·q in int32 (VPDPBUSD multiplies unsigned by signed bytes),
// subtracts comp[j] = 128·Σ_p q[p][j] for signed rows, and scales by the
// row's and the column's scale. The worst-case error of one product sum is
// about (m_row/254)·Σ|w| + (m_col/254)·Σ|x| (half a step in each factor);
// the engine's tests bound what it does to the scores and to top-K.

import (
	"math"
	"unsafe"
)

// Tile shape of the int8 kernel.
const (
	// I8TileRows is the number of rows of A and C that Tile12x16I8 covers.
	I8TileRows = 12
	// I8Panel is the number of columns of one int8 panel (and of the tile).
	I8Panel = 16
)

// RoundUp4 rounds n up to a multiple of 4: the depth granularity of the
// int8 kernel (VPDPBUSD sums four byte products per lane).
func RoundUp4(n int) int { return (n + 3) &^ 3 }

// RoundUp16 rounds n up to a multiple of I8Panel.
func RoundUp16(n int) int { return (n + 15) &^ 15 }

// QuantizeRows codes rows rows of cols values of x (row i at x[i*ldx:]) as
// bytes in dst (row i at dst[i*ldd:], RoundUp4(cols) bytes, the padding
// coding 0) and writes each row's scale into scale[i]. signed rows map
// [-m, m] to codes 1..255 around 128 (scale m/127); unsigned rows map
// [0, m] to 0..255 (scale m/255; negative values code 0). m is the row's
// largest |x|; an all-zero row has scale 0. Values must be finite. It
// panics if a slice is too short.
func QuantizeRows(dst []uint8, ldd int, scale []float32, x []float32, ldx, rows, cols int, signed bool) {
	if rows <= 0 {
		return
	}
	cp := RoundUp4(cols)
	_ = scale[rows-1]
	if cols > 0 {
		_ = x[(rows-1)*ldx+cols-1]
	}
	if cp > 0 {
		_ = dst[(rows-1)*ldd+cp-1]
	}
	if use.VNNI && cols > 0 {
		quantizeRowsAsm(&dst[0], ldd, &scale[0], &x[0], ldx, rows, cols, signed)
		return
	}
	quantizeRowsGo(dst, ldd, scale, x, ldx, rows, cols, signed)
}

// rowScale returns the scale and its inverse for a row (or column) whose
// largest magnitude is m, coded with levels steps.
func rowScale(m, levels float32) (s, inv float32) {
	if m == 0 {
		return 0, 0
	}
	return m / levels, levels / m
}

// code rounds v·inv to the nearest integer (ties to even) and clamps it
// to [lo, hi]: VCVTPS2DQ under the default rounding, then saturation.
func code(v, inv float32, lo, hi int32) int32 {
	q := int32(math.RoundToEven(float64(v * inv)))
	return min(max(q, lo), hi)
}

// quantizeRowsGo is the plain-Go twin of quantizeRowsAsm.
func quantizeRowsGo(dst []uint8, ldd int, scale []float32, x []float32, ldx, rows, cols int, signed bool) {
	cp := RoundUp4(cols)
	for i := 0; i < rows; i++ {
		row := x[i*ldx : i*ldx+cols]
		var m float32
		for _, v := range row {
			m = max(m, float32(math.Abs(float64(v))))
		}
		out := dst[i*ldd : i*ldd+cp]
		if signed {
			s, inv := rowScale(m, 127)
			scale[i] = s
			for j, v := range row {
				out[j] = uint8(code(v, inv, -128, 127) + 128)
			}
			for j := cols; j < cp; j++ {
				out[j] = 128
			}
			continue
		}
		s, inv := rowScale(m, 255)
		scale[i] = s
		for j, v := range row {
			out[j] = uint8(code(v, inv, 0, 255))
		}
		clear(out[cols:])
	}
}

// QuantizePanels codes the k×n matrix B (element (p, j) at src[p*ld+j],
// or at src[j*ld+p] if trans) as int8 with one scale per column (scale[j]
// = max_p |B[p][j]| / 127) and lays it out for Tile12x16I8: panels of
// I8Panel columns, panel q at dst[q·I8Panel·RoundUp4(k):], within a panel
// byte 4·j + r of group t holding B[4t+r][16q+j]. Rows past k and columns
// past n are zero. comp[j] receives 128·Σ_p code(p, j), the correction for
// signed activation codes. scale and comp need RoundUp16(n) values (the
// padding gets 0); dst is reused if large enough.
func QuantizePanels(dst []int8, scale []float32, comp []int32, src []float32, k, n, ld int, trans bool) []int8 {
	kp, npad := RoundUp4(k), RoundUp16(n)
	if cap(dst) < kp*npad {
		dst = make([]int8, kp*npad)
	}
	dst = dst[:kp*npad]
	scale, comp = scale[:npad], comp[:npad]
	at := func(p, j int) float32 {
		if trans {
			return src[j*ld+p]
		}
		return src[p*ld+j]
	}
	for j := 0; j < npad; j++ {
		base := (j/I8Panel)*I8Panel*kp + (j%I8Panel)*4
		if j >= n {
			scale[j], comp[j] = 0, 0
			for p := 0; p < kp; p++ {
				dst[base+(p/4)*4*I8Panel+p%4] = 0
			}
			continue
		}
		var m float32
		for p := 0; p < k; p++ {
			m = max(m, float32(math.Abs(float64(at(p, j)))))
		}
		s, inv := rowScale(m, 127)
		scale[j] = s
		var sum int32
		for p := 0; p < kp; p++ {
			var q int32
			if p < k {
				q = code(at(p, j), inv, -127, 127)
			}
			dst[base+(p/4)*4*I8Panel+p%4] = int8(q)
			sum += q
		}
		comp[j] = 128 * sum
	}
	return dst
}

// Tile12x16I8 computes the 12×16 tile C[0:12, 0:16] = epilogue(v) with
//
//	v[i][j] = float32(Σ_p A[i][p]·B[p][j] − comp[j]) · cscale[j] · rscale[i]
//
// (the sum in int32, then the two float32 products in that order), where A
// is 12 rows of k byte codes (row i at a[i*lda:], k a multiple of 4), B is
// one k×16 panel of QuantizePanels, and the epilogue is that of the float32
// tiles (accumulate C, bias, PReLU, ReLU, in this order). comp, cscale and
// bias and alpha (when their flag is set) need 16 values, rscale 12; a nil
// comp is all zeros (unsigned activation codes). It panics if a slice is
// too short or k is not a multiple of 4.
func Tile12x16I8(k int, a []uint8, lda int, b []int8, c []float32, ldc int, f TileFlags, comp []int32, rscale, cscale, bias, alpha []float32) {
	if comp == nil {
		comp = zeroComp[:]
	}
	if k%4 != 0 || k < 0 {
		panic("vec.Tile12x16I8: depth not a non-negative multiple of 4")
	}
	var pa *uint8
	var pb *int8
	if k > 0 {
		_ = a[(I8TileRows-1)*lda+k-1]
		_ = b[k*I8Panel-1]
		pa, pb = &a[0], &b[0]
	}
	_ = c[(I8TileRows-1)*ldc+I8Panel-1]
	_, _, _ = comp[I8Panel-1], rscale[I8TileRows-1], cscale[I8Panel-1]
	var pbias, palpha *float32
	if f&TileBias != 0 {
		pbias = &bias[:I8Panel][0]
	}
	if f&TilePReLU != 0 {
		palpha = &alpha[:I8Panel][0]
	}
	if use.VNNI {
		tile12x16I8Asm(k/4, pa, lda, pb, &c[0], ldc, int(f), &comp[0], &rscale[0], &cscale[0], pbias, palpha)
		return
	}
	tileI8Go(k, a, lda, b, c, ldc, f, comp, rscale, cscale, bias, alpha)
}

// tileI8Go is the plain-Go twin of tile12x16I8Asm.
func tileI8Go(k int, a []uint8, lda int, b []int8, c []float32, ldc int, f TileFlags, comp []int32, rscale, cscale, bias, alpha []float32) {
	var acc [I8TileRows][I8Panel]int32
	for p := 0; p < k; p++ {
		grp := b[(p/4)*4*I8Panel:]
		r := p % 4
		for i := 0; i < I8TileRows; i++ {
			av := int32(a[i*lda+p])
			row := &acc[i]
			for j := range row {
				row[j] += av * int32(grp[4*j+r])
			}
		}
	}
	tileI8Epilogue(&acc, c, ldc, f, comp, rscale, cscale, bias, alpha)
}

// tileI8Epilogue dequantizes the int32 tile acc and applies the epilogue:
// the twin of the integer kernels' epilogue.
func tileI8Epilogue(acc *[I8TileRows][I8Panel]int32, c []float32, ldc int, f TileFlags, comp []int32, rscale, cscale, bias, alpha []float32) {
	for i := 0; i < I8TileRows; i++ {
		dst := c[i*ldc : i*ldc+I8Panel]
		for j := range dst {
			v := float32(acc[i][j] - comp[j])
			v *= cscale[j]
			v *= rscale[i]
			if f&TileAccumulate != 0 {
				v += dst[j]
			}
			if f&TileBias != 0 {
				v += bias[j]
			}
			if f&TilePReLU != 0 && v <= 0 {
				v *= alpha[j]
			}
			if f&TileReLU != 0 && !(v > 0) {
				v = 0
			}
			dst[j] = v
		}
	}
}

// Tile12x32I8 is Tile12x16I8 for two consecutive panels of QuantizePanels
// at once (b holds 2·16·k codes; C[0:12, 0:32]; comp, cscale, bias and
// alpha 32 values): the same results, with fewer loads per multiply-add
// where the VNNI kernel runs.
func Tile12x32I8(k int, a []uint8, lda int, b []int8, c []float32, ldc int, f TileFlags, comp []int32, rscale, cscale, bias, alpha []float32) {
	if !use.VNNI || k == 0 {
		comp2 := comp
		if comp != nil {
			comp2 = comp[I8Panel:]
		}
		Tile12x16I8(k, a, lda, b, c, ldc, f, comp, rscale, cscale, bias, alpha)
		Tile12x16I8(k, a, lda, b[k*I8Panel:], c[I8Panel:], ldc, f, comp2, rscale, cscale[I8Panel:], sub(bias, f&TileBias), sub(alpha, f&TilePReLU))
		return
	}
	if k%4 != 0 || k < 0 {
		panic("vec.Tile12x32I8: depth not a non-negative multiple of 4")
	}
	_ = a[(I8TileRows-1)*lda+k-1]
	_ = b[2*k*I8Panel-1]
	_ = c[(I8TileRows-1)*ldc+2*I8Panel-1]
	_, _ = rscale[I8TileRows-1], cscale[2*I8Panel-1]
	var pcomp *int32
	if comp != nil {
		pcomp = &comp[:2*I8Panel][0]
	}
	var pbias, palpha *float32
	if f&TileBias != 0 {
		pbias = &bias[:2*I8Panel][0]
	}
	if f&TilePReLU != 0 {
		palpha = &alpha[:2*I8Panel][0]
	}
	tile12x32I8Asm(k/4, &a[0], lda, &b[0], k*I8Panel, &c[0], ldc, int(f), pcomp, &rscale[0], &cscale[0], pbias, palpha)
}

// sub returns v[I8Panel:] where the flag that needs v is set, else nil.
func sub(v []float32, flag TileFlags) []float32 {
	if flag == 0 {
		return nil
	}
	return v[I8Panel:]
}

// GatherI8Rows gathers rows of an int8 item table laid out as the engine's
// (row r at table[r*rb:]: hp bytes of codes, then w float16 values): for
// each i, the codes of row rows[i] go to codes[i*hp:], its scale
// tscale[rows[i]] to scale[i], and its float16 values, widened, to
// u[i*ldu:i*ldu+w]. Rows must be valid; it panics if a slice is too short.
// With VNNI (AVX-512), hp a multiple of 64 and w of 16 one assembly loop
// does it all; otherwise copy and F16ToF32 do.
func GatherI8Rows(codes []uint8, hp int, scale []float32, u []float32, ldu, w int, table []uint8, rb int, tscale []float32, rows []int32) {
	n := len(rows)
	if n == 0 {
		return
	}
	_, _, _ = codes[n*hp-1], scale[n-1], u[(n-1)*ldu+w-1]
	for _, r := range rows {
		_, _ = table[int(r)*rb+rb-1], tscale[r]
	}
	if rb < hp+2*w {
		panic("vec.GatherI8Rows: table rows shorter than hp codes and w float16 values")
	}
	if use.VNNI && hp%64 == 0 && w%16 == 0 && hp > 0 && w > 0 {
		gatherI8RowsAsm(&codes[0], hp, &scale[0], &u[0], ldu, w, &table[0], rb, &tscale[0], &rows[0], n)
		return
	}
	for i, r := range rows {
		row := table[int(r)*rb : int(r+1)*rb]
		copy(codes[i*hp:(i+1)*hp], row)
		scale[i] = tscale[r]
		F16ToF32(u[i*ldu:i*ldu+w], unsafe.Slice((*uint16)(unsafe.Pointer(&row[hp])), w))
	}
}

// SoftmaxCodeRows is SoftmaxRows(x, rows, cols, ld) followed by
// QuantizeRows(dst, ldd, scale, x, ld, rows, nv, false): the softmax
// weights of each row's first nv values coded unsigned (0 ≤ nv ≤ cols).
// The codes and scales are those of the two calls, bit for bit; x is left
// holding the weights or, where one AVX-512 pass does both (cols a
// multiple of 16, nv > 0), the unnormalised exponentials.
func SoftmaxCodeRows(x []float32, rows, cols, ld, nv int, dst []uint8, ldd int, scale []float32) {
	if rows <= 0 {
		return
	}
	if nv < 0 || nv > cols {
		panic("vec.SoftmaxCodeRows: nv outside [0, cols]")
	}
	if use.AVX512 && use.VNNI && cols%16 == 0 && nv > 0 {
		_ = x[(rows-1)*ld+cols-1]
		_ = dst[(rows-1)*ldd+RoundUp4(nv)-1]
		_ = scale[rows-1]
		softmaxCodeRowsAsm(&x[0], rows, cols, ld, nv, &dst[0], ldd, &scale[0])
		return
	}
	SoftmaxRows(x, rows, cols, ld)
	QuantizeRows(dst, ldd, scale, x, ld, rows, nv, false)
}
