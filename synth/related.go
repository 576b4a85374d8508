package synth

import (
	"math"
	"sort"
)

// span is a half-open range of internal item indices.
type span struct{ lo, hi int }

// clusters splits category c into about size/ClusterSize contiguous clusters.
func (w *world) clusters(c int) []span {
	lo, hi := int(w.catStart[c]), int(w.catStart[c+1])
	n := hi - lo
	k := max(1, int(math.Round(float64(n)/float64(w.cfg.ClusterSize))))
	out := make([]span, k)
	for i := range out {
		out[i] = span{lo + i*n/k, lo + (i+1)*n/k}
	}
	return out
}

// buildRelated gives every item its related links: Related-CrossLinks
// items of its own cluster (drawn by the square root of popularity,
// distinct when the cluster allows), then CrossLinks items of the
// cluster's linked cluster, which lies in another category of the same
// interest. A session that follows
// links therefore stays inside a few clusters and crosses to related
// categories, which is what item co-occurrence can learn.
func (w *world) buildRelated() {
	cfg := w.cfg
	R := cfg.Related
	w.related = make([]int32, cfg.Items*R)
	w.relCum = make([]float64, R)
	s, x := 0.0, 1.0
	for i := range w.relCum {
		s += x
		w.relCum[i] = s
		x *= cfg.RelatedDecay
	}
	prim := w.primaryInterest()
	var cum []float64
	for c := 0; c < cfg.Categories; c++ {
		r := newRNG(seedFor(cfg.Seed, streamRelated, uint64(c)))
		for _, cl := range w.clusters(c) {
			link := w.linkedCluster(&r, c, prim)
			cum = w.sqrtCum(cum[:0], cl)
			linkCum := w.sqrtCum(nil, link)
			for j := cl.lo; j < cl.hi; j++ {
				out := w.related[j*R : (j+1)*R]
				w.fillLinks(&r, j, out, cl, cum, link, linkCum)
			}
		}
	}
	w.itemW = nil
}

// linkedCluster picks the cluster that a cluster of category c links to:
// a random cluster of another category of c's interest (weighted by the
// categories' weights), or of any other category if the interest has one.
func (w *world) linkedCluster(r *rng, c int, prim []int32) span {
	k := prim[c]
	cats := w.intCats[w.intStart[k]:w.intStart[k+1]]
	wts := w.intCatW[w.intStart[k]:w.intStart[k+1]]
	total := 0.0
	for i, x := range cats {
		if int(x) != c {
			total += wts[i]
		}
	}
	lc := c
	if total > 0 {
		u := r.float() * total
		for i, x := range cats {
			if int(x) == c {
				continue
			}
			lc = int(x)
			if u -= wts[i]; u < 0 {
				break
			}
		}
	} else if w.cfg.Categories > 1 {
		lc = (c + 1 + r.intn(w.cfg.Categories-1)) % w.cfg.Categories
	}
	cl := w.clusters(lc)
	return cl[r.intn(len(cl))]
}

// sqrtCum appends the cumulative sqrt-popularity of the items of s.
func (w *world) sqrtCum(cum []float64, s span) []float64 {
	t := 0.0
	for j := s.lo; j < s.hi; j++ {
		t += math.Sqrt(float64(w.itemW[j]))
		cum = append(cum, t)
	}
	return cum
}

func pickCum(r *rng, s span, cum []float64) int {
	u := r.float() * cum[len(cum)-1]
	i := sort.SearchFloat64s(cum, u)
	if i >= len(cum) {
		i = len(cum) - 1
	}
	return s.lo + i
}

// fillLinks draws the links of item j (never j itself; distinct when the
// clusters are big enough).
func (w *world) fillLinks(r *rng, j int, out []int32, cl span, cum []float64, link span, linkCum []float64) {
	R := len(out)
	inner := R - w.cfg.CrossLinks
	for i := 0; i < R; i++ {
		s, sc := cl, cum
		if i >= inner || cl.hi-cl.lo == 1 {
			s, sc = link, linkCum
		}
		out[i] = int32(w.drawLink(r, j, out[:i], s, sc))
	}
}

func (w *world) drawLink(r *rng, j int, have []int32, s span, cum []float64) int {
	var x int
	for try := 0; try < 32; try++ {
		x = pickCum(r, s, cum)
		if x != j && !contains(have, int32(x)) {
			return x
		}
	}
	if x == j { // a one-item span holding j itself: any other item
		x = (j + 1 + r.intn(w.cfg.Items-1)) % w.cfg.Items
	}
	return x
}
