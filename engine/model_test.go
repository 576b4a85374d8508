package engine

import (
	"math"
	"math/rand/v2"
	"testing"

	"nann/item"
	"nann/model"
)

// modelScorer returns m's own scorer over every item (categories cates by
// row), the reference the engine's scores are compared with.
func modelScorer(t testing.TB, m *model.Model, cates []int32) *model.Scorer {
	t.Helper()
	table, err := m.AllItemEmbeddings(cates)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := m.NewScorer(table)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// perturbedModel returns a model whose every tensor is moved away from its
// initial value (non-zero attention biases, BatchNorm statistics, alphas),
// with the attention sharpened, so that each term of the forward matters.
func perturbedModel(t *testing.T, numItems, numCates int, mask bool, seed uint64) *model.Model {
	t.Helper()
	cfg := model.Default()
	cfg.NumItems, cfg.NumCates, cfg.MaskPadding = numItems, numCates, mask
	m, err := model.New(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 7))
	for _, p := range m.Params() {
		for i := range p.W {
			switch {
			case p.Name == "attention/query_dense1/kernel" || p.Name == "attention/key_dense1/kernel":
				p.W[i] *= attnGain
			default:
				p.W[i] += float32(0.05 * r.NormFloat64())
			}
		}
	}
	for _, p := range m.State() {
		for i := range p.W {
			if len(p.Name) > 8 && p.Name[len(p.Name)-8:] == "variance" {
				p.W[i] = float32(0.5 + r.Float64())
			} else {
				p.W[i] = float32(0.2 * r.NormFloat64())
			}
		}
	}
	return m
}

// TestMatchesModelScorer compares the engine, compiled from a model by
// parameter name, with the model's own plain inference Scorer on every item,
// for comm_seq and raw-id binding, with and without padding masks, and with
// float32 tables also with the float64 reference.
func TestMatchesModelScorer(t *testing.T) {
	const numItems, numCates = 500, 20
	for _, mask := range []bool{false, true} {
		m := perturbedModel(t, numItems, numCates, mask, 11)
		w, err := FromModel(m)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(3, 3))
		cates := make([]int32, numItems)
		for i := range cates {
			cates[i] = int32(1 + r.IntN(numCates))
		}
		e, err := Compile(w, cates, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ms := modelScorer(t, m, cates)
		es := e.NewScorer()
		ref := newRef(w, cates)
		rows := item.AllRows(numItems)
		got, want := make([]float32, numItems), make([]float32, numItems)
		seq := make([]float32, w.CommSeqLen())
		for u := 0; u < 5; u++ {
			n := []int{50, 1, 17, 0, 5}[u]
			items, hc := randomHistory(r, n, cates)
			if n > 3 {
				items[2] = item.Padding // a missing item inside the history
			}
			if u == 4 {
				clear(items) // only categories: no valid position for BindIDs
			}
			for _, ids := range []bool{false, true} {
				if err := m.SequenceEmbedding(items, hc, seq); err != nil {
					t.Fatal(err)
				}
				if ids {
					err = es.BindIDs(items, hc)
					if err == nil {
						err = ms.BindIDs(items, hc)
					}
				} else {
					err = es.BindSeq(seq)
					if err == nil {
						err = ms.BindSeq(seq)
					}
				}
				if err != nil {
					t.Fatal(err)
				}
				es.Score(rows, got)
				ms.Score(rows, want)
				if !ids && !mask {
					ref.bind(seq)
				}
				rms := rms(want)
				for i := range rows {
					scale := math.Max(math.Abs(float64(want[i])), 0.1*rms)
					if rel := math.Abs(float64(got[i]-want[i])) / scale; rel > 1e-4 {
						t.Fatalf("mask=%v ids=%v user %d (history %d) row %d: engine %v, model %v (rel %.2g)", mask, ids, u, n, i, got[i], want[i], rel)
					}
					if !ids && !mask && i%50 == 0 {
						if rel := math.Abs(float64(got[i])-ref.score(i)) / scale; rel > 1e-4 {
							t.Fatalf("user %d row %d: engine %v, reference %v", u, i, got[i], ref.score(i))
						}
					}
				}
			}
		}
	}
}

func TestFromModelErrors(t *testing.T) {
	cfg := model.Default()
	cfg.NumItems, cfg.NumCates = 10, 3
	cfg.ScoreHidden = []int{128, 64}
	m, err := model.New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromModel(m); err == nil {
		t.Fatal("FromModel accepted a model with 2 score hidden layers")
	}
	cfg.ScoreHidden = []int{128, 60, 32}
	m, _ = model.New(cfg, 1)
	if _, err := FromModel(m); err == nil {
		t.Fatal("FromModel accepted a score width that is not a multiple of 8")
	}
	cfg.ScoreHidden = []int{128, 64, 32}
	m, _ = model.New(cfg, 1)
	m.Params()[5].W[3] = float32(math.NaN())
	if _, err := FromModel(m); err == nil {
		t.Fatal("FromModel accepted a NaN weight")
	}
}
