package vec

import "math"

// This file: a float32 exponential over slices (Cephes expf's range
// reduction and polynomial, relative error about 2e-7 over the float32
// range), AVX2 assembly 8 at a time and a plain-Go twin for the rest.

// expConsts holds the constants the assembly broadcasts, in this order.
var expConsts = [10]float32{
	88.3762626647949, -88.3762626647949, // clamp
	1.44269504088896341,         // log2(e)
	0.693359375, -2.12194440e-4, // ln 2 split (C1, C2)
	1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1,
}

// Exp writes exp(x[i]) to y[i] for every i (y may alias x); inputs below
// −88.38 give 0 or a subnormal, above 88.38 the largest finite result.
func Exp(x, y []float32) {
	n := len(x)
	y = y[:n]
	i := 0
	if use.AVX2 && n >= 8 {
		i = n &^ 7
		expAsm(&x[0], &y[0], i, &expConsts)
	}
	for ; i < n; i++ {
		y[i] = expGeneric(x[i])
	}
}

// expGeneric is the scalar twin of the assembly.
func expGeneric(x float32) float32 {
	x = min(max(x, expConsts[1]), expConsts[0])
	fx := float32(math.Floor(float64(x*expConsts[2] + 0.5)))
	x = x - fx*expConsts[3] - fx*expConsts[4]
	z := x * x
	p := expConsts[5]*x + expConsts[6]
	p = p*x + expConsts[7]
	p = p*x + expConsts[8]
	p = p*x + expConsts[9]
	p = p*x + 0.5
	p = p*z + x + 1
	return p * math.Float32frombits(uint32(int32(fx)+127)<<23)
}
