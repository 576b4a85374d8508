package vec

import "math"

// This file: a fused row pass for normalisation layers — LayerNorm over
// each row, then (optionally) the exact GELU x·(1 + erf(x/√2))/2, then
// either the row stored or its dot product with a vector plus a bias (a
// following one-output linear layer). AVX2 assembly for rows whose width
// is a multiple of 8 (AVX-512F where it is a multiple of 16), the
// plain-Go twin layerNormGeneric otherwise.
//
// erf is Abramowitz and Stegun 7.1.28, erf(a) = 1 − 1/(1 + a₁a + … +
// a₆a⁶)¹⁶ for a ≥ 0 (odd extension), absolute error below 3e-7: no
// exponential, one division; in float32 the rounding of the 16th power
// adds up to ~1.3e-6 near 0 (GELU's absolute error stays below
// 1e-6·max(|x|, 1)).

// LayerNorm describes the pass.
type LayerNorm struct {
	// Cols is the row width (> 0).
	Cols int
	// Scale and Bias are the affine parameters, Cols values each.
	Scale, Bias []float32
	// Eps is added to the variance.
	Eps float32
	// GELU applies the exact GELU after the affine map.
	GELU bool
	// Dot, if not nil (Cols values), makes the pass write one value per
	// row, the row's dot product with Dot plus DotBias, instead of the
	// row.
	Dot     []float32
	DotBias float32
}

// Erf's coefficients (A&S 7.1.28), the constants the assembly reads.
const (
	erfA1 = 0.0705230784
	erfA2 = 0.0422820123
	erfA3 = 0.0092705272
	erfA4 = 0.0001520143
	erfA5 = 0.0002765672
	erfA6 = 0.0000430638
)

// Erf32 is the scalar form of the pass's erf.
func Erf32(x float32) float32 {
	a := float32(math.Abs(float64(x)))
	p := float32(erfA6)
	p = p*a + erfA5
	p = p*a + erfA4
	p = p*a + erfA3
	p = p*a + erfA2
	p = p*a + erfA1
	p = p*a + 1
	p *= p
	p *= p
	p *= p
	p *= p
	e := 1 - 1/p
	return float32(math.Copysign(float64(e), float64(x)))
}

// geluB holds erf's coefficients for an argument a/√2: a_i/√2^i.
var geluB = func() (b [6]float32) {
	for i, a := range []float64{erfA1, erfA2, erfA3, erfA4, erfA5, erfA6} {
		b[i] = float32(a / math.Pow(math.Sqrt2, float64(i+1)))
	}
	return b
}()

// GELU32 is the scalar form of the pass's GELU, written as
// max(x, 0) − a·r/2 with a = min(|x|, 8) and r = 1 − erf(a/√2) =
// 1/p(a)¹⁶ (the assembly: VRCPPS and one Newton step): equal to
// x·(1 + erf(x/√2))/2 for either sign, without its cancellation for
// negative x.
func GELU32(x float32) float32 {
	// |x| ≥ 8: r < 1e-15, and the clamp keeps p¹⁶ finite.
	a := min(float32(math.Abs(float64(x))), 8)
	p := geluB[5]
	p = p*a + geluB[4]
	p = p*a + geluB[3]
	p = p*a + geluB[2]
	p = p*a + geluB[1]
	p = p*a + geluB[0]
	p = p*a + 1
	p *= p
	p *= p
	p *= p
	p *= p
	r := 1 / p
	return max(x, 0) - a*r*0.5
}

// lnChunk is the number of rows the assembly normalises per call.
const lnChunk = 32

// Rows runs the pass over rows rows of x (rows × Cols, row-major) into y
// (rows × Cols, or rows values with Dot). It panics if a slice is short.
func (p *LayerNorm) Rows(x []float32, rows int, y []float32) {
	if rows <= 0 {
		return
	}
	c := p.Cols
	out := rows * c
	if p.Dot != nil {
		out = rows
		_ = p.Dot[c-1]
	}
	_, _, _, _ = x[rows*c-1], y[out-1], p.Scale[c-1], p.Bias[c-1]
	if use.AVX2 && (c%8 == 0 || use.AVX512 && c%16 == 0) {
		flags := 0
		var dot *float32
		if p.GELU {
			flags |= 1
		}
		if p.Dot != nil {
			flags |= 2
			dot = &p.Dot[0]
		}
		// Chunks of lnChunk rows: their statistics in a stack array (the
		// AVX-512 pass uses a third lnChunk for its shifts), their
		// values still in L1 for the second phase.
		var stats [3 * lnChunk]float32
		for lo := 0; lo < rows; lo += lnChunk {
			n := min(lnChunk, rows-lo)
			yo := lo * c
			if p.Dot != nil {
				yo = lo
			}
			if use.AVX512 && c%16 == 0 {
				layerNormAVX512(&x[lo*c], n, c, &p.Scale[0], &p.Bias[0], p.Eps, flags, dot, p.DotBias, &y[yo], &stats[0])
			} else {
				layerNormAVX2(&x[lo*c], n, c, &p.Scale[0], &p.Bias[0], p.Eps, flags, dot, p.DotBias, &y[yo], &stats[0])
			}
		}
		return
	}
	layerNormGeneric(x, rows, p, y)
}

// layerNormGeneric is the plain-Go twin of layerNormAVX2.
func layerNormGeneric(x []float32, rows int, p *LayerNorm, y []float32) {
	c := p.Cols
	inv := 1 / float32(c)
	for r := 0; r < rows; r++ {
		row := x[r*c : (r+1)*c]
		var s float32
		for _, v := range row {
			s += v
		}
		mean := s * inv
		var q float32
		for _, v := range row {
			d := v - mean
			q += d * d
		}
		rstd := 1 / float32(math.Sqrt(float64(q*inv+p.Eps)))
		var acc float32
		for j, v := range row {
			t := (v-mean)*rstd*p.Scale[j] + p.Bias[j]
			if p.GELU {
				t = GELU32(t)
			}
			if p.Dot != nil {
				acc += t * p.Dot[j]
			} else {
				y[r*c+j] = t
			}
		}
		if p.Dot != nil {
			y[r] = acc + p.DotBias
		}
	}
}
