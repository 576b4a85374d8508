package synth

import (
	"math"
	"math/bits"
)

// rng is a small, fast, deterministic generator (wyrand). Every user gets
// its own rng seeded from (seed, user index), which is what makes the output
// independent of how users are spread over workers.
type rng struct{ s uint64 }

func newRNG(seed uint64) rng { return rng{s: mix64(seed)} }

// mix64 is the splitmix64 finaliser: a bijective scramble of 64 bits.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// seedFor derives an independent stream seed for one purpose and index.
func seedFor(seed uint64, stream, index uint64) uint64 {
	return mix64(mix64(seed^0x5851f42d4c957f2d*stream) + index)
}

func (r *rng) u64() uint64 {
	r.s += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.s, r.s^0xe7037ed1a0b428db)
	return hi ^ lo
}

// float returns a uniform value in [0, 1).
func (r *rng) float() float64 { return float64(r.u64()>>11) * (1.0 / (1 << 53)) }

// intn returns a uniform value in [0, n); n must be > 0. (Lemire's
// multiply-shift; the bias is below 2^-32 for every n used here.)
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.u64(), uint64(n))
	return int(hi)
}

// norm returns a standard normal value (Box–Muller, one of the pair).
func (r *rng) norm() float64 {
	u := r.float()
	for u == 0 {
		u = r.float()
	}
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*r.float())
}

// geometric returns k >= 1 with P(k) = (1-q) q^(k-1), mean 1/(1-q).
func (r *rng) geometric(mean float64) int {
	if mean <= 1 {
		return 1
	}
	u := r.float()
	for u == 0 {
		u = r.float()
	}
	q := 1 - 1/mean
	return 1 + int(math.Log(u)/math.Log(q))
}

// alias is a Walker/Vose alias table over a set of segments: segment s
// covers [start[s], start[s+1]) and a draw from it returns an absolute
// index inside that range with probability proportional to its weight.
type alias struct {
	prob  []float32
	other []int32
}

func newAlias(n int) alias {
	return alias{prob: make([]float32, n), other: make([]int32, n)}
}

// build fills the table entries [lo, lo+len(w)) from weights w (all >= 0,
// not all zero). small and large are scratch slices.
func (a *alias) build(lo int, w []float64, small, large []int32) {
	n := len(w)
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	scaled := make([]float64, n)
	small, large = small[:0], large[:0]
	for i, x := range w {
		scaled[i] = x * float64(n) / sum
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s := small[len(small)-1]
		small = small[:len(small)-1]
		l := large[len(large)-1]
		a.prob[lo+int(s)] = float32(scaled[s])
		a.other[lo+int(s)] = int32(lo) + l
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range large {
		a.prob[lo+int(i)], a.other[lo+int(i)] = 1, int32(lo)+i
	}
	for _, i := range small { // only reached through rounding error
		a.prob[lo+int(i)], a.other[lo+int(i)] = 1, int32(lo)+i
	}
}

// draw returns an index in [lo, lo+n) of a segment built with build.
func (a *alias) draw(r *rng, lo, n int) int {
	x := r.u64()
	hi, frac := bits.Mul64(x, uint64(n))
	i := lo + int(hi)
	// frac is the leftover fraction of the same draw, uniform in [0, 2^64).
	if float32(frac>>40)*(1.0/(1<<24)) < a.prob[i] {
		return i
	}
	return int(a.other[i])
}

// cumPick returns the index i with cum[i-1] <= u*cum[last] < cum[i] for a
// short non-decreasing cumulative weight slice (linear scan).
func cumPick(r *rng, cum []float64) int {
	u := r.float() * cum[len(cum)-1]
	for i, c := range cum {
		if u < c {
			return i
		}
	}
	return len(cum) - 1
}
