package vec

import "math"

// This file: the GELU of DenseNorm's pass, x·Φ(x) = max(x, 0) − g(|x|)
// with g(a) = a·erfc(a/√2)/2, by a piecewise polynomial: g on [0, 8) in 16
// intervals of width 1/2, each a degree-5 polynomial in the offset u ∈
// [0, 1) from the interval's start (y = 2a, i = ⌊y⌋, u = y − i), fitted by
// interpolation at the 6 Chebyshev nodes of the interval in float64
// (TestGELUTableFit refits and compares) and rounded to float32; |x| ≥ 8
// is clamped to the last interval (g < 5e-15 there). The assembly picks
// each coefficient for 16 lanes with one VPERMPS from a register holding
// its 16 intervals: 5 multiply-adds a value against the 14 multiply-class
// operations of the A&S form of layernorm.go, whose pipes the product
// shares. Maximum absolute error, float32 evaluation included, 7.7e-8 on
// g (TestGELUTable asserts ≤ 1e-7 + 1 ulp of x against math.Erf).

// geluDeg is the polynomials' degree, geluIntervals their number.
const (
	geluDeg       = 5
	geluIntervals = 16
)

// geluTab[j][i] is the coefficient of u^j in interval i (the assembly's
// gelutab<> holds the same values, table j at offset 64·j).
var geluTab = [geluDeg + 1][geluIntervals]float32{
	{6.396049e-08, 0.15426876, 0.1586552, 0.100210786, 0.045500275, 0.015524175, 0.0040496965, 0.00081420067, 0.00012668411, 1.528926e-05, 1.4332057e-06, 1.0443568e-07, 5.9188725e-09, 2.6099506e-10, 8.956395e-12, 2.392295e-13},
	{0.2499954, 0.066253334, -0.041654054, -0.06373325, -0.042616785, -0.018806389, -0.0059729964, -0.0014108007, -0.00025176365, -3.424523e-05, -3.5697024e-06, -2.8617305e-07, -1.7687045e-08, -8.4426555e-10, -3.1165327e-11, -8.9057527e-13},
	{-0.09968139, -0.07702407, -0.030289277, 0.0040313234, 0.013507937, 0.009321843, 0.0038799453, 0.0011172069, 0.00023348288, 3.6233643e-05, 4.2294255e-06, 3.7432088e-07, 2.5254398e-08, 1.3038148e-09, 5.165393e-11, 1.5737384e-12},
	{-0.00023441947, 0.013788169, 0.015306346, 0.0071550542, -4.228603e-05, -0.002097157, -0.0013943806, -0.00052113796, -0.00013070452, -2.3340837e-05, -3.0524932e-06, -2.9706334e-07, -2.1731921e-08, -1.2033766e-09, -5.0689328e-11, -1.6302623e-12},
	{0.0046188077, 0.002074313, -0.0016127302, -0.0024069503, -0.0010480483, 5.4064116e-05, 0.00027421862, 0.00014818413, 4.535653e-05, 9.26966e-06, 1.3410472e-06, 1.4134632e-07, 1.1037531e-08, 6.455212e-10, 2.8487488e-11, 9.538232e-13},
	{-0.0004296269, -0.00070527167, -0.00019473261, 0.00024328941, 0.00022308384, 5.3166525e-05, -2.2280336e-05, -2.0969124e-05, -7.76659e-06, -1.7734594e-06, -2.7707995e-07, -3.0952023e-08, -2.5312517e-09, -1.5376027e-10, -7.0053113e-12, -2.4103056e-13},
}

// geluClamp is the largest float32 below 8: 2·min(|x|, geluClamp) < 16.
var geluClamp = math.Nextafter32(8, 0)

// GELUTable32 is the scalar form of DenseNorm's GELU.
func GELUTable32(x float32) float32 {
	a := min(float32(math.Abs(float64(x))), geluClamp)
	if a != a { // NaN
		return x
	}
	y := a + a
	i := int(y)
	u := y - float32(i)
	p := geluTab[geluDeg][i]
	for j := geluDeg - 1; j >= 0; j-- {
		p = p*u + geluTab[j][i]
	}
	return max(x, 0) - p
}
