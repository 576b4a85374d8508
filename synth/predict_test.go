package synth

import (
	"cmp"
	"os"
	"slices"
	"testing"
)

// This test checks the property the generator exists for: the next item of
// a user is predictable from the history far beyond popularity. It splits
// users like the data preparation does (held-out users, target at
// position 7 + (len-7)/2, history = up to 50 items before it), fits cheap
// predictors on the other users, and compares Recall@50/@200 with global
// popularity.

type seqs struct {
	items, cats [][]int32 // per user, dense ids
	nItems      int
	itemCat     []int32
}

func toSeqs(rows []row) seqs {
	var s seqs
	itemIdx, catIdx := map[int64]int32{}, map[int64]int32{}
	dense := func(m map[int64]int32, id int64) int32 {
		if x, ok := m[id]; ok {
			return x
		}
		m[id] = int32(len(m))
		return m[id]
	}
	for i, r := range rows {
		if i == 0 || r.user != rows[i-1].user {
			s.items, s.cats = append(s.items, nil), append(s.cats, nil)
		}
		u := len(s.items) - 1
		it, c := dense(itemIdx, r.item), dense(catIdx, r.cat)
		s.items[u] = append(s.items[u], it)
		s.cats[u] = append(s.cats[u], c)
	}
	s.nItems = len(itemIdx)
	s.itemCat = make([]int32, s.nItems)
	for u := range s.items {
		for j, it := range s.items[u] {
			s.itemCat[it] = s.cats[u][j]
		}
	}
	return s
}

// model holds the statistics of the training users.
type model struct {
	pop     []float64
	top     []int32             // items by decreasing popularity
	trans   []map[int32]float64 // next-item counts after each item (next and next-but-one)
	byCat   map[int32][]int32   // items of a category by decreasing popularity
	catPop  map[int32]float64
	itemCat []int32
}

func fit(s seqs, train []int) *model {
	m := &model{pop: make([]float64, s.nItems), trans: make([]map[int32]float64, s.nItems),
		byCat: map[int32][]int32{}, catPop: map[int32]float64{}, itemCat: s.itemCat}
	for _, u := range train {
		seq := s.items[u]
		for j, it := range seq {
			m.pop[it]++
			m.catPop[s.itemCat[it]]++
			for back, w := range []float64{1, 0.5} {
				if j > back {
					prev := seq[j-back-1]
					if m.trans[prev] == nil {
						m.trans[prev] = map[int32]float64{}
					}
					m.trans[prev][it] += w
				}
			}
		}
	}
	for it := range s.nItems {
		if m.pop[it] > 0 {
			m.top = append(m.top, int32(it))
			m.byCat[s.itemCat[it]] = append(m.byCat[s.itemCat[it]], int32(it))
		}
	}
	byPop := func(a, b int32) int { return cmp.Or(cmp.Compare(m.pop[b], m.pop[a]), cmp.Compare(a, b)) }
	slices.SortFunc(m.top, byPop)
	for _, items := range m.byCat {
		slices.SortFunc(items, byPop)
	}
	return m
}

// rank returns the k best items of a score map, completed by popularity.
func (m *model) rank(score map[int32]float64, k int) []int32 {
	type scored struct {
		it int32
		s  float64
	}
	all := make([]scored, 0, len(score))
	for it, x := range score {
		all = append(all, scored{it, x})
	}
	slices.SortFunc(all, func(a, b scored) int { return cmp.Or(cmp.Compare(b.s, a.s), cmp.Compare(a.it, b.it)) })
	out := make([]int32, 0, k)
	for _, x := range all[:min(k, len(all))] {
		out = append(out, x.it)
	}
	for _, it := range m.top {
		if len(out) == k {
			break
		}
		if _, ok := score[it]; !ok {
			out = append(out, it)
		}
	}
	return out
}

// cooc scores items by how often they followed the last few history items,
// plus a little for the history items themselves.
func (m *model) cooc(hist []int32, k int) []int32 { return m.rank(m.coocScore(hist), k) }

func (m *model) coocScore(hist []int32) map[int32]float64 {
	score := map[int32]float64{}
	w := 1.0
	for j := len(hist) - 1; j >= 0 && j >= len(hist)-5; j-- {
		t := m.trans[hist[j]]
		sum := 0.0
		for _, c := range t {
			sum += c
		}
		for it, c := range t {
			score[it] += w * c / sum
		}
		w *= 0.6
	}
	for _, it := range hist { // users come back to items they saw
		score[it] += 0.05
	}
	return score
}

// interestPop scores items by their popularity inside the categories of
// the recent history (recency-weighted): "same-interest popularity".
func (m *model) interestPop(hist []int32, k int) []int32 { return m.rank(m.interestScore(hist, k), k) }

func (m *model) interestScore(hist []int32, k int) map[int32]float64 {
	catW := map[int32]float64{}
	w := 1.0
	for j := len(hist) - 1; j >= 0; j-- {
		catW[m.itemCat[hist[j]]] += w
		w *= 0.8
	}
	score := map[int32]float64{}
	for c, wc := range catW {
		for _, it := range m.byCat[c][:min(k, len(m.byCat[c]))] {
			score[it] += wc * m.pop[it] / m.catPop[c]
		}
	}
	return score
}

// both adds the two scores, each normalised to sum 1.
func (m *model) both(hist []int32, k int) []int32 {
	score := map[int32]float64{}
	for _, part := range []map[int32]float64{m.coocScore(hist), m.interestScore(hist, k)} {
		sum := 0.0
		for _, x := range part {
			sum += x
		}
		for it, x := range part {
			score[it] += x / sum
		}
	}
	return m.rank(score, k)
}

type recalls struct{ pop, interest, cooc, both [2]float64 } // @50, @200

func evaluate(s seqs, test []int, m *model) recalls {
	var r recalls
	hit := func(list []int32, target int32, acc *[2]float64) {
		for i, k := range []int{50, 200} {
			if slices.Contains(list[:min(k, len(list))], target) {
				acc[i]++
			}
		}
	}
	for _, u := range test {
		seq := s.items[u]
		pos := 7 + (len(seq)-7)/2
		hist, target := seq[max(0, pos-50):pos], seq[pos]
		hit(m.top[:min(200, len(m.top))], target, &r.pop)
		hit(m.interestPop(hist, 200), target, &r.interest)
		hit(m.cooc(hist, 200), target, &r.cooc)
		hit(m.both(hist, 200), target, &r.both)
	}
	for _, acc := range []*[2]float64{&r.pop, &r.interest, &r.cooc, &r.both} {
		acc[0] /= float64(len(test))
		acc[1] /= float64(len(test))
	}
	return r
}

// predictConfig is a world big enough for co-occurrence counts to be
// meaningful and small enough to generate and score in about a second.
func predictConfig(t testing.TB) Config {
	cfg := tiny(t)
	cfg.Users, cfg.Items, cfg.Categories, cfg.Interests, cfg.MeanEvents = 8_000, 20_000, 100, 25, 50
	return cfg
}

func TestNextItemBeatsPopularity(t *testing.T) { checkPredictable(t, predictConfig(t), 1000) }

// TestNextItemBeatsPopularitySmall runs the same check on the demo preset
// (about 10 s; set NANN_LONG=1).
func TestNextItemBeatsPopularitySmall(t *testing.T) {
	if os.Getenv("NANN_LONG") == "" {
		t.Skip("set NANN_LONG=1")
	}
	cfg, err := Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	checkPredictable(t, cfg, 3000)
}

func checkPredictable(t *testing.T, cfg Config, nTest int) {
	data, _ := generate(t, cfg)
	s := toSeqs(parseRows(t, data))
	r := newRNG(99)
	var train, test []int
	for _, u := range permutation(&r, len(s.items)) {
		if len(s.items[u]) > 7 && len(test) < nTest {
			test = append(test, int(u))
		} else {
			train = append(train, int(u))
		}
	}
	m := fit(s, train)
	res := evaluate(s, test, m)
	t.Logf("Recall@50/@200 on %d held-out users: popularity %.3f/%.3f, same-interest popularity %.3f/%.3f, co-occurrence %.3f/%.3f, both %.3f/%.3f",
		len(test), res.pop[0], res.pop[1], res.interest[0], res.interest[1], res.cooc[0], res.cooc[1], res.both[0], res.both[1])
	for i, k := range []int{50, 200} {
		if res.cooc[i] < 2*res.pop[i] {
			t.Errorf("co-occurrence Recall@%d %.3f is not 2x popularity %.3f", k, res.cooc[i], res.pop[i])
		}
		if res.interest[i] < 1.5*res.pop[i] {
			t.Errorf("same-interest popularity Recall@%d %.3f is not 1.5x popularity %.3f", k, res.interest[i], res.pop[i])
		}
	}
	// At @200 the few categories of a history hold most of the candidates,
	// so the item-level signal shows at @50.
	if res.both[0] < 1.1*res.interest[0] {
		t.Errorf("items carry little signal beyond their category: Recall@50 with co-occurrence %.3f, without %.3f", res.both[0], res.interest[0])
	}
}
