package hnsw

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"

	"nann/internal/parallel"
	"nann/internal/vec"
	"nann/item"
)

// Clustered returns n×dim row-major vectors drawn from a mixture of
// Gaussian clusters: centres ~ N(0, 1) per coordinate, points = centre +
// N(0, spread²), each point's cluster chosen uniformly at random.
func Clustered(n, dim, clusters int, spread float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	centres := make([]float64, clusters*dim)
	for i := range centres {
		centres[i] = r.NormFloat64()
	}
	x := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		c := centres[r.IntN(clusters)*dim:][:dim]
		for j := range dim {
			x[i*dim+j] = float32(c[j] + spread*r.NormFloat64())
		}
	}
	return x
}

// NoisyQueries makes nq queries the way the peer anchor script does: random
// distinct base rows plus Gaussian noise of noise·std(x) per coordinate.
func NoisyQueries(x []float32, dim, nq int, noise float64, seed uint64) []float32 {
	n := len(x) / dim
	nq = min(nq, n)
	r := rand.New(rand.NewPCG(seed, 0x9e71))
	sigma := noise * stddev(x)
	q := make([]float32, 0, nq*dim)
	for _, i := range r.Perm(n)[:nq] {
		for _, v := range x[i*dim : (i+1)*dim] {
			q = append(q, v+float32(sigma*r.NormFloat64()))
		}
	}
	return q
}

func stddev(x []float32) float64 {
	var s, s2 float64
	for _, v := range x {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	m := s / float64(len(x))
	return math.Sqrt(max(0, s2/float64(len(x))-m*m))
}

// ExactKNN returns the k nearest rows of x (L2) to each query, closest
// first, by brute force on workers goroutines.
func ExactKNN(x []float32, dim int, queries []float32, k, workers int) [][]item.Row {
	n, nq := len(x)/dim, len(queries)/dim
	out := make([][]item.Row, nq)
	parallel.ForEach(context.Background(), nq, max(1, workers), func() *maxHeap { return new(maxHeap) }, func(_ context.Context, hp *maxHeap, qi int) error {
		q := queries[qi*dim : (qi+1)*dim]
		h := hp
		h.reset()
		for i := 0; i < n; i++ {
			d := vec.L2Squared(q, x[i*dim:(i+1)*dim])
			if h.len() < k {
				h.push(cand{d, int32(i)})
			} else if d < h.top().d {
				h.replaceTop(cand{d, int32(i)})
			}
		}
		items := h.drainAscending(nil)
		ids := make([]item.Row, len(items))
		for j, it := range items {
			ids[j] = item.Row(it.id)
		}
		out[qi] = ids
		return nil
	})
	return out
}

// Recall is the mean over queries of |got ∩ truth| / |truth|.
func Recall(got, truth [][]item.Row) float64 {
	if len(truth) == 0 {
		return 0
	}
	s := 0.0
	for i, t := range truth {
		if len(t) == 0 {
			continue
		}
		hit := 0
		for _, id := range got[i] {
			if slices.Contains(t, id) {
				hit++
			}
		}
		s += float64(hit) / float64(len(t))
	}
	return s / float64(len(truth))
}
