package synth

import (
	"math"
	"slices"
	"strconv"
)

// Behaviour types, in the order Stats counts them.
const (
	behPV = iota
	behCart
	behFav
	behBuy
)

var behText = [4]string{",pv,", ",cart,", ",fav,", ",buy,"}

// Behaviour thresholds on a uniform draw: cart below the first, fav below
// the second, buy below the third, pv above. Going back to an item makes a
// cart/fav/buy far more likely; with about one revisit in five the mix is
// close to the real one (89% pv, 5.5% cart, 3% fav, 2% buy).
var (
	behFresh   = [3]float64{0.049, 0.076, 0.092}
	behRevisit = [3]float64{0.106, 0.160, 0.216}
)

// slot is one of a user's interests with its drift over the window.
type slot struct {
	interest     int
	w0, w1       float64 // weight at the start and at the end of the window
	from, to     float64 // active for time fractions in [from, to)
	catLo, catHi int     // its categories in userGen.slotCats / slotCum
}

// userGen generates users one at a time into buf; one per worker.
type userGen struct {
	w   *world
	r   rng
	buf []byte

	slots    []slot
	slotCats []int32
	slotCum  []float64
	slotW    []float64

	starts []int64
	lens   []int32

	hist     []int32 // the user's items so far
	histSlot []uint8 // the slot each was drawn under
	sessLo   int     // index in hist where the current session begins

	rows     int64
	beh      [4]int64
	usedItem []uint64 // bitset over internal item indices
	usedCat  []uint64
}

func newUserGen(w *world) *userGen {
	return &userGen{
		w:        w,
		usedItem: make([]uint64, (w.cfg.Items+63)/64),
		usedCat:  make([]uint64, (w.cfg.Categories+63)/64),
	}
}

// userID maps the user index to a public id: increasing (the file is sorted
// by user) with a gap about every 32 ids, like the real, nearly dense ids.
func userID(u int) int64 { return int64(u) + 1 + int64(u)/32 }

// user appends all rows of user u to g.buf.
func (g *userGen) user(u int) {
	cfg := &g.w.cfg
	g.r = newRNG(seedFor(cfg.Seed, streamUsers, uint64(u)))
	n := g.length()
	g.pickInterests()
	g.sessions(n)
	var prefix [24]byte
	pre := strconv.AppendInt(prefix[:0], userID(u), 10)
	pre = append(pre, ',')
	g.hist, g.histSlot = g.hist[:0], g.histSlot[:0]
	span := float64(cfg.End - cfg.Start + 1)
	t := cfg.Start
	for s, start := range g.starts {
		t = max(t, start)
		f := float64(t-cfg.Start) / span
		sl := g.pickSlot(f)
		cat := g.pickCat(sl)
		g.sessLo = len(g.hist)
		x, rev := g.first(sl, cat)
		for e := range int(g.lens[s]) {
			if e > 0 {
				t += int64(g.w.gaps[g.r.u64()>>52])
				x, rev, sl, cat = g.step(x, sl, cat, f)
			}
			g.emit(pre, x, rev, min(t, cfg.End))
			g.hist = append(g.hist, int32(x))
			g.histSlot = append(g.histSlot, uint8(sl))
		}
	}
}

// length draws the user's number of behaviours (log-normal, calibrated).
func (g *userGen) length() int {
	x := math.Exp(g.w.lenMu + g.w.cfg.LengthSigma*g.r.norm())
	return int(min(max(math.Round(x), 1), float64(g.w.cfg.MaxEvents)))
}

// pickInterests draws the user's interests, their start and end weights
// and, with probability PReplace, a replacement of one of them at a random
// time; then each interest's categories with user-specific weights.
func (g *userGen) pickInterests() {
	cfg := &g.w.cfg
	m := cfg.MinUserInterests + g.r.intn(cfg.MaxUserInterests-cfg.MinUserInterests+1)
	m = min(m, cfg.Interests)
	g.slots = g.slots[:0]
	for len(g.slots) < m {
		g.addSlot(g.r.float()+0.05, 0, 1)
	}
	if m < cfg.Interests && g.r.float() < cfg.PReplace {
		old := &g.slots[g.r.intn(m)]
		at := 0.15 + 0.7*g.r.float()
		old.to = at
		g.addSlot(old.w0, at, 1)
	}
	g.slotCats, g.slotCum = g.slotCats[:0], g.slotCum[:0]
	for i := range g.slots {
		g.userCats(&g.slots[i])
	}
}

// addSlot adds a slot on an interest the user does not have yet.
func (g *userGen) addSlot(w0, from, to float64) {
	w := g.w
	for {
		k := w.interestPop.draw(&g.r, 0, w.cfg.Interests)
		if !slices.ContainsFunc(g.slots, func(s slot) bool { return s.interest == k }) {
			w1 := w0 * math.Exp(w.cfg.DriftSigma*g.r.norm())
			g.slots = append(g.slots, slot{interest: k, w0: w0, w1: w1, from: from, to: to})
			return
		}
	}
}

// userCats sets the user's weights over the categories of a slot's
// interest: the world's weight times a personal log-normal factor.
func (g *userGen) userCats(s *slot) {
	w := g.w
	lo, hi := w.intStart[s.interest], w.intStart[s.interest+1]
	s.catLo = len(g.slotCats)
	t := 0.0
	for i := lo; i < hi; i++ {
		t += w.intCatW[i] * math.Exp(0.8*g.r.norm())
		g.slotCats = append(g.slotCats, w.intCats[i])
		g.slotCum = append(g.slotCum, t)
	}
	s.catHi = len(g.slotCats)
}

// sessions splits n behaviours into sessions (geometric lengths) and
// draws their start times (day and hour profiles), sorted.
func (g *userGen) sessions(n int) {
	w := g.w
	g.lens, g.starts = g.lens[:0], g.starts[:0]
	for left := n; left > 0; {
		l := min(g.r.geometric(w.cfg.SessionMean), left)
		g.lens = append(g.lens, int32(l))
		left -= l
	}
	for range g.lens {
		d := cumPick(&g.r, w.dayCum)
		h := cumPick(&g.r, w.hourCum[:])
		t := w.cfg.Start + int64(d)*86400 + int64(h)*3600 + int64(g.r.intn(3600))
		g.starts = append(g.starts, min(t, w.cfg.End))
	}
	slices.Sort(g.starts)
}

// pickSlot draws one of the interests active at time fraction f, by their
// drifted weights.
func (g *userGen) pickSlot(f float64) int {
	g.slotW = g.slotW[:0]
	t := 0.0
	for _, s := range g.slots {
		if f >= s.from && f < s.to {
			t += (1-f)*s.w0 + f*s.w1
		}
		g.slotW = append(g.slotW, t)
	}
	return cumPick(&g.r, g.slotW)
}

func (g *userGen) pickCat(sl int) int {
	s := g.slots[sl]
	return int(g.slotCats[s.catLo+cumPick(&g.r, g.slotCum[s.catLo:s.catHi])])
}

// popular draws an item of category c by popularity.
func (g *userGen) popular(c int) int {
	lo, hi := int(g.w.catStart[c]), int(g.w.catStart[c+1])
	return g.w.itemPop.draw(&g.r, lo, hi-lo)
}

// first opens a session: an earlier item of the same interest with
// probability PSessionRevisit, else a popular item of the category.
func (g *userGen) first(sl, cat int) (int, bool) {
	if g.r.float() < g.w.cfg.PSessionRevisit {
		skip := g.r.geometric(3) - 1
		for i := len(g.hist) - 1; i >= 0 && i >= len(g.hist)-300; i-- {
			if int(g.histSlot[i]) != sl || i == len(g.hist)-1 { // never the item just seen
				continue
			}
			if skip == 0 {
				return int(g.hist[i]), true
			}
			skip--
		}
	}
	return g.popular(cat), false
}

// step draws the next behaviour of a session from the current item x.
func (g *userGen) step(x, sl, cat int, f float64) (int, bool, int, int) {
	cfg := &g.w.cfg
	u := g.r.float()
	y, rev := -1, false
	switch {
	case u < cfg.PFollow:
		R := cfg.Related
		y = int(g.w.related[x*R+cumPick(&g.r, g.w.relCum)])
		cat = int(g.w.itemCat[y])
	case u < cfg.PFollow+cfg.PRevisit:
		y = g.revisit(x)
		rev = y >= 0
		if rev {
			cat = int(g.w.itemCat[y])
		}
	case u < cfg.PFollow+cfg.PRevisit+cfg.PSameCategory:
	case u < cfg.PFollow+cfg.PRevisit+cfg.PSameCategory+cfg.PSwitchCategory:
		cat = g.pickCat(sl)
	case u >= 1-cfg.PExplore:
		k := g.w.interestPop.draw(&g.r, 0, cfg.Interests)
		lo, hi := g.w.intStart[k], g.w.intStart[k+1]
		cat = int(g.w.intCats[int(lo)+cumPick(&g.r, g.w.intCatCum[lo:hi])])
	default:
		sl = g.pickSlot(f)
		cat = g.pickCat(sl)
	}
	for try := 0; (y < 0 || y == x) && try < 4; try++ {
		y, rev = g.popular(cat), false
	}
	if y == x { // a one-item category: any other item
		y = (x + 1 + g.r.intn(cfg.Items-1)) % cfg.Items
		cat = int(g.w.itemCat[y])
	}
	return y, rev, sl, cat
}

// revisit returns an earlier item other than x (half the time from this
// session, else from the recent history), or -1 if there is none.
func (g *userGen) revisit(x int) int {
	n := len(g.hist)
	if n < 2 {
		return -1
	}
	lo := max(0, n-1-g.r.geometric(12))
	if g.r.float() < 0.5 && n-g.sessLo >= 2 {
		lo = g.sessLo + g.r.intn(n-g.sessLo-1)
	}
	if y := int(g.hist[lo]); y != x {
		return y
	}
	return -1
}

// emit appends one row and counts it.
func (g *userGen) emit(pre []byte, x int, rev bool, t int64) {
	w := g.w
	th := &behFresh
	if rev {
		th = &behRevisit
	}
	b := behPV
	if u := g.r.float(); u < th[2] {
		b = behCart
		if u >= th[0] {
			b = behFav
		}
		if u >= th[1] {
			b = behBuy
		}
	}
	c := w.itemCat[x]
	buf := append(g.buf, pre...)
	buf = strconv.AppendInt(buf, int64(w.itemID[x]), 10)
	buf = append(buf, ',')
	buf = strconv.AppendInt(buf, int64(w.catID[c]), 10)
	buf = append(buf, behText[b]...)
	buf = strconv.AppendInt(buf, t, 10)
	g.buf = append(buf, '\n')
	g.rows++
	g.beh[b]++
	g.usedItem[x>>6] |= 1 << (x & 63)
	g.usedCat[c>>6] |= 1 << (c & 63)
}
