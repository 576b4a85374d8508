package nn

import (
	"math"
	"math/rand/v2"
)

// Embedding is a lookup table with Num+1 rows of Dim values; row 0 stands
// for "missing/padding" and is masked: looking it up yields zeros and no
// gradient flows into it.
type Embedding struct {
	Num, Dim int
	Table    *Param
}

// NewEmbedding creates "<name>" with (num+1)×dim values drawn from a
// truncated normal of standard deviation 1/sqrt(dim).
func NewEmbedding(s *ParamSet, r *rand.Rand, name string, num, dim int) *Embedding {
	e := &Embedding{Num: num, Dim: dim, Table: s.New(name, true, num+1, dim)}
	TruncatedNormal(r, e.Table.W, 1/math.Sqrt(float64(dim)))
	return e
}

// Lookup writes row ids[i] into out[i*ld+off : i*ld+off+Dim] (zeros for id
// 0). Ids must lie in [0, Num]; callers validate them first.
func (e *Embedding) Lookup(ids []int32, out []float32, ld, off int) {
	for i, id := range ids {
		dst := out[i*ld+off : i*ld+off+e.Dim]
		if id == 0 {
			clear(dst)
			continue
		}
		copy(dst, e.Table.W[int(id)*e.Dim:int(id)*e.Dim+e.Dim])
	}
}

// Backward adds dout[i*ld+off : +Dim] to the gradient row of ids[i] (skipping
// id 0).
func (e *Embedding) Backward(g Grads, ids []int32, dout []float32, ld, off int) {
	gt := g.Of(e.Table)
	for i, id := range ids {
		if id == 0 {
			continue
		}
		src := dout[i*ld+off : i*ld+off+e.Dim]
		dst := gt[int(id)*e.Dim : int(id)*e.Dim+e.Dim]
		for j, v := range src {
			dst[j] += v
		}
	}
}
