package synth

import (
	"cmp"
	"math"
	"slices"
)

// world is the latent structure users draw their behaviours from. Items
// have internal indices 0..N-1, laid out contiguously by category and,
// inside a category, by cluster; the public ids are affine permutations.
type world struct {
	cfg Config

	catStart []int32   // items of category c: [catStart[c], catStart[c+1])
	itemCat  []int32   // category of each item
	itemPop  alias     // per-category segments: an item of category c by popularity
	itemW    []float32 // popularity weight of each item inside its category (build only)

	related []int32   // Related links per item, strongest first
	relCum  []float64 // cumulative follow weights of the links

	intStart    []int32   // categories of interest k: intCats[intStart[k]:intStart[k+1]]
	intCats     []int32   //
	intCatW     []float64 // base weight of each (interest, category) entry
	intCatCum   []float64 // intCatW accumulated within each interest
	interestPop alias     // one segment over all interests

	itemID []int32 // public item ids
	catID  []int32 // public category ids

	hourCum [24]float64 // diurnal activity (China time)
	dayCum  []float64   // activity per day of the window
	gaps    [4096]int32 // quantiles of the gap between behaviours of a session
	lenMu   float64     // log-space mean of a user's number of behaviours
}

// Stream numbers that keep the random draws of each world part independent.
const (
	streamCats = iota + 1
	streamItems
	streamRelated
	streamInterests
	streamIDs
	streamUsers
)

func newWorld(cfg Config) *world {
	w := &world{cfg: cfg}
	catW := w.buildCategories()
	w.buildItems()
	w.buildInterests(catW)
	w.buildRelated()
	w.buildIDs()
	w.buildTime()
	w.lenMu = calibrateLength(cfg)
	return w
}

// zipfWeights returns n weights 1/(rank+1)^s with ranks in random order.
func zipfWeights(r *rng, n int, s float64) []float64 {
	w := make([]float64, n)
	for i, p := range permutation(r, n) {
		w[i] = math.Pow(float64(p)+1, -s)
	}
	return w
}

func permutation(r *rng, n int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	for i := n - 1; i > 0; i-- {
		j := r.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// buildCategories gives each category a popularity and a number of items
// (roughly proportional to popularity^0.7, at least one).
func (w *world) buildCategories() []float64 {
	cfg := w.cfg
	r := newRNG(seedFor(cfg.Seed, streamCats, 0))
	catW := zipfWeights(&r, cfg.Categories, cfg.CategoryZipf)
	share := make([]float64, cfg.Categories)
	sum := 0.0
	for c, x := range catW {
		share[c] = math.Pow(x, 0.7)
		sum += share[c]
	}
	extra := cfg.Items - cfg.Categories
	counts := make([]int, cfg.Categories)
	type rem struct {
		c int
		f float64
	}
	given := 0
	rems := make([]rem, cfg.Categories)
	for c := range counts {
		x := float64(extra) * share[c] / sum
		counts[c] = 1 + int(x)
		given += int(x)
		rems[c] = rem{c, x - math.Floor(x)}
	}
	// Largest remainders get the items left over (stable tie order).
	sortByDesc(rems, func(a rem) float64 { return a.f })
	for i := 0; given < extra; i++ {
		counts[rems[i%len(rems)].c]++
		given++
	}
	w.catStart = make([]int32, cfg.Categories+1)
	for c, n := range counts {
		w.catStart[c+1] = w.catStart[c] + int32(n)
	}
	w.itemCat = make([]int32, cfg.Items)
	for c := range counts {
		for i := w.catStart[c]; i < w.catStart[c+1]; i++ {
			w.itemCat[i] = int32(c)
		}
	}
	return catW
}

// buildItems sets each item's popularity inside its category (Zipf with
// ranks in random order, so a cluster mixes popular and rare items).
func (w *world) buildItems() {
	cfg := w.cfg
	w.itemPop = newAlias(cfg.Items)
	w.itemW = make([]float32, cfg.Items)
	var small, large []int32
	for c := 0; c < cfg.Categories; c++ {
		lo, hi := int(w.catStart[c]), int(w.catStart[c+1])
		r := newRNG(seedFor(cfg.Seed, streamItems, uint64(c)))
		wt := zipfWeights(&r, hi-lo, cfg.ItemZipf)
		for i, x := range wt {
			w.itemW[lo+i] = float32(x)
		}
		if cap(small) < len(wt) {
			small, large = make([]int32, 0, len(wt)), make([]int32, 0, len(wt))
		}
		w.itemPop.build(lo, wt, small, large)
	}
}

// buildInterests deals the categories round-robin (in random order) to the
// interests, then adds to each interest one category of another interest
// at a lower weight, so that interests overlap a little.
func (w *world) buildInterests(catW []float64) {
	cfg := w.cfg
	r := newRNG(seedFor(cfg.Seed, streamInterests, 0))
	members := make([][]int32, cfg.Interests)
	for i, c := range permutation(&r, cfg.Categories) {
		members[i%cfg.Interests] = append(members[i%cfg.Interests], c)
	}
	w.intStart = make([]int32, cfg.Interests+1)
	for k, m := range members {
		for _, c := range m {
			w.intCats = append(w.intCats, c)
			w.intCatW = append(w.intCatW, catW[c])
		}
		if cfg.Interests > 1 {
			c := int32(r.intn(cfg.Categories))
			if !contains(m, c) {
				w.intCats = append(w.intCats, c)
				w.intCatW = append(w.intCatW, 0.3*catW[c])
			}
		}
		w.intStart[k+1] = int32(len(w.intCats))
		t := 0.0
		for _, x := range w.intCatW[w.intStart[k]:] {
			t += x
			w.intCatCum = append(w.intCatCum, t)
		}
	}
	w.interestPop = newAlias(cfg.Interests)
	wt := zipfWeights(&r, cfg.Interests, cfg.InterestZipf)
	w.interestPop.build(0, wt, make([]int32, 0, len(wt)), make([]int32, 0, len(wt)))
}

func contains(s []int32, x int32) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// primaryInterest returns, for each category, the interest it was dealt to.
func (w *world) primaryInterest() []int32 {
	p := make([]int32, w.cfg.Categories)
	for k := 0; k < w.cfg.Interests; k++ {
		// The primary members come first; the extra one (if any) is last
		// and belongs primarily to another interest.
		lo, hi := w.intStart[k], w.intStart[k+1]
		for _, c := range w.intCats[lo:hi] {
			if p[c] == 0 {
				p[c] = int32(k) + 1
			}
		}
	}
	for c := range p {
		p[c]--
	}
	return p
}

// buildIDs picks the affine maps from internal indices to public ids:
// id = (a*i + b) mod P + 1 with P a prime above 3 N, so ids are positive,
// distinct and spread like the real ones rather than dense 1..N.
func (w *world) buildIDs() {
	cfg := w.cfg
	r := newRNG(seedFor(cfg.Seed, streamIDs, 0))
	w.itemID = affineIDs(&r, cfg.Items, 3*cfg.Items+1000)
	w.catID = affineIDs(&r, cfg.Categories, 3*cfg.Items+1000)
}

func affineIDs(r *rng, n, above int) []int32 {
	p := nextPrime(above)
	a := 1 + r.intn(p-1) // non-zero, so a is invertible modulo the prime
	b := r.intn(p)
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32((uint64(a)*uint64(i)+uint64(b))%uint64(p)) + 1
	}
	return ids
}

func nextPrime(n int) int {
	for p := n | 1; ; p += 2 {
		if isPrime(p) {
			return p
		}
	}
}

func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// buildTime sets the diurnal profile (shape of the real data: quiet at
// night, peaks in the evening), the day profile (the last weekend busier)
// and the table of within-session gaps (log-normal, median ~45 s).
func (w *world) buildTime() {
	hours := [24]float64{
		4.0, 2.0, 1.0, 0.7, 0.6, 0.8, 1.5, 2.5, 3.5, 4.5, 5.0, 5.0,
		4.8, 5.0, 5.0, 5.0, 4.8, 4.5, 4.5, 5.5, 6.5, 7.0, 7.0, 5.5,
	}
	s := 0.0
	for h, x := range hours {
		s += x
		w.hourCum[h] = s
	}
	days := int((w.cfg.End-w.cfg.Start)/86400) + 1
	w.dayCum = make([]float64, days)
	s = 0
	for d := range days {
		x := 1.0
		if d >= 7 && d <= 8 { // 2–3 Dec 2017, the weekend before 12.12
			x = 1.25
		}
		s += x
		w.dayCum[d] = s
	}
	for i := range w.gaps {
		q := (float64(i) + 0.5) / float64(len(w.gaps))
		g := math.Exp(math.Log(45) + 1.4*normQuantile(q))
		w.gaps[i] = int32(min(g, 3600))
	}
}

// normQuantile is the standard normal inverse CDF (Acklam's rational
// approximation, relative error < 1.2e-9).
func normQuantile(p float64) float64 {
	a := [6]float64{-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00}
	b := [5]float64{-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01}
	c := [6]float64{-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00}
	d := [4]float64{7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00}
	const lo = 0.02425
	switch {
	case p < lo:
		q := math.Sqrt(-2 * math.Log(p))
		return (((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	case p > 1-lo:
		q := math.Sqrt(-2 * math.Log(1-p))
		return -(((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	default:
		q := p - 0.5
		t := q * q
		return (((((a[0]*t+a[1])*t+a[2])*t+a[3])*t+a[4])*t + a[5]) * q / (((((b[0]*t+b[1])*t+b[2])*t+b[3])*t+b[4])*t + 1)
	}
}

// sortByDesc sorts s by decreasing key, keeping the order of equal keys.
func sortByDesc[T any](s []T, key func(T) float64) {
	slices.SortStableFunc(s, func(a, b T) int { return cmp.Compare(key(b), key(a)) })
}

// calibrateLength finds mu such that round(exp(mu + sigma Z)), clamped to
// [1, MaxEvents], has mean MeanEvents (bisection on a quantile grid).
func calibrateLength(cfg Config) float64 {
	var z [2048]float64
	for i := range z {
		z[i] = normQuantile((float64(i) + 0.5) / float64(len(z)))
	}
	mean := func(mu float64) float64 {
		s := 0.0
		for _, q := range z {
			x := math.Round(math.Exp(mu + cfg.LengthSigma*q))
			s += min(max(x, 1), float64(cfg.MaxEvents))
		}
		return s / float64(len(z))
	}
	lo, hi := -5.0, math.Log(float64(cfg.MaxEvents))+1
	for range 60 {
		mid := (lo + hi) / 2
		if mean(mid) < cfg.MeanEvents {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}
