package train

import (
	"context"
	"fmt"
	"time"

	"nann/dataset"
	"nann/eval"
	"nann/internal/meter"
	"nann/internal/parallel"
	"nann/model"
	"nann/query"
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
	// Validation is the validation curve and early stopping (nil when the
	// run does not validate: eval_every 0).
	Validation *ValidationSummary `json:"validation,omitempty"`
}

// Evaluate scores every item for each of the first maxUsers test users
// (all if 0) with the model, in parallel over users, and reports Recall@K
// beside the popularity baseline. Both are eval.BruteForce: the model
// through query.Plain over its item table, popularity as eval.Popularity.
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
	table, err := itemTable(ctx, m, ds.ItemCate, m.Cfg.ItemDim, progress)
	if err != nil {
		return nil, err
	}
	pm, err := query.Plain(m, table)
	if err != nil {
		return nil, err
	}
	queries := eval.Queries(query.FromSamples(ds, test))
	cfg := eval.Config{Ks: RecallKs, Workers: parallel.Workers(0)}
	if progress != nil {
		cfg.Progress = func(_ string, done, total int64) { progress("evaluate users", done, total) }
	}
	recall, err := eval.BruteForce(ctx, cfg, queries, pm)
	if err != nil {
		return nil, err
	}
	cfg.Progress = nil
	pop, err := eval.BruteForce(ctx, cfg, queries, eval.Popularity[query.History](targetCounts(ds)))
	if err != nil {
		return nil, err
	}
	rep := &Report{Users: len(test), Items: ds.Meta.NumItems, Recall: map[int]float64{}, Popularity: map[int]float64{}}
	for j, k := range RecallKs {
		rep.Recall[k], rep.Popularity[k] = recall[j], pop[j]
	}
	rep.EvalSeconds = time.Since(start).Seconds()
	return rep, nil
}

// targetCounts is each item row's count among the training samples' targets.
func targetCounts(ds *dataset.Dataset) []int64 {
	count := make([]int64, ds.Meta.NumItems)
	for _, s := range ds.Train {
		it, _ := ds.Target(s)
		count[it.Row()]++
	}
	return count
}
