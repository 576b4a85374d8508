package vec

// This file: per-column reductions and affine maps over row-major n×c
// matrices (BatchNorm's arithmetic), with AVX2 assembly for c a multiple
// of 8 and plain-Go twins. Sums accumulate in float32; callers that reduce
// many rows pass chunks and add the partial sums in float64.

func colsAsm(c int) bool { return use.AVX2 && c%8 == 0 && c > 0 }

// ColSums adds the column sums of n rows of x to s (c = len(s)).
func ColSums(x []float32, n int, s []float32) {
	c := len(s)
	if n <= 0 || c == 0 {
		return
	}
	_ = x[n*c-1]
	if colsAsm(c) {
		colSumsAsm(&x[0], &s[0], n, c)
		return
	}
	for i := 0; i < n; i++ {
		for j, v := range x[i*c : i*c+c] {
			s[j] += v
		}
	}
}

// ColSumSqDiff adds Σ_i (x[i][j] − mean[j])² to s[j] (c = len(s)).
func ColSumSqDiff(x, mean []float32, n int, s []float32) {
	c := len(s)
	if n <= 0 || c == 0 {
		return
	}
	_, _ = x[n*c-1], mean[c-1]
	if colsAsm(c) {
		colSumSqDiffAsm(&x[0], &mean[0], &s[0], n, c)
		return
	}
	for i := 0; i < n; i++ {
		for j, v := range x[i*c : i*c+c] {
			d := v - mean[j]
			s[j] += d * d
		}
	}
}

// ColDotSums adds Σ_i a[i][j]·b[i][j] to s[j] (c = len(s)).
func ColDotSums(a, b []float32, n int, s []float32) {
	c := len(s)
	if n <= 0 || c == 0 {
		return
	}
	_, _ = a[n*c-1], b[n*c-1]
	if colsAsm(c) {
		colDotSumsAsm(&a[0], &b[0], &s[0], n, c)
		return
	}
	for i := 0; i < n; i++ {
		br := b[i*c : i*c+c]
		for j, v := range a[i*c : i*c+c] {
			s[j] += v * br[j]
		}
	}
}

// ColAffine writes y[i][j] = x[i][j]·a[j] + b[j] (c = len(a)); y may alias x.
func ColAffine(x, a, b, y []float32, n int) {
	c := len(a)
	if n <= 0 || c == 0 {
		return
	}
	_, _, _ = x[n*c-1], y[n*c-1], b[c-1]
	if colsAsm(c) {
		colAffineAsm(&x[0], &a[0], &b[0], &y[0], n, c)
		return
	}
	for i := 0; i < n; i++ {
		yr := y[i*c : i*c+c]
		for j, v := range x[i*c : i*c+c] {
			yr[j] = v*a[j] + b[j]
		}
	}
}

// ColAffine2 writes y[i][j] = x1[i][j]·a[j] + x2[i][j]·b[j] + k[j]
// (c = len(a)); y may alias x1 or x2.
func ColAffine2(x1, x2, a, b, k, y []float32, n int) {
	c := len(a)
	if n <= 0 || c == 0 {
		return
	}
	_, _, _, _, _ = x1[n*c-1], x2[n*c-1], y[n*c-1], b[c-1], k[c-1]
	if colsAsm(c) {
		colAffine2Asm(&x1[0], &x2[0], &a[0], &b[0], &k[0], &y[0], n, c)
		return
	}
	for i := 0; i < n; i++ {
		x2r := x2[i*c : i*c+c]
		yr := y[i*c : i*c+c]
		for j, v := range x1[i*c : i*c+c] {
			yr[j] = v*a[j] + x2r[j]*b[j] + k[j]
		}
	}
}
