// Package query is what one retrieval request is made of in offline
// evaluation and tools: a user's behaviour history, and the adapters that
// turn a trained model or a compiled engine into a retrieve.Corpus over
// histories, so evaluation code never knows which scorer it has.
package query

import (
	"fmt"

	"nann/dataset"
	"nann/engine"
	"nann/item"
	"nann/model"
	"nann/retrieve"
)

// History is one user's behaviour history: dense item and category ids,
// chronological, at most SeqLen long (shorter, or right-padded with
// item.Padding and category 0).
type History struct {
	Items []item.ID
	Cates []int32
}

// FromSamples turns held-out samples into evaluation inputs: the history
// before each sample, and in truth the target's item row;
// eval.Queries pairs them. The histories alias the dataset's memory.
func FromSamples(ds *dataset.Dataset, samples []dataset.Sample) (histories []History, truth []item.Row) {
	histories, truth = make([]History, len(samples)), make([]item.Row, len(samples))
	for i, s := range samples {
		items, cates := ds.History(s)
		target, _ := ds.Target(s)
		histories[i], truth[i] = History{Items: item.IDs(items), Cates: cates}, target.Row()
	}
	return histories, truth
}

// Plain scores histories with the model's plain inference forward over the
// item embeddings in table (NumItems × ItemDim, as nann extract writes).
func Plain(m *model.Model, table []float32) (retrieve.Corpus[History], error) {
	if want := m.Cfg.NumItems * m.Cfg.ItemDim; len(table) != want {
		return nil, fmt.Errorf("query: item table has %d values, the model wants %d×%d", len(table), m.Cfg.NumItems, m.Cfg.ItemDim)
	}
	return &plainModel{m: m, table: table}, nil
}

type plainModel struct {
	m     *model.Model
	table []float32
}

func (p *plainModel) NumItems() int { return p.m.Cfg.NumItems }

func (p *plainModel) NewScorer() retrieve.QueryScorer[History] {
	s, err := p.m.NewScorer(p.table)
	if err != nil {
		panic(err) // unreachable: Plain checked the table's size
	}
	return plainScorer{s}
}

type plainScorer struct{ *model.Scorer }

func (s plainScorer) Bind(h History) error { return s.Scorer.BindIDs(h.Items, h.Cates) }

// Engine scores histories with a compiled engine.
func Engine(e *engine.Engine) retrieve.Corpus[History] { return engineModel{e} }

type engineModel struct{ e *engine.Engine }

func (m engineModel) NumItems() int { return m.e.NumItems() }

func (m engineModel) NewScorer() retrieve.QueryScorer[History] {
	return engineScorer{m.e.NewScorer()}
}

type engineScorer struct{ *engine.Scorer }

func (s engineScorer) Bind(h History) error { return s.Scorer.BindIDs(h.Items, h.Cates) }
