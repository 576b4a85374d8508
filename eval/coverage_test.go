package eval

import (
	"context"
	"math"
	"slices"
	"testing"

	"nann/item"
	"nann/retrieve"
)

func TestTopSetOverlaps(t *testing.T) {
	var ts topSet
	ts.set([]item.Row{5, 3, 9, 1})
	out := make([]int32, 3)
	ts.overlaps([]item.Row{3, 7, 5, 1}, []int{1, 2, 4}, out)
	// K=1: {3} vs {5}; K=2: {3,7} vs {5,3}; K=4: {3,7,5,1} vs {5,3,9,1}.
	if want := []int32{0, 1, 3}; !slices.Equal(out, want) {
		t.Fatalf("overlaps %v, want %v", out, want)
	}
	ts.set([]item.Row{2})
	ts.overlaps([]item.Row{4, 2}, []int{1, 2}, out[:2])
	if want := []int32{0, 1}; !slices.Equal(out[:2], want) {
		t.Fatalf("after reuse: overlaps %v, want %v", out[:2], want)
	}
}

func TestMeanSE(t *testing.T) {
	for _, c := range []struct {
		v        []float64
		mean, se float64
	}{
		{[]float64{1, 0, 0, 1, 1}, 0.6, math.Sqrt(0.3 / 5)}, // sample variance (3·0.16+2·0.36)/4 = 0.3
		{[]float64{1, 1.0 / 3}, 2.0 / 3, 1.0 / 3},
		{[]float64{0.25}, 0.25, 0},
		{nil, 0, 0},
	} {
		m, se := meanSE(c.v)
		if math.Abs(m-c.mean) > 1e-12 || math.Abs(se-c.se) > 1e-12 {
			t.Errorf("meanSE(%v) = %g ± %g, want %g ± %g", c.v, m, se, c.mean, c.se)
		}
	}
}

// tableCorpus binds each query to its own table of item scores.
type tableCorpus int

func (c tableCorpus) NumItems() int                              { return int(c) }
func (c tableCorpus) NewScorer() retrieve.QueryScorer[[]float32] { return &tableScorer{} }
func (s *tableScorer) Bind(q []float32) error                    { s.q = q; return nil }
func (s *tableScorer) Score(rows []item.Row, out []float32) {
	for i, r := range rows {
		out[i] = s.q[r]
	}
}

type tableScorer struct{ q []float32 }

// Two queries on a graph where every search sees only items 0, 1, 2 (the
// one enter point 0 and its two level-0 links): recall, coverage and their
// standard errors worked out by hand.
func TestCoverageAndErrorsByHand(t *testing.T) {
	adj := [][][]item.Row{{{1, 2}, nil, nil, nil, nil, nil}, make([][]item.Row, 6)}
	g, err := retrieve.NewAdjacencyGraph(adj, []int{1, 0, 0, 0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	queries := []Query[[]float32]{
		// A: brute force's top 3 is {0,1,2}, what the search sees; truth 2 at rank 2.
		{Input: []float32{6, 5, 4, 3, 2, 1}, Truth: 2},
		// B: brute force's order 1,3,4,5,2,0; the search answers 1,2,0; truth 3
		// is brute force's rank 1 and missing from the search's answer.
		{Input: []float32{1, 6, 2, 5, 4, 3}, Truth: 3},
	}
	beams := []retrieve.Beam{
		&retrieve.Params{StartLevel: 1, TopK: []int{3, 1}, NumScoring: []int{1, 0}, K: 3},
		&retrieve.SL2G{Ef: 1, K: 3},
	}
	cfg := Config{Ks: []int{1, 3}, Workers: 2}
	res, err := Sweep(context.Background(), cfg, queries, g, tableCorpus(6), beams)
	if err != nil {
		t.Fatal(err)
	}
	type fig struct{ beam, beamSE, exact, exactSE, cov, covSE, gapSE float64 }
	want := []fig{
		// K=1: no hit anywhere; both searches return brute force's first item.
		{0, 0, 0, 0, 1, 0, 0},
		// K=3: hits (1,0) and (1,1); coverage (1, 1/3); gap (0, 1).
		{0.5, 0.5, 1, 0, 2.0 / 3, 1.0 / 3, 0.5},
	}
	for ri, rep := range res.Reports {
		if wantM := []string{MethodBeam, MethodSL2G}[ri]; rep.Method != wantM {
			t.Errorf("report %d: method %q, want %q", ri, rep.Method, wantM)
		}
		for j, rc := range rep.Recall {
			got := fig{rc.Beam, rc.BeamSE, *rc.Exact, *rc.ExactSE, *rc.Coverage, *rc.CoverageSE, *rc.GapSE}
			w := want[j]
			for _, d := range [][2]float64{{got.beam, w.beam}, {got.beamSE, w.beamSE}, {got.exact, w.exact}, {got.exactSE, w.exactSE},
				{got.cov, w.cov}, {got.covSE, w.covSE}, {got.gapSE, w.gapSE}} {
				if math.Abs(d[0]-d[1]) > 1e-12 {
					t.Errorf("%s K=%d: got %+v, want %+v", rep.Beam, rc.K, got, w)
					break
				}
			}
		}
	}
	if r := res.Reports[1].Rounds; len(r) != 2 || r[0].Level != 1 || r[0].Scored.Mean != 1 || r[1].Level != 0 || r[1].Scored.Mean != 2 {
		t.Errorf("sl2g rounds %+v, want the enter point on level 1, then 2 items on level 0", r)
	}
	// Without brute force there is no coverage.
	cfg.SkipExact = true
	res, err = Sweep(context.Background(), cfg, queries, g, tableCorpus(6), beams)
	if err != nil {
		t.Fatal(err)
	}
	if rc := res.Reports[0].Recall[1]; rc.Coverage != nil || rc.Exact != nil || rc.BeamSE != 0.5 {
		t.Errorf("skip exact: %+v", rc)
	}
}
