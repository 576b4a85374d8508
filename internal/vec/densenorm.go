package vec

import "math"

// This file: a dense product fused with the LayerNorm pass that reads it —
// C = A·B + bias (rows × N), each row's groups of Cols columns normalised,
// optionally GELU'd and reduced to one value by a dot product (the DIN
// activation unit: a rows × L·Cols product read only as L LayerNorm rows
// per candidate, each ending in a one-output layer). The assembly works on
// 16 rows at a time with one row per vector lane (A transposed into a
// scratch): the product's columns are lane vectors, so a group's mean and
// variance are sums of vectors and the normalisation, the GELU and the dot
// are element-wise, with no horizontal reduction, and a group's product
// stays in an L1 scratch. Plain-Go twin: denseNormGeneric. Its GELU is
// gelu.go's piecewise polynomial, not the LayerNorm pass's A&S form (same
// accuracy class, a third of the multiply-adds).
//
// The statistics are unshifted sums (mean = Σx/m, variance = Σx²/m −
// mean²), so a group whose mean is large against its spread loses
// precision to cancellation. CenterGroups removes each group's mean from B
// and the bias beforehand, which leaves the LayerNorm's output unchanged
// (it subtracts the mean anyway) and the sums free of it.

// DenseNorm describes the fused pass.
type DenseNorm struct {
	// K is the inner dimension of the product (> 0).
	K int
	// N is the product's width, a positive multiple of LN.Cols.
	N int
	// LN is the pass over each group of LN.Cols columns: LN.Cols a
	// multiple of 16, LN.Dot not nil.
	LN LayerNorm
}

// WorkLen is the length of the work slice Rows needs.
func (p *DenseNorm) WorkLen() int { return 16*p.K + 16*p.LN.Cols }

// Rows computes, for each of rows rows of a (rows × K, row-major) and each
// column group g < N/LN.Cols, out[r·(N/LN.Cols) + g] = the LN pass's value
// of row r's group g of a·B + bias, where b is B (K × N) packed by
// PackPanels (N is a multiple of 16, so every panel is 16 wide) and bias
// holds N values or is nil. work holds WorkLen values. It panics if a slice
// is short or the shapes break DenseNorm's rules.
func (p *DenseNorm) Rows(a []float32, rows int, b, bias, out, work []float32) {
	m, k := p.LN.Cols, p.K
	if m <= 0 || m%16 != 0 || p.N%m != 0 || k <= 0 || p.LN.Dot == nil {
		panic("vec: DenseNorm shape")
	}
	if rows <= 0 {
		return
	}
	groups := p.N / m
	_, _, _ = a[rows*k-1], b[k*p.N-1], out[rows*groups-1]
	_, _, _ = p.LN.Scale[m-1], p.LN.Bias[m-1], p.LN.Dot[m-1]
	if bias != nil {
		_ = bias[p.N-1]
	}
	_ = work[p.WorkLen()-1]
	// The assembly gathers and scatters with 32-bit element offsets.
	if !use.AVX512 || 16*max(k, groups) > math.MaxInt32 {
		denseNormGeneric(p, a, rows, b, bias, out, work[:m])
		return
	}
	at, scratch := work[:16*k], work[16*k:16*k+16*m]
	flags := 0
	if p.LN.GELU {
		flags = 1
	}
	var biasp *float32
	if bias != nil {
		flags |= 2
		biasp = &bias[0]
	}
	var aidx, oidx [16]int32
	for i := range aidx {
		aidx[i], oidx[i] = int32(i*k), int32(i*groups)
	}
	for r0 := 0; r0 < rows; r0 += 16 {
		n := min(16, rows-r0)
		denseNormAVX512(&a[r0*k], &aidx[0], k, &b[0], biasp, groups, m, &p.LN.Scale[0], &p.LN.Bias[0], &p.LN.Dot[0],
			p.LN.Eps, 1/float32(m), flags, p.LN.DotBias, &out[r0*groups], &oidx[0], 1<<n-1, &at[0], &scratch[0])
	}
}

// denseNormGeneric is the plain-Go twin of denseNormAVX512: the same
// statistics, normalisation and GELU (GELUTable32).
// x is m values of scratch.
func denseNormGeneric(p *DenseNorm, a []float32, rows int, b, bias, out, x []float32) {
	m, k := p.LN.Cols, p.K
	groups := p.N / m
	inv := 1 / float32(m)
	for r := 0; r < rows; r++ {
		ar := a[r*k : (r+1)*k]
		for g := 0; g < groups; g++ {
			for c := range x {
				j := g*m + c
				panel := b[(j/16)*16*k:]
				var v float32
				if bias != nil {
					v = bias[j]
				}
				for i, av := range ar {
					v = av*panel[i*16+j%16] + v
				}
				x[c] = v
			}
			var s, q float32
			for _, v := range x {
				s += v
				q += v * v
			}
			mean := s * inv
			rstd := 1 / float32(math.Sqrt(float64(max(q*inv-mean*mean, 0)+p.LN.Eps)))
			nm := -mean * rstd
			acc := float32(0)
			for c, v := range x {
				t := (v*rstd+nm)*p.LN.Scale[c] + p.LN.Bias[c]
				if p.LN.GELU {
					t = GELUTable32(t)
				}
				acc += t * p.LN.Dot[c]
			}
			out[r*groups+g] = acc + p.LN.DotBias
		}
	}
}

// CenterGroups subtracts, in each row of B (k × n, packed by PackPanels
// with n a multiple of 16) and in bias (n values, or nil), the mean of
// each group of m columns (m a multiple of 16 dividing n): every column
// group of A·B + bias then has mean 0 for any A, and its LayerNorm is
// unchanged. The means are float32 sums of m values (relative error ~m
// ulps of the group's magnitude, what is left of the mean). It panics if
// the shapes break those rules.
func CenterGroups(b, bias []float32, k, n, m int) {
	if m <= 0 || m%16 != 0 || n%m != 0 || k <= 0 {
		panic("vec: CenterGroups shape")
	}
	_ = b[k*n-1]
	inv := 1 / float32(m)
	for g := 0; g < n/m; g++ {
		panels := b[g*m*k : (g+1)*m*k] // the group's m/16 panels, each k × 16
		for j := 0; j < k; j++ {
			var s0, s1, s2, s3 float32
			for p := j * 16; p < len(panels); p += 16 * k {
				r := (*[16]float32)(panels[p:])
				s0 += r[0] + r[4] + r[8] + r[12]
				s1 += r[1] + r[5] + r[9] + r[13]
				s2 += r[2] + r[6] + r[10] + r[14]
				s3 += r[3] + r[7] + r[11] + r[15]
			}
			mean := (s0 + s1 + s2 + s3) * inv
			for p := j * 16; p < len(panels); p += 16 * k {
				r := (*[16]float32)(panels[p:])
				for c := range r {
					r[c] -= mean
				}
			}
		}
		if bias != nil {
			grp := bias[g*m : (g+1)*m]
			var s float32
			for _, v := range grp {
				s += v
			}
			mean := s * inv
			for c := range grp {
				grp[c] -= mean
			}
		}
	}
}
