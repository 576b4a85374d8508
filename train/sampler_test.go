package train

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestAliasMatchesDistribution(t *testing.T) {
	w := []float64{0, 5, 1, 0, 3, 0.5, 0.5}
	s, err := NewSampler(w)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	const n = 400_000
	got := make([]int, len(w))
	for range n {
		got[s.draw(r)]++
	}
	for i, c := range got {
		p := s.Prob(int32(i))
		sd := math.Sqrt(n * p * (1 - p))
		if math.Abs(float64(c)-n*p) > 5*sd+1 {
			t.Errorf("item %d: %d draws, want %.0f ± %.0f", i, c, n*p, 5*sd)
		}
		if w[i] == 0 && c != 0 {
			t.Errorf("item %d has weight 0 but was drawn %d times", i, c)
		}
	}
}

func TestSampleUniqueAndExpectedCount(t *testing.T) {
	// Zipf-like weights; a unique sample of 20 of 100 items.
	w := make([]float64, 101)
	for i := 1; i <= 100; i++ {
		w[i] = 1 / float64(i)
	}
	s, _ := NewSampler(w)
	r := rand.New(rand.NewPCG(3, 4))
	out := make([]int32, 20)
	const rounds = 20_000
	inc := make([]float64, 101) // how often each item was included
	exp := make([]float64, 101) // sum of ExpectedCount under the tries of each round
	for range rounds {
		tries, err := s.SampleUnique(r, out)
		if err != nil {
			t.Fatal(err)
		}
		if tries < len(out) {
			t.Fatalf("tries %d < %d", tries, len(out))
		}
		seen := map[int32]bool{}
		for _, id := range out {
			if seen[id] || id < 1 || id > 100 {
				t.Fatalf("duplicate or bad id %d in %v", id, out)
			}
			seen[id] = true
			inc[id]++
		}
		for i := 1; i <= 100; i++ {
			exp[i] += s.ExpectedCount(int32(i), tries)
		}
	}
	// TF's estimate 1−(1−p)^tries is close to (not exactly) the inclusion
	// probability; check it within a few percent for frequent items.
	for _, i := range []int{1, 2, 5, 10, 50} {
		a, b := inc[i]/rounds, exp[i]/rounds
		if math.Abs(a-b) > 0.05*a+0.01 {
			t.Errorf("item %d: included %.4f of rounds, expected count %.4f", i, a, b)
		}
	}
}

func TestExpectedCountSmallP(t *testing.T) {
	// For p ≪ 1 the naive 1−(1−p)^n loses all digits; expm1/log1p keeps them.
	p, n := 1e-12, 1000
	got := ExpectedCount(p, n)
	want := float64(n) * p // first order
	if math.Abs(got-want)/want > 1e-6 {
		t.Errorf("ExpectedCount(%g, %d) = %g, want ≈ %g", p, n, got, want)
	}
	if ExpectedCount(1, 5) != 1 || ExpectedCount(0.5, 1) != 0.5 {
		t.Error("edge values")
	}
}

func TestSampleUniqueTooLarge(t *testing.T) {
	s, _ := NewSampler([]float64{0, 1, 1, 0, 1})
	_, err := s.SampleUnique(rand.New(rand.NewPCG(1, 1)), make([]int32, 4))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	// Feasible but with a tiny-probability item: the draw limit applies.
	s, _ = NewSampler([]float64{0, 1, 1e-12})
	_, err = s.SampleUnique(rand.New(rand.NewPCG(1, 1)), make([]int32, 2))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

func TestNewSamplerRejectsBadWeights(t *testing.T) {
	for _, w := range [][]float64{{0}, {0, 0, 0}, {0, 1, -1}, {0, math.NaN()}, {0, math.Inf(1)}} {
		if _, err := NewSampler(w); err == nil {
			t.Errorf("NewSampler(%v) accepted", w)
		}
	}
}
