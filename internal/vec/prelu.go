package vec

// This file: the PReLU activation over row-major n×c matrices with one
// alpha per column, forward and backward, with AVX2 assembly (c a multiple
// of 8) and a plain-Go twin. The branch-free assembly matters because the
// sign of an activation is unpredictable.

// PReLUForward writes y = x for x > 0 and alpha[j]·x otherwise for n rows of
// c = len(alpha) values. y may alias x.
func PReLUForward(x, alpha, y []float32, n int) {
	c := len(alpha)
	if n <= 0 || c == 0 {
		return
	}
	_, _ = x[n*c-1], y[n*c-1]
	if use.AVX2 && c%8 == 0 {
		preluFwdAsm(&x[0], &alpha[0], &y[0], n, c)
		return
	}
	preluFwdGeneric(x, alpha, y, n)
}

// PReLUBackward, for input x and upstream gradient dy (n rows of c =
// len(alpha)), adds Σ dy·min(x, 0) per column to galpha and writes dx = dy
// for x > 0, alpha·dy for x < 0 and 0 at x = 0 (TensorFlow's subgradient).
// dx may alias dy.
func PReLUBackward(x, alpha, dy, dx, galpha []float32, n int) {
	c := len(alpha)
	if n <= 0 || c == 0 {
		return
	}
	_, _, _, _ = x[n*c-1], dy[n*c-1], dx[n*c-1], galpha[c-1]
	if use.AVX2 && c%8 == 0 {
		preluBwdAsm(&x[0], &alpha[0], &dy[0], &dx[0], &galpha[0], n, c)
		return
	}
	preluBwdGeneric(x, alpha, dy, dx, galpha, n)
}

func preluFwdGeneric(x, alpha, y []float32, n int) {
	c := len(alpha)
	for i := 0; i < n; i++ {
		xr := x[i*c : i*c+c]
		yr := y[i*c : i*c+c]
		for j, v := range xr {
			yr[j] = max(v, 0) + alpha[j]*min(v, 0)
		}
	}
}

func preluBwdGeneric(x, alpha, dy, dx, galpha []float32, n int) {
	c := len(alpha)
	galpha = galpha[:c]
	for i := 0; i < n; i++ {
		xr := x[i*c : i*c+c]
		dyr := dy[i*c : i*c+c]
		dxr := dx[i*c : i*c+c]
		for j, v := range xr {
			d := dyr[j]
			galpha[j] += d * min(v, 0)
			switch {
			case v > 0:
				dxr[j] = d
			case v < 0:
				dxr[j] = d * alpha[j]
			default:
				dxr[j] = 0
			}
		}
	}
}
