package vec

// This file: single-precision matrix multiplication (SGEMM) for the model's
// training and inference. The work is cut into tiles of C, each computed by
// a micro-kernel of tile.go that keeps the tile in registers and streams a
// strided sliver of A and a packed 16-column panel of B: 6×16 tiles in 12
// AVX2 registers, or, where AVX-512 is available, 12×16 tiles in 12 ZMM
// registers (twice the FLOPs per instruction).
//
// Matrices are row-major float32 slices with a leading dimension (elements
// between consecutive rows). A transposed operand is read in place through
// strides, so only B is copied (packed into 16-column panels, zero-padded).

const (
	nr = 16  // columns of a C tile (rows: tileRows(), at most maxMR)
	kc = 256 // depth of one packed B block
	nc = 512 // columns of one packed B block
)

// GemmWork is reusable scratch for Gemm. The zero value is ready to use; a
// GemmWork must not be shared by concurrent calls.
type GemmWork struct {
	// FLOPs counts 2·m·n·k over the calls made with this GemmWork.
	FLOPs float64

	packB  []float32
	panels []panelRef
	packA  []float32
	tile   [maxMR * nr]float32
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C, where op(X) is X or its
// transpose, op(A) is m×k, op(B) is k×n and C is m×n with leading dimension
// ldc. A is stored m×k with leading dimension lda (k×m if transA), B k×n with
// ldb (n×k if transB). w may be nil (a temporary is allocated). It panics
// if a slice is too short for the stated shape, as indexing would.
func Gemm(w *GemmWork, transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if k <= 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	// With beta 0 the first depth block overwrites C instead of adding.
	if beta != 0 {
		scaleC(m, n, beta, c, ldc)
	}
	if w == nil {
		w = new(GemmWork)
	}
	w.FLOPs += 2 * float64(m) * float64(n) * float64(k)
	for j0 := 0; j0 < n; j0 += nc {
		nb := min(nc, n-j0)
		for p0 := 0; p0 < k; p0 += kc {
			kb := min(kc, k-p0)
			w.packBBlock(transB, b, ldb, p0, kb, j0, nb, alpha)
			w.macroKernel(transA, a, lda, m, p0, kb, j0, nb, c, ldc, beta == 0 && p0 == 0)
		}
	}
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if k > 0 && (lda < ac || len(a) < (ar-1)*lda+ac) {
		panic("vec.Gemm: A too short for its shape")
	}
	if k > 0 && (ldb < bc || len(b) < (br-1)*ldb+bc) {
		panic("vec.Gemm: B too short for its shape")
	}
	if ldc < n || len(c) < (m-1)*ldc+n {
		panic("vec.Gemm: C too short for its shape")
	}
}

func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// panelRef locates one nr-column panel of op(B) for the kernel: row p of
// the panel starts at buf[p*ld].
type panelRef struct {
	buf []float32
	ld  int
}

// packBBlock prepares alpha·op(B)[p0:p0+kb, j0:j0+nb] as panels of nr
// columns. A full panel of an untransposed B with alpha 1 is read in place
// (its rows are nr consecutive values ldb apart); the others are copied
// into w.packB, kb rows of nr values each, zero-padded.
func (w *GemmWork) packBBlock(transB bool, b []float32, ldb, p0, kb, j0, nb int, alpha float32) {
	panels := (nb + nr - 1) / nr
	need := panels * kb * nr
	if cap(w.packB) < need {
		w.packB = make([]float32, need)
	}
	dst := w.packB[:need]
	w.panels = w.panels[:0]
	for q := 0; q < panels; q++ {
		jq := j0 + q*nr
		cols := min(nr, j0+nb-jq)
		if !transB && alpha == 1 && cols == nr {
			w.panels = append(w.panels, panelRef{b[p0*ldb+jq:], ldb})
			continue
		}
		panel := dst[q*kb*nr : (q+1)*kb*nr]
		w.panels = append(w.panels, panelRef{panel, nr})
		if transB {
			// Read each source row contiguously; the strided writes stay
			// within the panel, which is small enough for L1.
			if cols < nr {
				clear(panel)
			}
			for j := 0; j < cols; j++ {
				src := b[(jq+j)*ldb+p0 : (jq+j)*ldb+p0+kb]
				for p, v := range src {
					panel[p*nr+j] = alpha * v
				}
			}
			continue
		}
		for p := 0; p < kb; p++ {
			out := panel[p*nr : p*nr+nr]
			src := b[(p0+p)*ldb+jq : (p0+p)*ldb+jq+cols]
			if alpha == 1 {
				copy(out, src)
			} else {
				for j, v := range src {
					out[j] = alpha * v
				}
			}
			clear(out[cols:])
		}
	}
}

// macroKernel multiplies all of op(A)[:, p0:p0+kb] by the prepared B block
// and adds the product into C[:, j0:j0+nb], or stores it there if overwrite.
func (w *GemmWork) macroKernel(transA bool, a []float32, lda, m, p0, kb, j0, nb int, c []float32, ldc int, overwrite bool) {
	panels := (nb + nr - 1) / nr
	tr := tileRows()
	for i0 := 0; i0 < m; i0 += tr {
		rows := min(tr, m-i0)
		// A remainder of at most 6 rows takes the 6-row kernel.
		mr := tr
		if rows <= 6 {
			mr = 6
		}
		// Strides of the A sliver: element (i, p) is at base + i*rs + p*cs.
		var sliver []float32
		var rs, cs int
		if transA {
			sliver, rs, cs = a[p0*lda+i0:], 1, lda
		} else {
			sliver, rs, cs = a[i0*lda+p0:], lda, 1
		}
		// A short sliver is read in place if the rows past m are still
		// inside a (their products land in tile rows that are dropped);
		// otherwise it is copied and zero-padded.
		if rows < mr && (mr-1)*rs+(kb-1)*cs >= len(sliver) {
			sliver, rs, cs = w.packASliver(transA, a, lda, i0, rows, p0, kb, mr), 1, mr
		}
		for q := 0; q < panels; q++ {
			jq := j0 + q*nr
			cols := min(nr, j0+nb-jq)
			bp := w.panels[q]
			if rows == mr && cols == nr {
				kernel(kb, mr, sliver, rs, cs, bp.buf, bp.ld, c[i0*ldc+jq:], ldc, overwrite)
				continue
			}
			t := w.tile[:]
			kernel(kb, mr, sliver, rs, cs, bp.buf, bp.ld, t, nr, true)
			for i := 0; i < rows; i++ {
				dst := c[(i0+i)*ldc+jq : (i0+i)*ldc+jq+cols]
				if overwrite {
					copy(dst, t[i*nr:i*nr+cols])
					continue
				}
				for j := range dst {
					dst[j] += t[i*nr+j]
				}
			}
		}
	}
}

// packASliver copies rows i0..i0+rows of op(A)[:, p0:p0+kb] into a
// zero-padded mr-row sliver laid out as kb groups of mr values.
func (w *GemmWork) packASliver(transA bool, a []float32, lda, i0, rows, p0, kb, mr int) []float32 {
	need := kb * mr
	if cap(w.packA) < need {
		w.packA = make([]float32, need)
	}
	dst := w.packA[:need]
	clear(dst)
	for i := 0; i < rows; i++ {
		for p := 0; p < kb; p++ {
			if transA {
				dst[p*mr+i] = a[(p0+p)*lda+i0+i]
			} else {
				dst[p*mr+i] = a[(i0+i)*lda+p0+p]
			}
		}
	}
	return dst
}

// tileRows is the number of rows of a C tile for the selected kernel.
func tileRows() int {
	if use.AVX512 {
		return TileRows512
	}
	return TileRows
}

// kernel adds the product of an mr×kb sliver of A (element (i, p) at
// a[i*rs+p*cs]) and a kb×16 panel of B (row p at b[p*ldb:p*ldb+16]) to the
// mr×16 tile at c, or stores it there if overwrite. mr is tileRows() or 6.
func kernel(kb, mr int, a []float32, rs, cs int, b []float32, ldb int, c []float32, ldc int, overwrite bool) {
	f := TileAccumulate
	if overwrite {
		f = 0
	}
	microTile(mr, nr, kb, a, rs, cs, b, ldb, c, ldc, f, nil, nil)
}
