package vec

// This file: the micro-kernel family. One call computes a small tile of a
// matrix product C = A·B, its accumulator held in registers, and applies an
// epilogue (start from C, add a bias, PReLU, ReLU) before the one store:
//
//	tile6x16AVX2    6×16, AVX2+FMA, two YMM registers per row
//	tile6x8AVX2     6×8, AVX2+FMA, for a last 8-column panel
//	tile12x16AVX512 12×16, AVX-512F, one ZMM register per row
//	tileGo          their plain-Go twin, any rows ≤ 12 and width ≤ 16
//
// A is read in place through two strides (element (i, p) at a[i*rs+p*cs],
// so a transposed A costs nothing), B is a panel whose row p is
// b[p*ldb : p*ldb+w]. Two clients use the family: Gemm's blocked driver
// (gemm.go), with the accumulate flag only, and the compiled scoring
// engine (package engine) through Tile6x16, Tile6x8 and Tile12x16, whose
// B is a weight matrix packed into panels of 16 (or a last 8) columns.

// TileRows is the number of rows of A (and C) that Tile6x16 and Tile6x8
// cover.
const TileRows = 6

// TileRows512 is the number of rows Tile12x16 covers.
const TileRows512 = 12

// TileFlags selects the epilogue of a tile kernel. It is applied in this
// order: accumulate, bias, PReLU, ReLU.
type TileFlags int

const (
	// TileAccumulate adds the product to C's previous contents instead of
	// overwriting them.
	TileAccumulate TileFlags = 1 << iota
	// TileBias adds bias[j] to column j.
	TileBias
	// TilePReLU applies y = x for x > 0 and alpha[j]·x otherwise.
	TilePReLU
	// TileReLU applies y = max(x, 0) (0 for NaN).
	TileReLU
)

// maxMR and maxW bound the tile shape of every kernel of the family.
const (
	maxMR = TileRows512
	maxW  = 16
)

// Tile6x16 computes the 6×16 tile C[0:6, 0:16] = epilogue(A·B) where A is
// 6×k (element (i, p) at a[i*lda+p]), B is a packed k×16 panel (element
// (p, j) at b[p*16+j]) and C has leading dimension ldc. bias and alpha need
// 16 values when their flag is set and may be nil otherwise. It panics if a
// slice is too short for its extent.
func Tile6x16(k int, a []float32, lda int, b []float32, c []float32, ldc int, f TileFlags, bias, alpha []float32) {
	microTile(TileRows, 16, k, a, lda, 1, b, 16, c, ldc, f, bias, alpha)
}

// From is x[j:], or nil for a nil x: a tile kernel's optional per-column
// operand (bias, alpha, correction) from column j on.
func From[T any](x []T, j int) []T {
	if x == nil {
		return nil
	}
	return x[j:]
}

// Tile12x16 is Tile6x16 for 12 rows of A and C (TileRows512): one AVX-512
// register per row of the tile where the CPU has AVX-512, two Tile6x16
// calls' worth of work otherwise.
func Tile12x16(k int, a []float32, lda int, b []float32, c []float32, ldc int, f TileFlags, bias, alpha []float32) {
	microTile(TileRows512, 16, k, a, lda, 1, b, 16, c, ldc, f, bias, alpha)
}

// Tile6x8 is Tile6x16 for an 8-column panel (b[p*8+j]) and an 8-column tile.
func Tile6x8(k int, a []float32, lda int, b []float32, c []float32, ldc int, f TileFlags, bias, alpha []float32) {
	microTile(TileRows, 8, k, a, lda, 1, b, 8, c, ldc, f, bias, alpha)
}

// microTile computes the mr×w tile C = epilogue(A·B) for mr = 6 or 12 and
// w = 8 or 16 with the fastest kernel of the family that fits: A is mr×k
// with element (i, p) at a[i*rs+p*cs], row p of B is b[p*ldb : p*ldb+w],
// row i of C is c[i*ldc : i*ldc+w]. bias and alpha need w values when
// their flag is set. It panics if a slice is too short for its extent.
func microTile(mr, w, k int, a []float32, rs, cs int, b []float32, ldb int, c []float32, ldc int, f TileFlags, bias, alpha []float32) {
	// The assembly reads exactly these extents; check them once here.
	var pa, pb *float32
	if k > 0 {
		_ = a[(mr-1)*rs+(k-1)*cs]
		_ = b[(k-1)*ldb+w-1]
		pa, pb = &a[0], &b[0]
	}
	_ = c[(mr-1)*ldc+w-1]
	var pbias, palpha *float32
	if f&TileBias != 0 {
		pbias = &bias[:w][0]
	}
	if f&TilePReLU != 0 {
		palpha = &alpha[:w][0]
	}
	switch {
	case !use.AVX2:
		tileGo(mr, w, k, a, rs, cs, b, ldb, c, ldc, f, bias, alpha)
	case mr == TileRows && w == 16:
		tile6x16AVX2(k, pa, rs, cs, pb, ldb, &c[0], ldc, int(f), pbias, palpha)
	case mr == TileRows && cs == 1 && ldb == 8:
		tile6x8AVX2(k, pa, rs, pb, &c[0], ldc, int(f), pbias, palpha)
	case mr == TileRows512 && w == 16 && use.AVX512:
		tile12x16AVX512(k, pa, rs, cs, pb, ldb, &c[0], ldc, int(f), pbias, palpha)
	case mr == TileRows512:
		splitTile(w, k, a, rs, cs, b, ldb, c, ldc, f, bias, alpha)
	default:
		tileGo(mr, w, k, a, rs, cs, b, ldb, c, ldc, f, bias, alpha)
	}
}

// splitTile computes a 12-row tile as two 6-row ones, as fast as one
// without AVX-512.
func splitTile(w, k int, a []float32, rs, cs int, b []float32, ldb int, c []float32, ldc int, f TileFlags, bias, alpha []float32) {
	a2 := a
	if k > 0 {
		a2 = a[TileRows*rs:]
	}
	microTile(TileRows, w, k, a, rs, cs, b, ldb, c, ldc, f, bias, alpha)
	microTile(TileRows, w, k, a2, rs, cs, b, ldb, c[TileRows*ldc:], ldc, f, bias, alpha)
}

// tileGo is the plain-Go twin of the tile kernels, for mr ≤ 12 rows and
// w ≤ 16 columns; see microTile for the contract. Each output is the
// float32 sum over p in order, then the epilogue, as in the assembly
// 16-column kernels (the 6×8 kernel sums even and odd p apart).
func tileGo(mr, w, k int, a []float32, rs, cs int, b []float32, ldb int, c []float32, ldc int, f TileFlags, bias, alpha []float32) {
	var acc [maxMR][maxW]float32
	for p := 0; p < k; p++ {
		bp := b[p*ldb : p*ldb+w]
		for i := 0; i < mr; i++ {
			av := a[i*rs+p*cs]
			row := acc[i][:len(bp)]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	for i := 0; i < mr; i++ {
		dst := c[i*ldc : i*ldc+w]
		for j := range dst {
			v := acc[i][j]
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

// PackPanels lays out the k×n matrix B (element (p, j) at src[p*ld+j], or
// at src[j*ld+p] if trans) as panels of 16 columns and, if n is not a
// multiple of 16, a last panel of 8; columns past n are zero. Panel q starts
// at 16·q·k: the B operand of the Tile kernels, one panel per call. dst is
// reused if large enough.
func PackPanels(dst, src []float32, k, n, ld int, trans bool) []float32 {
	npad := (n + 7) / 8 * 8
	if cap(dst) < k*npad {
		dst = make([]float32, k*npad)
	}
	dst = dst[:k*npad]
	for j0 := 0; j0 < npad; j0 += 16 {
		pw := min(16, npad-j0)
		panel := dst[j0*k : j0*k+pw*k]
		for p := 0; p < k; p++ {
			out := panel[p*pw : p*pw+pw]
			for j := range out {
				col := j0 + j
				switch {
				case col >= n:
					out[j] = 0
				case trans:
					out[j] = src[col*ld+p]
				default:
					out[j] = src[p*ld+col]
				}
			}
		}
	}
	return dst
}
