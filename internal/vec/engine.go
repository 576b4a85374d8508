package vec

// This file: the fused kernels of the compiled NANN scoring engine
// (package engine). A scoring block is a chain of small GEMMs whose left
// operand is a block of candidate rows and whose right operand is a weight
// matrix packed into panels of 16 (or a last panel of 8) columns; each call
// computes one 6-row tile of the output and applies the layer's epilogue
// (start from C, add a bias, PReLU) while the tile is still in registers.
// SoftmaxRows turns logits into attention weights with a vectorised exp.
// Every assembly kernel has a plain-Go twin with the same contract; the
// assembly is chosen at run time when the CPU has AVX2 and FMA.

import (
	"math"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// TileRows is the number of rows of A (and C) one tile kernel call covers.
const TileRows = 6

// TileFlags selects the epilogue of a tile kernel. It is applied in this
// order: accumulate, bias, PReLU.
type TileFlags int

const (
	// TileAccumulate adds the product to C's previous contents instead of
	// overwriting them.
	TileAccumulate TileFlags = 1 << iota
	// TileBias adds bias[j] to column j.
	TileBias
	// TilePReLU applies y = x for x > 0 and alpha[j]·x otherwise.
	TilePReLU
)

// useEngineAsm selects the AVX2/FMA engine kernels; tests flip it to compare
// the twins.
var useEngineAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// useEngine512 selects the AVX-512 12×16 tile kernel (Tile12x16); tests and
// benchmarks flip it.
var useEngine512 = cpu.X86.HasAVX512F && useEngineAsm

// Engine512 reports whether Tile12x16 runs as AVX-512 assembly. Callers
// choose 12-row tiles only then; otherwise two 6-row tiles are as fast.
func Engine512() bool { return useEngine512 && useEngineAsm }

// SetEngine512 enables or disables the AVX-512 tile kernel (if the CPU has
// it) and returns the previous setting; for tests and benchmarks only.
func SetEngine512(on bool) (prev bool) {
	prev = useEngine512
	useEngine512 = on && cpu.X86.HasAVX512F
	return prev
}

// EngineAsm reports whether the engine kernels run as assembly.
func EngineAsm() bool { return useEngineAsm }

// SetEngineAsm selects the assembly kernels (if the CPU has them) or the
// plain-Go twins, and returns the previous setting. It is for tests and
// benchmarks and must not be called while kernels run.
func SetEngineAsm(on bool) (prev bool) {
	prev = useEngineAsm
	useEngineAsm = on && cpu.X86.HasAVX2 && cpu.X86.HasFMA
	return prev
}

// Tile6x16 computes the 6×16 tile C[0:6, 0:16] = epilogue(A·B) where A is
// 6×k (element (i, p) at a[i*lda+p]), B is a packed k×16 panel (element
// (p, j) at b[p*16+j]) and C has leading dimension ldc. bias and alpha need
// 16 values when their flag is set and may be nil otherwise. It panics if a
// slice is too short for its extent.
func Tile6x16(k int, a []float32, lda int, b []float32, c []float32, ldc int, f TileFlags, bias, alpha []float32) {
	tile(16, k, a, lda, b, c, ldc, f, bias, alpha)
}

// Tile12x16 is Tile6x16 for 12 rows of A and C (TileRows512): one AVX-512
// register per row of the tile where the CPU has AVX-512, two Tile6x16
// calls' worth of work otherwise.
func Tile12x16(k int, a []float32, lda int, b []float32, c []float32, ldc int, f TileFlags, bias, alpha []float32) {
	if k > 0 {
		_ = a[(TileRows512-1)*lda+k-1]
		_ = b[k*16-1]
	}
	_ = c[(TileRows512-1)*ldc+15]
	if !Engine512() {
		a2 := a
		if k > 0 {
			a2 = a[TileRows*lda:]
		}
		tile(16, k, a, lda, b, c, ldc, f, bias, alpha)
		tile(16, k, a2, lda, b, c[TileRows*ldc:], ldc, f, bias, alpha)
		return
	}
	var pb, pa, p0, pB *float32
	if f&TileBias != 0 {
		pb = &bias[:16][0]
	}
	if f&TilePReLU != 0 {
		pa = &alpha[:16][0]
	}
	if k > 0 {
		p0, pB = &a[0], &b[0]
	}
	tile12x16Asm(k, p0, lda, pB, &c[0], ldc, int(f), pb, pa)
}

// TileRows512 is the number of rows Tile12x16 covers.
const TileRows512 = 12

// Tile6x8 is Tile6x16 for an 8-column panel (b[p*8+j]) and an 8-column tile.
func Tile6x8(k int, a []float32, lda int, b []float32, c []float32, ldc int, f TileFlags, bias, alpha []float32) {
	tile(8, k, a, lda, b, c, ldc, f, bias, alpha)
}

func tile(w, k int, a []float32, lda int, b []float32, c []float32, ldc int, f TileFlags, bias, alpha []float32) {
	if k > 0 {
		_ = a[(TileRows-1)*lda+k-1]
		_ = b[k*w-1]
	}
	_ = c[(TileRows-1)*ldc+w-1]
	var pb, pa *float32
	if f&TileBias != 0 {
		pb = &bias[:w][0]
	}
	if f&TilePReLU != 0 {
		pa = &alpha[:w][0]
	}
	if !useEngineAsm {
		tileGeneric(w, k, a, lda, b, c, ldc, f, bias, alpha)
		return
	}
	var p0, pB *float32
	if k > 0 {
		p0, pB = &a[0], &b[0]
	}
	if w == 16 {
		tile6x16Asm(k, p0, lda, pB, &c[0], ldc, int(f), pb, pa)
	} else {
		tile6x8Asm(k, p0, lda, pB, &c[0], ldc, int(f), pb, pa)
	}
}

// tileGeneric is the plain-Go twin of the tile kernels (w = 8 or 16).
func tileGeneric(w, k int, a []float32, lda int, b []float32, c []float32, ldc int, f TileFlags, bias, alpha []float32) {
	var acc [TileRows][16]float32
	for p := 0; p < k; p++ {
		bp := b[p*w : p*w+w]
		for i := 0; i < TileRows; i++ {
			av := a[i*lda+p]
			row := acc[i][:w]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	for i := 0; i < TileRows; i++ {
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
			dst[j] = v
		}
	}
}

// SoftmaxRows replaces each of rows rows of x (leading dimension ld) by its
// softmax over the first cols values; cols must be a positive multiple of 8.
// Values of -Inf get weight (about) 0. The exponential is ExpPoly: accurate
// to a few float32 ulps for arguments in [-87.3, 0]; smaller arguments give
// exp(-87.3), about 1e-38.
func SoftmaxRows(x []float32, rows, cols, ld int) {
	if rows <= 0 {
		return
	}
	if cols <= 0 || cols%8 != 0 {
		panic("vec.SoftmaxRows: cols must be a positive multiple of 8")
	}
	_ = x[(rows-1)*ld+cols-1]
	if useEngineAsm {
		softmaxRowsAsm(&x[0], rows, cols, ld)
		return
	}
	softmaxRowsGeneric(x, rows, cols, ld)
}

func softmaxRowsGeneric(x []float32, rows, cols, ld int) {
	for i := 0; i < rows; i++ {
		row := x[i*ld : i*ld+cols]
		m := row[0]
		for _, v := range row[1:] {
			m = max(m, v)
		}
		var s float32
		for j, v := range row {
			e := ExpPoly(v - m)
			row[j] = e
			s += e
		}
		inv := 1 / s
		for j := range row {
			row[j] *= inv
		}
	}
}

// Constants of the float32 exponential (Cephes' expf polynomial).
const (
	expLo    = -87.3365 // ln(2^-126): below it the result would be subnormal
	expLog2e = 1.44269504088896341
	expC1    = 0.693359375
	expC2    = -2.12194440e-4
	expP0    = 1.9875691500e-4
	expP1    = 1.3981999507e-3
	expP2    = 8.3334519073e-3
	expP3    = 4.1665795894e-2
	expP4    = 1.6666665459e-1
	expP5    = 5.0000001201e-1
)

// ExpPoly is the plain-Go form of the exponential the softmax kernel uses,
// for arguments x <= 0 (x is clamped below at -87.3365, where it returns
// about 1.2e-38). It is accurate to a few float32 ulps.
func ExpPoly(x float32) float32 {
	x = max(x, expLo)
	fx := float32(math.Floor(float64(x*expLog2e + 0.5)))
	x -= fx * expC1
	x -= fx * expC2
	y := float32(expP0)
	y = y*x + expP1
	y = y*x + expP2
	y = y*x + expP3
	y = y*x + expP4
	y = y*x + expP5
	y = y*(x*x) + x + 1
	return y * math.Float32frombits(uint32(int32(fx)+127)<<23)
}

// PrefetchRows hints the CPU to bring rows rows (each rowBytes long, the
// first at table) of a row-major table into the L2 cache, so that a later
// gather of them does not wait on memory. It has no effect on results; the
// plain-Go twin does nothing. Rows must be valid row indices of the table.
func PrefetchRows[T float32 | uint16](table []T, width int, rows []int32) {
	if !useEngineAsm || len(rows) == 0 || width <= 0 {
		return
	}
	var z T
	rowBytes := width * int(unsafe.Sizeof(z))
	for _, r := range rows {
		_ = table[int(r)*width+width-1]
	}
	prefetchRowsAsm(unsafe.Pointer(&table[0]), rowBytes, &rows[0], len(rows))
}
