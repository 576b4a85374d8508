package plan

import (
	"math"

	"nann/internal/vec"
)

// Slice versions of the transcendental functions of the pair stage, with
// the exponential done by vec.Exp (AVX2, ~2e-7 relative): erf by the
// Chebyshev-fitted erfc of Numerical Recipes (fractional error < 1.2e-7
// before float32 rounding), tanh and sigmoid through exp.

// erfSlice writes erf(x[i]) to y[i]; tmp needs len(x) values. Abramowitz
// and Stegun 7.1.26: erf(|x|) = 1 − t·P(t)·exp(−x²), t = 1/(1 + p|x|),
// absolute error below 1.5e-7 (the scale that matters where erf is used,
// as in GELU's x·(1 + erf(x/√2))), branch-free in float32.
func erfSlice(x, y, tmp []float32) {
	n := len(x)
	y, tmp = y[:n], tmp[:n]
	for i, v := range x {
		tmp[i] = -v * v
	}
	vec.Exp(tmp, tmp)
	for i, v := range x {
		z := float32(math.Abs(float64(v)))
		t := 1 / (1 + 0.3275911*z)
		p := t * (0.254829592 + t*(-0.284496736+t*(1.421413741+t*(-1.453152027+t*1.061405429))))
		y[i] = float32(math.Copysign(float64(1-p*tmp[i]), float64(v)))
	}
}

// tanhSlice writes tanh(x[i]) to y[i] = 1 − 2/(exp(2x)+1); tmp needs len(x).
func tanhSlice(x, y, tmp []float32) {
	n := len(x)
	y, tmp = y[:n], tmp[:n]
	for i, v := range x {
		tmp[i] = 2 * min(max(v, -20), 20)
	}
	vec.Exp(tmp, tmp)
	for i := range y {
		if v := float64(x[i]); v > -0.3 && v < 0.3 {
			// 1 − 2/(e+1) cancels near 0: the Taylor series instead.
			v2 := v * v
			y[i] = float32(v * (1 - v2*(1.0/3-v2*(2.0/15-v2*(17.0/315-v2*62.0/2835)))))
			continue
		}
		y[i] = 1 - 2/(tmp[i]+1)
	}
}

// sigmoidSlice writes 1/(1+exp(−x[i])) to y[i]; tmp needs len(x).
func sigmoidSlice(x, y, tmp []float32) {
	n := len(x)
	y, tmp = y[:n], tmp[:n]
	for i, v := range x {
		tmp[i] = -v
	}
	vec.Exp(tmp, tmp)
	for i := range y {
		y[i] = 1 / (1 + tmp[i])
	}
}

func expSlice(x, y, _ []float32) { vec.Exp(x[:len(y)], y) }

var sliceFuncs = map[string]func(x, y, tmp []float32){
	"Erf": erfSlice, "Tanh": tanhSlice, "Sigmoid": sigmoidSlice, "Exp": expSlice,
}

// sliceKernel applies a slice function to a same-shape operand.
type sliceKernel struct {
	src, dst, tmp int
	f             func(x, y, tmp []float32)
}

func (k *sliceKernel) run(st *state) { k.f(st.b[k.src], st.b[k.dst], st.b[k.tmp]) }

// unaryKernel applies f to a same-shape operand.
type unaryKernel struct {
	src, dst int
	f        func(float32) float32
}

func (k *unaryKernel) run(st *state) {
	x, y := st.b[k.src], st.b[k.dst]
	x = x[:len(y)]
	for i := range y {
		y[i] = k.f(x[i])
	}
}
