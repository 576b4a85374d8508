package train

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"nann/dataset"
	"nann/internal/meter"
	"nann/model"
)

// RecallKs are the cut-offs of the evaluation.
var RecallKs = []int{50, 200}

// Report is the end-of-training evaluation (RUN/report.json).
type Report struct {
	Users int `json:"users"` // test users evaluated
	Items int `json:"items"` // items scored per user
	// Recall[k] is the brute-force Recall@k of the model (every item
	// scored); Popularity[k] that of ranking items by their count among
	// the training samples' targets.
	Recall      map[int]float64 `json:"recall"`
	Popularity  map[int]float64 `json:"popularity"`
	EvalSeconds float64         `json:"eval_seconds"`
	Training    TrainingSummary `json:"training"`
}

// Evaluate scores every item for each of the first maxUsers test users
// (all if 0) with the model, in parallel over users, and reports Recall@K
// beside the popularity baseline.
func Evaluate(ctx context.Context, m *model.Model, ds *dataset.Dataset, maxUsers int) (*Report, error) {
	return evaluate(ctx, m, ds, maxUsers, nil)
}

// evaluate is Evaluate reporting to progress (stages "item embeddings" and
// "evaluate users"; nil: none).
func evaluate(ctx context.Context, m *model.Model, ds *dataset.Dataset, maxUsers int, progress meter.Func) (*Report, error) {
	start := time.Now()
	test := ds.Test
	if maxUsers > 0 && len(test) > maxUsers {
		test = test[:maxUsers]
	}
	if len(test) == 0 {
		return nil, fmt.Errorf("dataset %s has no test samples", ds.Dir)
	}
	N, L := ds.Meta.NumItem, ds.Meta.MaxLength
	table, err := itemTable(ctx, m, ds.ItemCate, m.Cfg.ItemOut, progress)
	if err != nil {
		return nil, err
	}
	ranks := make([]int, len(test)) // rank of the target among all items, 0 = best
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	bar := meter.New(progress, "evaluate users", int64(len(test)))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc, err := m.NewScorer(table)
			if err != nil {
				errOnce.Do(func() { firstErr = err })
				return
			}
			rows := make([]int32, N)
			for i := range rows {
				rows[i] = int32(i)
			}
			scores := make([]float32, N)
			hi, hc := make([]int32, L), make([]int32, L)
			for ctx.Err() == nil {
				u := int(next.Add(1) - 1)
				if u >= len(test) {
					return
				}
				ds.Fill(test[u], hi, hc)
				if err := sc.Bind(hi, hc); err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("test user %d: %w", u, err) })
					return
				}
				sc.Score(rows, scores)
				it, _ := ds.Target(test[u])
				ranks[u] = rankOf(scores, int(it)-1)
				bar.Add(1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pop := popularityRanks(ds)
	rep := &Report{Users: len(test), Items: N, Recall: map[int]float64{}, Popularity: map[int]float64{}}
	for _, k := range RecallKs {
		hit, popHit := 0, 0
		for u, r := range ranks {
			if r < k {
				hit++
			}
			it, _ := ds.Target(test[u])
			if pop[it] < k {
				popHit++
			}
		}
		rep.Recall[k] = float64(hit) / float64(len(test))
		rep.Popularity[k] = float64(popHit) / float64(len(test))
	}
	rep.EvalSeconds = time.Since(start).Seconds()
	return rep, nil
}

// rankOf is the 0-based rank of row t in scores, best first: the number of
// rows scoring higher, plus those scoring the same with a lower row. A NaN
// score counts as −∞; a NaN target ranks last.
func rankOf(scores []float32, t int) int {
	s := scores[t]
	if math.IsNaN(float64(s)) {
		return len(scores)
	}
	r := 0
	for i, x := range scores {
		if x > s || (x == s && i < t) {
			r++
		}
	}
	return r
}

// popularityRanks ranks dense ids by their count among the training
// samples' targets (ties by lower id); index = dense id.
func popularityRanks(ds *dataset.Dataset) []int {
	N := ds.Meta.NumItem
	count := make([]int64, N+1)
	for _, s := range ds.Train {
		it, _ := ds.Target(s)
		count[it]++
	}
	order := make([]int, N)
	for i := range order {
		order[i] = i + 1
	}
	sort.SliceStable(order, func(a, b int) bool { return count[order[a]] > count[order[b]] })
	rank := make([]int, N+1)
	rank[0] = N
	for r, id := range order {
		rank[id] = r
	}
	return rank
}
