package plan

import (
	"math"

	"nann/internal/vec"
)

// Slice versions of the transcendental functions of the pair stage, with
// the exponential done by vec.Exp (AVX2, ~2e-7 relative): erf by the
// Chebyshev-fitted erfc of Numerical Recipes (fractional error < 1.2e-7
// before float32 rounding), tanh and sigmoid through exp.

// erfSlice writes erf(x[i]) to y[i]; tmp needs len(x) values.
func erfSlice(x, y, tmp []float32) {
	n := len(x)
	y, tmp = y[:n], tmp[:n]
	// erfc(|x|) = t·exp(−x² + P(t)), t = 1/(1 + |x|/2).
	for i, v := range x {
		z := float64(v)
		if z < 0 {
			z = -z
		}
		t := 1 / (1 + 0.5*z)
		p := -z*z - 1.26551223 + t*(1.00002368+t*(0.37409196+t*(0.09678418+t*(-0.18628806+t*(0.27886807+t*(-1.13520398+t*(1.48851587+t*(-0.82215223+t*0.17087277))))))))
		tmp[i] = float32(p)
		y[i] = float32(t)
	}
	vec.Exp(tmp, tmp)
	for i, v := range x {
		if v > -0.5 && v < 0.5 {
			// 1 − erfc cancels near 0: the Taylor series instead.
			z := float64(v)
			z2 := z * z
			y[i] = float32(2 / math.SqrtPi * z * (1 - z2*(1.0/3-z2*(1.0/10-z2*(1.0/42-z2*(1.0/216-z2/1320))))))
			continue
		}
		e := 1 - y[i]*tmp[i]
		if v < 0 {
			e = -e
		}
		y[i] = e
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
