package vec

// This file: the distances that the HNSW index uses, Dot and L2Squared,
// each with an AVX2/FMA assembly version on amd64 and a plain-Go twin.

// Dot returns the inner product of a and b. It panics if the lengths differ,
// as indexing past the end of a slice would.
func Dot(a, b []float32) float32 {
	if len(a) != len(b) {
		panic("vec.Dot: length mismatch")
	}
	if use.AVX2 && len(a) >= 8 {
		return dotAVX2(a, b)
	}
	return dotGeneric(a, b)
}

// L2Squared returns the squared Euclidean distance between a and b. It
// panics if the lengths differ.
func L2Squared(a, b []float32) float32 {
	if len(a) != len(b) {
		panic("vec.L2Squared: length mismatch")
	}
	if use.AVX2 && len(a) >= 8 {
		return l2SquaredAVX2(a, b)
	}
	return l2SquaredGeneric(a, b)
}

// L2SquaredBatch writes into out[i] the squared distance between q and row
// ids[i] of data, a row-major matrix whose rows have len(q) elements. The
// assembly version prefetches the next rows while computing the current
// one. It panics if out is shorter than ids or an id is out of range.
func L2SquaredBatch(q, data []float32, ids []int32, out []float32) {
	d := len(q)
	out = out[:len(ids)]
	if d == 0 {
		clear(out)
		return
	}
	rows := uint(len(data) / d)
	for _, id := range ids {
		if uint(id) >= rows {
			panic("vec.L2SquaredBatch: row id out of range")
		}
	}
	if use.AVX2 && d >= 8 {
		l2SquaredBatchAVX2(q, data, ids, out)
		return
	}
	l2SquaredBatchGeneric(q, data, ids, out)
}

func l2SquaredBatchGeneric(q, data []float32, ids []int32, out []float32) {
	d := len(q)
	for i, id := range ids {
		out[i] = l2SquaredGeneric(q, data[int(id)*d:int(id)*d+d])
	}
}

func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func l2SquaredGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		d0 := a[i] - b[i]
		d1 := a[i+1] - b[i+1]
		d2 := a[i+2] - b[i+2]
		d3 := a[i+3] - b[i+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(a); i++ {
		d := a[i] - b[i]
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}
