package synth

import (
	"math"
	"testing"
)

func TestAliasMatchesWeights(t *testing.T) {
	w := []float64{5, 0, 1, 3, 0.5, 0.5}
	a := newAlias(len(w) + 2)
	a.build(2, w, nil, nil) // a segment that does not start at 0
	r := newRNG(3)
	const n = 600_000
	counts := make([]float64, len(w))
	for range n {
		i := a.draw(&r, 2, len(w)) - 2
		if i < 0 || i >= len(w) {
			t.Fatalf("draw outside the segment: %d", i+2)
		}
		counts[i]++
	}
	for i, x := range w {
		p := x / 10
		sd := math.Sqrt(p * (1 - p) / n)
		if got := counts[i] / n; math.Abs(got-p) > 5*sd+1e-9 {
			t.Errorf("item %d: frequency %.4f, want %.4f", i, got, p)
		}
	}
}

func TestAffineIDsDistinct(t *testing.T) {
	r := newRNG(1)
	ids := affineIDs(&r, 100_000, 300_000)
	seen := make(map[int32]bool, len(ids))
	for i, id := range ids {
		if id < 1 || id > 300_007 || seen[id] {
			t.Fatalf("id %d of item %d is out of range or repeated", id, i)
		}
		seen[id] = true
	}
}

func TestWorldStructure(t *testing.T) {
	cfg := tiny(t)
	w := newWorld(cfg)
	R := cfg.Related
	sameCluster, crossSameInterest := 0, 0
	prim := w.primaryInterest()
	for j := range cfg.Items {
		c := w.itemCat[j]
		for i, x := range w.related[j*R : (j+1)*R] {
			if int(x) == j {
				t.Fatalf("item %d links to itself", j)
			}
			if i < R-cfg.CrossLinks && w.itemCat[x] == c && abs(int(x)-j) < 2*cfg.ClusterSize {
				sameCluster++
			}
			k := prim[c]
			members := w.intCats[w.intStart[k]:w.intStart[k+1]]
			if i >= R-cfg.CrossLinks && w.itemCat[x] != c && contains(members, w.itemCat[x]) {
				crossSameInterest++
			}
		}
	}
	inner := cfg.Items * (R - cfg.CrossLinks)
	if float64(sameCluster) < 0.95*float64(inner) {
		t.Errorf("%d of %d inner links stay in the cluster", sameCluster, inner)
	}
	if cross := cfg.Items * cfg.CrossLinks; float64(crossSameInterest) < 0.97*float64(cross) {
		t.Errorf("%d of %d cross links go to another category of the same interest", crossSameInterest, cross)
	}
	for c := range cfg.Categories {
		if w.catStart[c+1] <= w.catStart[c] {
			t.Fatalf("category %d has no items", c)
		}
	}
}

func abs(x int) int { return max(x, -x) }
