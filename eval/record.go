package eval

import (
	"math"
	"slices"

	"nann/retrieve"
)

// recorder holds per-query outcomes, each written by exactly one worker at
// the query's index, and turns them into reports in query order.
type recorder struct {
	ks        []int
	skipExact bool
	bind      []float64
	exactLat  []float64
	exactRank []int32
	beamLat   [][]float64
	beamRank  [][]int32
	rounds    []int // per beam: rounds per query
	levels    [][]int
	scored    [][]int32 // per beam: [query*rounds + round]
	total     [][]int64
	// cover[b][query*len(ks)+j]: how many of beam b's first ks[j] rows are
	// among brute force's first ks[j] (only when brute force runs).
	cover [][]int32
}

func newRecorder(nq int, beams []retrieve.Beam, cfg Config) *recorder {
	r := &recorder{
		ks:        cfg.Ks,
		skipExact: cfg.SkipExact,
		bind:      make([]float64, nq),
		exactLat:  make([]float64, nq),
		exactRank: make([]int32, nq),
	}
	for _, b := range beams {
		nr := b.Rounds()
		r.beamLat = append(r.beamLat, make([]float64, nq))
		r.beamRank = append(r.beamRank, make([]int32, nq))
		r.rounds = append(r.rounds, nr)
		r.levels = append(r.levels, make([]int, nr))
		r.scored = append(r.scored, make([]int32, nq*nr))
		r.total = append(r.total, make([]int64, nq))
		if !cfg.SkipExact {
			r.cover = append(r.cover, make([]int32, nq*len(cfg.Ks)))
		}
	}
	return r
}

func (r *recorder) recordRounds(b, i int, st retrieve.Stats) {
	nr := r.rounds[b]
	for j, rd := range st.Rounds[:min(nr, len(st.Rounds))] {
		r.scored[b][i*nr+j] = int32(rd.Scored)
		if i == 0 {
			r.levels[b][j] = rd.Level
		}
	}
	r.total[b][i] = int64(st.Total)
}

func (r *recorder) report(b int, beam retrieve.Beam, items int) Report {
	nq := len(r.bind)
	rep := Report{Beam: beam.String(), Method: MethodOf(beam), Queries: nq, Items: items}
	for j, k := range r.ks {
		bh := hits(r.beamRank[b], k)
		rc := Recall{K: k}
		rc.Beam, rc.BeamSE = meanSE(bh)
		if !r.skipExact {
			eh := hits(r.exactRank, k)
			e, ese := meanSE(eh)
			cov := make([]float64, nq)
			for i := range nq {
				cov[i] = float64(r.cover[b][i*len(r.ks)+j]) / float64(k)
				eh[i] -= bh[i] // the paired difference
			}
			c, cse := meanSE(cov)
			_, gse := meanSE(eh)
			rc.Exact, rc.ExactSE, rc.Coverage, rc.CoverageSE, rc.GapSE = &e, &ese, &c, &cse, &gse
		}
		rep.Recall = append(rep.Recall, rc)
	}
	nr := r.rounds[b]
	col := make([]float64, nq)
	for j := range nr {
		for i := range nq {
			col[i] = float64(r.scored[b][i*nr+j])
		}
		rep.Rounds = append(rep.Rounds, RoundSummary{Round: j, Level: r.levels[b][j], Scored: Summarize(col)})
	}
	for i := range nq {
		col[i] = float64(r.total[b][i])
	}
	rep.Scored = Summarize(col)
	rep.ScoredFraction = rep.Scored.Mean / float64(items)
	rep.BindLatency = Summarize(r.bind)
	rep.BeamLatency = Summarize(r.beamLat[b])
	if !r.skipExact {
		s := Summarize(r.exactLat)
		rep.ExactLatency = &s
	}
	return rep
}

// MethodOf is "sl2g" for an SL2G setting and "beam" for beam retrieval.
func MethodOf(b retrieve.Beam) string {
	if _, ok := b.(*retrieve.SL2G); ok {
		return MethodSL2G
	}
	return MethodBeam
}

// The search methods of a Report.
const (
	MethodBeam = "beam"
	MethodSL2G = "sl2g"
)

// summarize computes mean and nearest-rank percentiles (v is not modified).
// Summarize is the mean, nearest-rank p50 and p99, and maximum of v (zero
// for no values): the one distribution summary of eval's and the CLI's
// reports.
func Summarize(v []float64) Summary {
	if len(v) == 0 {
		return Summary{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	return Summary{Mean: sum / float64(len(s)), P50: percentile(s, 50), P99: percentile(s, 99), Max: s[len(s)-1]}
}

// percentile is the nearest-rank p-th percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
