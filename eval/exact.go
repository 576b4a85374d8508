package eval

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"nann/internal/meter"
	"nann/internal/parallel"
	"nann/item"
	"nann/retrieve"
)

// BruteForce scores every item for each query with m and returns the
// brute-force Recall@K for each K of cfg.Ks (cfg.SkipExact is ignored): the
// fraction of the queries whose ground truth is among the K best rows
// (higher score first, ties by lower row, NaN last). Queries run on
// cfg.Workers goroutines; the result does not depend on scheduling.
func BruteForce[Q any](ctx context.Context, cfg Config, queries []Query[Q], m retrieve.Corpus[Q]) ([]float64, error) {
	if cfg.Workers == 0 {
		cfg.Workers = parallel.Workers(0)
	}
	n := m.NumItems()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkQueries(cfg, queries, n); err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	maxK := cfg.Ks[len(cfg.Ks)-1]
	ranks := make([]int32, len(queries))
	done := meter.New(cfg.Progress, ProgressStage, int64(len(queries)))
	type state struct {
		sc retrieve.QueryScorer[Q]
		ex *retrieve.Exact
	}
	newState := func() state { return state{m.NewScorer(), retrieve.NewExact(n)} }
	err := parallel.ForEach(ctx, len(queries), cfg.Workers, newState, func(_ context.Context, s state, i int) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("query %d: panic while scoring: %v", i, p)
			}
		}()
		if err := s.sc.Bind(queries[i].Input); err != nil {
			return fmt.Errorf("query %d: %w", i, err)
		}
		res, err := s.ex.TopK(s.sc, maxK)
		if err != nil {
			return fmt.Errorf("query %d: brute force: %w", i, err)
		}
		ranks[i] = rankOf(res.Rows, queries[i].Truth)
		done.Add(1)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	out := make([]float64, len(cfg.Ks))
	for j, k := range cfg.Ks {
		hit := 0
		for _, r := range ranks {
			if r >= 0 && int(r) < k {
				hit++
			}
		}
		out[j] = float64(hit) / float64(len(queries))
	}
	return out, nil
}

// checkQueries reports an empty query list, a K above the corpus of n items
// and ground truths outside it.
func checkQueries[Q any](cfg Config, queries []Query[Q], n int) error {
	var errs []error
	if len(queries) == 0 {
		errs = append(errs, errors.New("no queries"))
	}
	if len(cfg.Ks) > 0 && cfg.Ks[len(cfg.Ks)-1] > n {
		errs = append(errs, fmt.Errorf("k = %d exceeds the corpus of %d items", cfg.Ks[len(cfg.Ks)-1], n))
	}
	bad := 0
	for i, q := range queries {
		if q.Truth < 0 || int(q.Truth) >= n {
			if bad++; bad <= 5 {
				errs = append(errs, fmt.Errorf("query %d: ground-truth row %d outside [0,%d)", i, q.Truth, n))
			}
		}
	}
	if bad > 5 {
		errs = append(errs, fmt.Errorf("%d queries with a ground truth outside the corpus in all", bad))
	}
	return errors.Join(errs...)
}

// Popularity is the scoring model that ignores the query: it ranks item
// rows by weight (e.g. each item's count among the training targets),
// higher first, ties by lower row. Scores are minus the rank, exact for up
// to 2^24 items.
func Popularity[Q any](weight []int64) retrieve.Corpus[Q] {
	order := make([]int32, len(weight))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int {
		switch {
		case weight[a] > weight[b]:
			return -1
		case weight[a] < weight[b]:
			return 1
		}
		return 0
	})
	score := make([]float32, len(weight))
	for r, row := range order {
		score[row] = -float32(r)
	}
	return popularity[Q](score)
}

type popularity[Q any] []float32

func (p popularity[Q]) NumItems() int                      { return len(p) }
func (p popularity[Q]) NewScorer() retrieve.QueryScorer[Q] { return p }
func (p popularity[Q]) Bind(Q) error                       { return nil }
func (p popularity[Q]) Score(rows []item.Row, out []float32) {
	for i, r := range rows {
		out[i] = p[r]
	}
}
