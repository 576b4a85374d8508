package retrieve_test

import (
	"fmt"

	"nann/item"
	"nann/retrieve"
)

// A corpus of five 2-d items on a line, a two-level graph (node 0 is the only
// node on level 1 and above) and one query near item 3.
func Example() {
	items := []float32{0, 0, 1, 0, 2, 0, 3, 0, 4, 0}
	model, _ := retrieve.NewL2(items, 2)
	adj := [][][]item.Row{
		{{1}, {0, 2}, {1, 3}, {2, 4}, {3}}, // level 0: a path
		{{}, {}, {}, {}, {}},               // level 1: no links
	}
	graph, _ := retrieve.NewAdjacencyGraph(adj, []int{2, 0, 0, 0, 0})

	searcher := retrieve.NewSearcher(graph) // one per goroutine, reused
	scorer := model.NewScorer()             // re-bound for every query
	if err := scorer.Bind([]float32{3.1, 0}); err != nil {
		panic(err)
	}
	beam := &retrieve.Params{StartLevel: 2, TopK: []int{3, 1, 1}, NumScoring: []int{4, 1, 1}, K: 2}
	res, err := searcher.Search(scorer, beam)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Rows, res.Stats.Total)
	for _, r := range res.Stats.Rounds {
		fmt.Printf("level %d scored %d\n", r.Level, r.Scored)
	}
	// Output:
	// [3 4] 5
	// level 2 scored 1
	// level 1 scored 0
	// level 0 scored 1
	// level 0 scored 1
	// level 0 scored 1
	// level 0 scored 1
}
