// Package retrieve finds the best-scoring item rows for one query, either by
// beam retrieval over a layered graph (SPEC §6) or by exact brute force.
//
// Retrieval never knows how items are scored: it hands batches of item rows
// to a Scorer that was bound to the query beforehand. Bound scorers come from
// a Corpus, scored by L2 distance over embeddings (here) or by the neural
// network (other packages). Higher scores are better.
//
// Steady-state retrieval does not allocate: a Searcher owns every buffer and
// is reused query after query by one goroutine, and a QueryScorer is re-bound
// in place rather than created per query.
package retrieve

import (
	"errors"
	"fmt"
	"math"

	"nann/internal/vec"
	"nann/item"
)

// Scorer scores item rows for the query it is bound to.
//
// Score writes the score of rows[i] into out[i] (len(out) == len(rows); higher
// is better). Callers pass only rows in [0, NumItems) of the Corpus the scorer
// came from, so implementations may index without checking. A Scorer is used
// by one goroutine at a time. NaN scores are treated as the worst possible.
type Scorer interface {
	Score(rows []item.Row, out []float32)
}

// QueryScorer is a reusable Scorer: Bind does the per-query (user-side) work
// once, after which Score scores items for that query until the next Bind.
// Implementations should make Bind allocation-free after the first call so
// that a worker can keep one QueryScorer for its whole life (or pool them).
type QueryScorer[Q any] interface {
	Scorer
	Bind(query Q) error
}

// Corpus creates scorers over a fixed corpus of NumItems item rows. Q is the
// per-query input: a float32 vector for L2, a user's behaviour sequence or an
// opaque request for a neural model. NewScorer may be called concurrently; each
// returned scorer belongs to one goroutine.
type Corpus[Q any] interface {
	NumItems() int
	NewScorer() QueryScorer[Q]
}

// L2 scores items by negative squared Euclidean distance between the query
// vector and each row of a row-major float32 matrix.
type L2 struct {
	data []float32
	dim  int
	n    int
}

// NewL2 wraps data (n rows of dim values, row-major; not copied) as an L2 model.
func NewL2(data []float32, dim int) (*L2, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("retrieve: L2 dimension %d must be positive", dim)
	}
	if len(data)%dim != 0 {
		return nil, fmt.Errorf("retrieve: L2 matrix of %d values is not a whole number of rows of dimension %d", len(data), dim)
	}
	if len(data)/dim > math.MaxInt32 {
		return nil, fmt.Errorf("retrieve: L2 matrix has %d rows, more than int32 row ids allow", len(data)/dim)
	}
	return &L2{data: data, dim: dim, n: len(data) / dim}, nil
}

// NumItems is the number of rows.
func (m *L2) NumItems() int { return m.n }

// Dim is the vector dimension.
func (m *L2) Dim() int { return m.dim }

// Row returns row i of the matrix (aliased).
func (m *L2) Row(i item.Row) []float32 { return m.data[int(i)*m.dim : (int(i)+1)*m.dim] }

// NewScorer returns an unbound *L2Scorer.
func (m *L2) NewScorer() QueryScorer[[]float32] { return &L2Scorer{m: m, q: make([]float32, m.dim)} }

// L2Scorer is an L2 QueryScorer. Bind copies the query into its own buffer.
type L2Scorer struct {
	m     *L2
	q     []float32
	bound bool
}

var errUnbound = errors.New("retrieve: scorer used before Bind")

// Bind sets the query vector; it must have the model's dimension.
func (s *L2Scorer) Bind(query []float32) error {
	if len(query) != s.m.dim {
		return fmt.Errorf("retrieve: L2 query has %d values, want %d", len(query), s.m.dim)
	}
	copy(s.q, query)
	s.bound = true
	return nil
}

// Score writes −‖q − x_row‖² for every row. It panics if called before Bind.
func (s *L2Scorer) Score(rows []item.Row, out []float32) {
	if !s.bound {
		panic(errUnbound)
	}
	out = out[:len(rows)]
	vec.L2SquaredBatch(s.q, s.m.data, item.RowInt32s(rows), out)
	for i := range out {
		out[i] = -out[i]
	}
}
