package cli

import (
	"strings"
	"testing"

	"nann/retrieve"
)

// The default sweep grid lists every beam setting once (the serving default
// used to appear twice, as itself and as the grid's width-200 setting; with
// maxK > 400 the reference setting was invalid, k > top_k_per_level[0]),
// starts with the reference's two defaults, and every setting is valid and
// returns at least maxK items.
func TestDefaultSweepDistinct(t *testing.T) {
	for _, maxK := range []int{1, 10, 50, 100, 200, 400, 1000} {
		beams := defaultSweep(maxK)
		seen := map[string]int{}
		for i, b := range beams {
			if j, ok := seen[b.String()]; ok {
				t.Errorf("maxK %d: setting %d %s repeats setting %d", maxK, i, b, j)
			}
			seen[b.String()] = i
			if err := b.ValidateFor(-1); err != nil {
				t.Errorf("maxK %d: setting %s: %v", maxK, b, err)
			}
		}
		ref := retrieve.DefaultParams()
		ref.K, ref.TopK[0] = maxK, max(ref.TopK[0], maxK)
		serving := retrieve.DefaultServing()
		serving.LevelTopN[5] = max(serving.LevelTopN[5], maxK)
		if len(beams) < 15 || beams[0].String() != ref.String() || beams[1].String() != serving.String() {
			t.Errorf("maxK %d: %d settings starting %s, %s; want the reference defaults first and the grid after", maxK, len(beams), beams[0], beams[1])
		}
		for _, b := range beams {
			if b.AnswerSize() < maxK {
				t.Errorf("maxK %d: %s returns %d items", maxK, b, b.AnswerSize())
			}
		}
	}
}

// --search picks the method: beam (with --beam) or sl2g:EF[:K], K defaulting
// to the largest --k; anything else is an error naming the flag.
func TestEvalSearchFlag(t *testing.T) {
	for _, c := range []struct {
		search, want string
	}{
		{"beam", retrieve.DefaultParams().String()},
		{"sl2g:64", "sl2g:64:200"},
		{"sl2g:64:100", "sl2g:64:100"},
	} {
		cmd := EvalCmd{Search: c.search, Beam: retrieve.DefaultParams().String(), Ks: []int{50, 200}}
		b, err := cmd.method()
		if err != nil || b.String() != c.want {
			t.Errorf("--search %s: %v, %v; want %s", c.search, b, err, c.want)
		}
	}
	for _, bad := range []string{"hnsw", "sl2g:0", "sl2g:x"} {
		cmd := EvalCmd{Search: bad, Beam: retrieve.DefaultParams().String(), Ks: []int{200}}
		if _, err := cmd.method(); err == nil || !strings.Contains(err.Error(), "--search") {
			t.Errorf("--search %s: error %v", bad, err)
		}
	}
}
