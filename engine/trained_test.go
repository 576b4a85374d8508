package engine_test

import (
	"math"
	"os"
	"slices"
	"testing"

	"nann/dataset"
	"nann/engine"
	"nann/item"
	"nann/retrieve"
	"nann/train"
)

// TestTrainedModel checks the precision contract on a trained model. It
// needs a training run directory (config.json + model.ckpt, with its
// prepared dataset where the run config says) and runs only when
// NANN_ENGINE_RUN names one:
//
//	NANN_ENGINE_RUN=/path/to/run go test ./engine -run TrainedModel -v
//
// On up to 300 test users: the float32 engine against the model's plain
// Scorer on every item of the first 5 users (1e-4 relative), float16 and
// int8 tables against float32 on the brute-force top-200 (≥ 99% mean
// overlap), int8 scores within 2% of the user's float32 score RMS on the
// first 5 users and int8's Recall@200 within two standard errors of
// float32's, and the Recall@200 of brute force with each.
func TestTrainedModel(t *testing.T) {
	run := os.Getenv("NANN_ENGINE_RUN")
	if run == "" {
		t.Skip("set NANN_ENGINE_RUN to a training run directory")
	}
	rd, err := train.OpenRun(run)
	if err != nil {
		t.Fatal(err)
	}
	m, err := rd.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := rd.OpenDataset("", dataset.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	w, err := engine.FromModel(m)
	if err != nil {
		t.Fatal(err)
	}
	cates := ds.ItemCate.Rows()
	e32, err := engine.Compile(w, cates, engine.Options{Table: engine.Float32})
	if err != nil {
		t.Fatal(err)
	}
	e16, err := engine.Compile(w, cates, engine.Options{Table: engine.Float16})
	if err != nil {
		t.Fatal(err)
	}
	e8, err := engine.Compile(w, cates, engine.Options{Table: engine.Int8})
	if err != nil {
		t.Fatal(err)
	}
	ms := engine.ModelScorer(t, m, cates)
	n := e32.NumItems()
	rows := item.AllRows(n)
	got, want := make([]float32, n), make([]float32, n)
	s32, s16, s8 := e32.NewScorer(), e16.NewScorer(), e8.NewScorer()
	x32, x16, x8 := retrieve.NewExact(n), retrieve.NewExact(n), retrieve.NewExact(n)
	got8 := make([]float32, n)
	const k = 200
	users := min(300, len(ds.Test))
	var overlap, hit32, hit16, histLen float64
	var overlap8, hit8 float64
	worstRel, worstOverlap, worst8, worstErr8 := 0.0, 1.0, 1.0, 0.0
	for u, smp := range ds.Test[:users] {
		hi, hc := ds.History(smp)
		items := item.IDs(hi)
		target, _ := ds.Target(smp)
		truth := target.Row()
		histLen += float64(len(items)) / float64(users)
		if err := s32.BindIDs(items, hc); err != nil {
			t.Fatal(err)
		}
		if err := s16.BindIDs(items, hc); err != nil {
			t.Fatal(err)
		}
		if err := s8.BindIDs(items, hc); err != nil {
			t.Fatal(err)
		}
		if u < 5 {
			if err := ms.BindIDs(item.IDs(hi), hc); err != nil {
				t.Fatal(err)
			}
			s32.Score(rows, got)
			ms.Score(rows, want)
			rms := engine.RMS(want)
			for i := range got {
				rel := math.Abs(float64(got[i]-want[i])) / math.Max(math.Abs(float64(want[i])), 0.1*rms)
				worstRel = math.Max(worstRel, rel)
				if rel > 1e-4 {
					t.Fatalf("user %d item row %d: engine %v, model %v", u, i, got[i], want[i])
				}
			}
			s8.Score(rows, got8)
			for i := range got {
				worstErr8 = math.Max(worstErr8, math.Abs(float64(got8[i]-got[i]))/rms)
			}
		}
		r32, err := x32.TopK(s32, k)
		if err != nil {
			t.Fatal(err)
		}
		r16, err := x16.TopK(s16, k)
		if err != nil {
			t.Fatal(err)
		}
		hit32 += hit(r32.Rows, truth)
		hit16 += hit(r16.Rows, truth)
		o := float64(engine.Common(r32.Rows, r16.Rows)) / k
		overlap += o
		worstOverlap = min(worstOverlap, o)
		r8, err := x8.TopK(s8, k)
		if err != nil {
			t.Fatal(err)
		}
		h := engine.Common(r32.Rows, r8.Rows)
		hit8 += hit(r8.Rows, truth)
		overlap8 += float64(h) / k
		worst8 = min(worst8, float64(h)/k)
	}
	overlap8 /= float64(users)
	t.Logf("int8: top-%d overlap with float32 mean %.4f worst %.3f; worst |Δscore| %.4f of the score RMS (first 5 users); Recall@%d %.4f",
		k, overlap8, worst8, worstErr8, k, hit8/float64(users))
	// Recall@k's standard error over these users, for "unchanged".
	r32 := hit32 / float64(users)
	se := math.Sqrt(r32 * (1 - r32) / float64(users))
	if overlap8 < 0.99 || worstErr8 > 0.02 || math.Abs(hit8-hit32)/float64(users) > 2*se {
		t.Errorf("int8 top-%d overlap %.4f (want ≥ 0.99), score error %.4f of the RMS (want ≤ 0.02), Recall@%d %.4f vs float32 %.4f (want within 2 standard errors, %.4f)",
			k, overlap8, worstErr8, k, hit8/float64(users), r32, 2*se)
	}
	overlap /= float64(users)
	t.Logf("mean history length %.1f", histLen)
	t.Logf("%d items, %d test users: float32 vs model worst rel %.2g; float16 top-%d overlap mean %.4f worst %.3f; Recall@%d float32 %.4f float16 %.4f",
		n, users, worstRel, k, overlap, worstOverlap, k, hit32/float64(users), hit16/float64(users))
	if overlap < 0.99 {
		t.Fatalf("float16 top-%d overlap %.4f < 0.99", k, overlap)
	}
}

// hit is 1 if rows holds truth, else 0.
func hit(rows []item.Row, truth item.Row) float64 {
	if slices.Contains(rows, truth) {
		return 1
	}
	return 0
}
