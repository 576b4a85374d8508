package retrieve

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"
	"text/tabwriter"
	"time"

	"nann/item"
)

// BenchmarkFilterCrossover measures filtered retrieval on an HNSW graph over
// clustered vectors (NANN_FILTER_N items, default 100 000; 32-d; L2): per
// fraction of the corpus allowed by a random-rows filter and per strategy,
// the beam's recall against filtered brute force (the exact scan of the
// allowed rows), the items each scores, and their time, the beam and the
// exact scan interleaved query by query so that the ratio holds on a busy
// machine. The exact scan wins below the fraction where its time drops
// under the beam's (its recall is 1). NANN_FILTER_KIND=cates includes a
// random choice of the 64 classes (spatial cells: the filter is correlated
// with the embedding, the hard case for a walk) instead of random rows. It
// prints one table; run once:
//
//	go test ./retrieve -run '^$' -bench FilterCrossover -benchtime 1x -v
func BenchmarkFilterCrossover(b *testing.B) {
	n := 100_000
	if s := os.Getenv("NANN_FILTER_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1000 {
			b.Fatalf("NANN_FILTER_N=%q: want an integer ≥ 1000", s)
		}
		n = v
	}
	const nq = 50
	start := time.Now()
	w := newFilterWorld(n, 32, 64, nq)
	b.Logf("world: %d items, 32-d, HNSW built in %.1fs", n, time.Since(start).Seconds())
	beam := DefaultServing()
	fracs := []float64{0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005}
	cates := os.Getenv("NANN_FILTER_KIND") == "cates"
	if cates {
		fracs = []float64{32.0 / 64, 13.0 / 64, 6.0 / 64, 3.0 / 64, 1.0 / 64} // classes included / 64
	}
	strategies := []FilterStrategy{Traverse, Skip, Bridge, Auto}
	for b.Loop() {
		tw := tabwriter.NewWriter(os.Stdout, 2, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "allowed\tstrategy\trecall\tbeam scored\tunfiltered scored\texact scored\tbeam p50 µs\tbeam p99 µs\texact p50 µs\texact/beam time\t")
		for _, frac := range fracs {
			for _, st := range strategies {
				r := crossoverRow(w, beam, st, frac, nq, cates)
				fmt.Fprintf(tw, "%.1f%%\t%s\t%.3f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.2f\t\n", frac*100, st, r.recall, r.scored, r.plain, r.exactScored,
					r.beamP50, r.beamP99, r.exactP50, r.exactTime/r.beamTime)
			}
		}
		tw.Flush()
	}
}

type crossover struct {
	recall, scored, plain, exactScored float64
	beamP50, beamP99, exactP50         float64 // µs
	beamTime, exactTime                float64 // s, summed
}

func crossoverRow(w *filterWorld, b Beam, st FilterStrategy, frac float64, nq int, cates bool) crossover {
	rng := rand.New(rand.NewPCG(uint64(frac*1e6), 11))
	s := NewSearcher(w.g)
	f, _ := NewFilter(w.n, w.part)
	sc := w.m.NewScorer()
	var out crossover
	var beamT, exactT []float64
	for i := range nq {
		_ = sc.Bind(w.query(i))
		if cates {
			f.Reset()
			for _, c := range rng.Perm(w.classes)[:int(frac*float64(w.classes)+0.5)] {
				_ = f.IncludeClass(int32(c))
			}
		} else {
			randomRows(rng, f, frac)
		}
		un, _ := s.Search(sc, b)
		out.plain += float64(un.Stats.Total)
		t0 := time.Now()
		want, err := s.SearchFiltered(sc, b, f, FilterPolicy{ExactBelow: 1})
		exactT = append(exactT, time.Since(t0).Seconds())
		if err != nil {
			panic(err)
		}
		out.exactScored += float64(want.Stats.Total)
		truth := map[item.Row]bool{}
		for _, r := range want.Rows {
			truth[r] = true
		}
		t0 = time.Now()
		got, err := s.SearchFiltered(sc, b, f, FilterPolicy{Strategy: st, TraverseAbove: DefaultTraverseAbove, ExactBelow: 0})
		beamT = append(beamT, time.Since(t0).Seconds())
		if err != nil {
			panic(err)
		}
		hit := 0
		for _, r := range got.Rows {
			if truth[r] {
				hit++
			}
		}
		out.recall += float64(hit) / float64(len(want.Rows))
		out.scored += float64(got.Stats.Total)
	}
	q := float64(nq)
	out.recall, out.scored, out.plain, out.exactScored = out.recall/q, out.scored/q, out.plain/q, out.exactScored/q
	for _, t := range beamT {
		out.beamTime += t
	}
	for _, t := range exactT {
		out.exactTime += t
	}
	sort.Float64s(beamT)
	sort.Float64s(exactT)
	out.beamP50, out.beamP99 = beamT[len(beamT)/2]*1e6, beamT[len(beamT)*99/100]*1e6
	out.exactP50 = exactT[len(exactT)/2] * 1e6
	return out
}
