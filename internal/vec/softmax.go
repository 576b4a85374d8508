package vec

// This file: the row softmax that turns the engine's attention logits into
// weights, with an AVX2/FMA kernel (softmax_amd64.s) and a plain-Go twin
// that share one float32 exponential, ExpPoly.

import "math"

// SoftmaxRows replaces each of rows rows of x (leading dimension ld) by its
// softmax over the first cols values; cols must be a positive multiple of 8.
// Values more than 87.3 below their row's largest (-Inf among them) get
// weight exactly 0: their exponential, about 1e-38, would turn subnormal
// when scaled, and subnormals cost a microcode assist wherever they go. The exponential is ExpPoly: accurate
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
	if use.AVX512 && cols%16 == 0 {
		softmaxRows512Asm(&x[0], rows, cols, ld)
		return
	}
	if use.AVX2 {
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
			if v-m < expLo {
				e = 0
			}
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
