package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Sampler draws negatives from a fixed unigram distribution with the
// alias method, as TensorFlow's fixed_unigram_candidate_sampler with
// unique=True does: it draws until it holds the requested number of
// distinct items and reports how many draws (tries) that took, from which
// the expected count of any item under the sampler follows.
type Sampler struct {
	prob  []float64 // normalised probability of each dense id (0 unused)
	alias []int32
	cut   []float64 // alias-table acceptance threshold per slot
	ids   []int32   // slot → dense item id (items with weight > 0)
	seen  []uint32  // per dense id: stamp of the draw that last took it
	stamp uint32
}

// NewSampler builds a sampler over dense ids 1..len(weight)-1 with
// probabilities proportional to weight (weight[0] is ignored). Items of
// weight 0 are never drawn.
func NewSampler(weight []float64) (*Sampler, error) {
	if len(weight) < 2 {
		return nil, errors.New("sampler: no items")
	}
	total := 0.0
	var ids []int32
	for i := 1; i < len(weight); i++ {
		w := weight[i]
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("sampler: weight of item %d is %v", i, w)
		}
		if w > 0 {
			total += w
			ids = append(ids, int32(i))
		}
	}
	if total == 0 {
		return nil, errors.New("sampler: all item weights are 0")
	}
	s := &Sampler{prob: make([]float64, len(weight)), ids: ids, seen: make([]uint32, len(weight))}
	for i := 1; i < len(weight); i++ {
		s.prob[i] = weight[i] / total
	}
	s.buildAlias()
	return s, nil
}

// buildAlias builds Vose's alias table over s.ids.
func (s *Sampler) buildAlias() {
	n := len(s.ids)
	s.alias = make([]int32, n)
	s.cut = make([]float64, n)
	scaled := make([]float64, n)
	var small, large []int32
	for k, id := range s.ids {
		scaled[k] = s.prob[id] * float64(n)
		if scaled[k] < 1 {
			small = append(small, int32(k))
		} else {
			large = append(large, int32(k))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		a, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		s.cut[a], s.alias[a] = scaled[a], l
		scaled[l] -= 1 - scaled[a]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, k := range large {
		s.cut[k], s.alias[k] = 1, k
	}
	for _, k := range small { // rounding leftovers
		s.cut[k], s.alias[k] = 1, k
	}
}

// Support is the number of items that can be drawn.
func (s *Sampler) Support() int { return len(s.ids) }

// Prob is the sampling probability of dense id item.
func (s *Sampler) Prob(item int32) float64 { return s.prob[item] }

// draw returns one dense id.
func (s *Sampler) draw(r *rand.Rand) int32 {
	k := r.IntN(len(s.ids))
	if r.Float64() < s.cut[k] {
		return s.ids[k]
	}
	return s.ids[s.alias[k]]
}

// maxTriesFactor bounds the draws of one unique sample: past
// maxTriesFactor×n draws the request is too large for the corpus.
const maxTriesFactor = 50

// ErrTooLarge reports a unique sample that the corpus cannot supply in
// reasonable time.
var ErrTooLarge = errors.New("too many unique negatives for this corpus")

// SampleUnique fills out with len(out) distinct dense ids and returns the
// number of draws it took.
func (s *Sampler) SampleUnique(r *rand.Rand, out []int32) (tries int, err error) {
	n := len(out)
	if n > len(s.ids) {
		return 0, fmt.Errorf("%w: %d distinct items asked, only %d items have a non-zero weight", ErrTooLarge, n, len(s.ids))
	}
	s.stamp++
	if s.stamp == 0 { // wrapped: reset
		clear(s.seen)
		s.stamp = 1
	}
	limit := maxTriesFactor*n + 1000
	for got := 0; got < n; {
		if tries >= limit {
			return tries, fmt.Errorf("%w: %d draws gave only %d of %d distinct items", ErrTooLarge, tries, got, n)
		}
		id := s.draw(r)
		tries++
		if s.seen[id] != s.stamp {
			s.seen[id] = s.stamp
			out[got] = id
			got++
		}
	}
	return tries, nil
}

// ExpectedCount is the expected number of times item appears in a unique
// sample that took tries draws, 1 − (1 − p)^tries, as TensorFlow computes
// it for unique=True.
func (s *Sampler) ExpectedCount(item int32, tries int) float64 {
	return ExpectedCount(s.prob[item], tries)
}

// ExpectedCount is 1 − (1 − p)^tries, computed as
// −expm1(tries·log1p(−p)) for accuracy at small p.
func ExpectedCount(p float64, tries int) float64 {
	if p >= 1 {
		return 1
	}
	return -math.Expm1(float64(tries) * math.Log1p(-p))
}

// LogQ is log(ExpectedCount), floored so that items of probability 0 (a
// positive that the sampler never draws) give a finite correction.
func LogQ(p float64, tries int) float32 {
	c := ExpectedCount(p, tries)
	const floor = 1e-30
	if c < floor {
		c = floor
	}
	return float32(math.Log(c))
}
