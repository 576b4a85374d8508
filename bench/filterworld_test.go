package bench_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"nann/bench"
	"nann/bundle"
	"nann/dataset"
	"nann/item"
	"nann/retrieve"
)

// TestFilteredWorld measures filtered retrieval on a trained world's bundle
// (issue 16): for each selectivity (a random share of the item rows
// allowed, drawn per user) and for exclude-history, the filtered beam's
// answer against filtered brute force under the same model (recall of the
// exact filtered top K), items scored against the unfiltered beam, and
// latency. It checks the invariants (no excluded row answered, full
// answers) and logs the table; run it on the 1 M-item world with
//
//	NANN_FILTER_BUNDLE=models/nann/1 NANN_FILTER_DATA=large.ds \
//	  go test ./bench -run TestFilteredWorld -v -timeout 1h
//
// (NANN_FILTER_USERS, default 200; NANN_FILTER_STRATEGY traverse, skip,
// bridge or auto, the default; NANN_FILTER_CASES, e.g. "10%,1%", a subset).
// Skipped without the variables.
func TestFilteredWorld(t *testing.T) {
	dir, data := os.Getenv("NANN_FILTER_BUNDLE"), os.Getenv("NANN_FILTER_DATA")
	if dir == "" || data == "" {
		t.Skip("set NANN_FILTER_BUNDLE (a bundle version directory) and NANN_FILTER_DATA (its prepared dataset)")
	}
	users := 200
	if s := os.Getenv("NANN_FILTER_USERS"); s != "" {
		fmt.Sscan(s, &users)
	}
	ctx := context.Background()
	b, err := bundle.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if s := os.Getenv("NANN_FILTER_STRATEGY"); s != "" {
		st, err := retrieve.ParseFilterStrategy(s)
		if err != nil {
			t.Fatal(err)
		}
		pol := retrieve.DefaultFilterPolicy()
		pol.Strategy = st
		if err := b.SetFilterPolicy(pol); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := dataset.Open(data, dataset.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	topn := b.Signature().DefaultLevelTopN
	k := int(topn[5])
	ins, err := bench.DatasetInputs(ds, users, topn, 1)
	if err != nil {
		t.Fatal(err)
	}
	n := b.NumItems()
	seq := make([]float32, b.Signature().CommSeqLen)
	sc := b.Engine().NewScorer()
	rows := make([]item.Row, 0, n)
	scores := make([]float32, n)
	var ans retrieve.Answer
	f := b.NewFilter()
	type cell struct {
		recall, scored []float64
		lat            []time.Duration
		exact          int
	}
	names := []string{"unfiltered", "50%", "10%", "1%", "exclude-history"}
	if s := os.Getenv("NANN_FILTER_CASES"); s != "" {
		names = append([]string{"unfiltered"}, strings.Split(s, ",")...)
	}
	cells := make([]cell, len(names))
	for u, in := range ins {
		if err := b.CommSeqFromRaw(in.ItemIDs, in.CateIDs, seq); err != nil {
			t.Fatal(err)
		}
		if err := sc.BindSeq(seq); err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(uint64(u), 16))
		for ci, name := range names {
			f.Reset()
			switch name {
			case "50%", "10%", "1%":
				share := map[string]float64{"50%": 0.5, "10%": 0.1, "1%": 0.01}[name]
				for row := range item.Row(n) {
					if r.Float64() >= share {
						if err := f.Exclude(row); err != nil {
							t.Fatal(err)
						}
					}
				}
			case "exclude-history":
				for _, id := range in.ItemIDs {
					for row := range item.Row(n) { // raw id → row by scan: test-only
						if b.ItemID(row) == id {
							f.Exclude(row)
							break
						}
					}
				}
			}
			start := time.Now()
			if err := b.RetrieveFiltered(seq, topn, f, &ans); err != nil {
				t.Fatal(err)
			}
			lat := time.Since(start)
			// Filtered brute force under the same scorer.
			rows = rows[:0]
			for row := range item.Row(n) {
				if f.Allows(row) {
					rows = append(rows, row)
				}
			}
			want := min(k, len(rows))
			if len(ans.Rows) != want {
				t.Fatalf("user %d, %s: %d answered, want %d", u, name, len(ans.Rows), want)
			}
			for _, row := range ans.Rows {
				if !f.Allows(row) {
					t.Fatalf("user %d, %s: excluded row %d answered", u, name, row)
				}
			}
			out := scores[:len(rows)]
			sc.Score(rows, out)
			idx := make([]int, len(rows))
			for i := range idx {
				idx[i] = i
			}
			sort.Slice(idx, func(a, c int) bool { return out[idx[a]] > out[idx[c]] })
			top := make(map[item.Row]bool, want)
			for _, i := range idx[:want] {
				top[rows[i]] = true
			}
			hit := 0
			for _, row := range ans.Rows {
				if top[row] {
					hit++
				}
			}
			c := &cells[ci]
			c.recall = append(c.recall, float64(hit)/float64(max(want, 1)))
			c.scored = append(c.scored, float64(ans.Total))
			c.lat = append(c.lat, lat)
			if ans.Exact {
				c.exact++
			}
		}
	}
	base := mean(cells[0].scored)
	t.Logf("%d items, %d users, K %d, level_topn %v", n, len(ins), k, topn)
	t.Logf("| filter | recall vs filtered brute force | s.e. | items scored | × unfiltered | exact path | p50 ms | p99 ms |")
	for ci, name := range names {
		c := cells[ci]
		slices.Sort(c.lat)
		t.Logf("| %s | %.4f | %.4f | %.0f | %.2f | %d/%d | %.2f | %.2f |", name, mean(c.recall), se(c.recall), mean(c.scored), mean(c.scored)/base,
			c.exact, len(c.lat), ms(c.lat[len(c.lat)/2]), ms(c.lat[min(len(c.lat)-1, len(c.lat)*99/100)]))
	}
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func se(x []float64) float64 {
	m, s := mean(x), 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	if len(x) < 2 {
		return 0
	}
	return math.Sqrt(s/float64(len(x)-1)) / math.Sqrt(float64(len(x)))
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
