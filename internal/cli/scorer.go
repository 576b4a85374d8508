package cli

import (
	"fmt"

	"nann/model"
	"nann/retrieve"
	"nann/train"
)

// History is one user's behaviour history: dense item and category ids,
// chronological, at most MaxLen long (shorter or right-padded with 0).
type History struct {
	Items, Cates []int32
}

// plainModel scores with the model's plain inference forward.
type plainModel struct {
	m     *model.Model
	table []float32
}

func (p *plainModel) NumItems() int { return p.m.Cfg.NumItem }

func (p *plainModel) NewScorer() retrieve.QueryScorer[History] {
	s, err := p.m.NewScorer(p.table)
	if err != nil {
		panic(err) // the table's size was checked when plainModel was made
	}
	return plainScorer{s}
}

type plainScorer struct{ *model.Scorer }

func (s plainScorer) Bind(h History) error { return s.Scorer.Bind(h.Items, h.Cates) }

// loadScorerModel loads a trained run as a retrieval model over the item
// embeddings in embsPath, scored by kind ("plain" or "engine").
func loadScorerModel(runDir, embsPath, kind string) (retrieve.Model[History], error) {
	m, err := train.LoadModel(runDir)
	if err != nil {
		return nil, err
	}
	embs, shape, err := loadItemEmbs(embsPath)
	if err != nil {
		return nil, err
	}
	if shape[0] != m.Cfg.NumItem || shape[1] != m.Cfg.ItemOut {
		return nil, fmt.Errorf("%s: shape %v, the model wants %d×%d", embsPath, shape, m.Cfg.NumItem, m.Cfg.ItemOut)
	}
	switch kind {
	case "plain":
		return &plainModel{m: m, table: embs}, nil
	}
	return nil, fmt.Errorf("scorer %q is not available", kind)
}
