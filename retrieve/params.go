package retrieve

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Caps on search parameters. Work per query is bounded by the parameters;
// values past these caps are rejected as absurd rather than attempted.
const (
	MaxTopK         = 1 << 20 // per-level beam width and answer size
	MaxRoundsPerLev = 64      // scoring rounds on one level
)

// Beam is a beam-retrieval setting: the evaluation form (*Params) or the
// serving form (*ServingParams). A Searcher runs either through Search.
type Beam interface {
	// ValidateFor reports every problem with the setting for a corpus of numItems.
	ValidateFor(numItems int) error
	// AnswerSize is how many rows the search returns at most.
	AnswerSize() int
	// Rounds is the number of scoring rounds (len(Stats.Rounds) of a result).
	Rounds() int
	// String names the setting, e.g. in reports and CSV files.
	String() string
	search(s *Searcher, sc Scorer) (Result, error)
}

// Params is the evaluation form of beam retrieval (SPEC §6).
type Params struct {
	// StartLevel is the level of the enter points (default 2).
	StartLevel int `json:"start_level"`
	// TopK[l] is the beam width kept on level l, for l = 0..StartLevel
	// (default [400, 200, 100]).
	TopK []int `json:"top_k_per_level"`
	// NumScoring[l] is the number of scoring rounds on level l < StartLevel
	// (default [3, 1, 1]); the entry for StartLevel is listed for symmetry with
	// the reference and is unused (the enter points are scored once).
	NumScoring []int `json:"num_scoring_per_level"`
	// K is the answer size, the first K of the level-0 results (default 200).
	K int `json:"k"`
}

// DefaultParams returns the reference evaluation setting.
func DefaultParams() *Params {
	return &Params{StartLevel: 2, TopK: []int{400, 200, 100}, NumScoring: []int{3, 1, 1}, K: 200}
}

// Validate reports every problem that does not depend on the corpus.
func (p *Params) Validate() error { return p.ValidateFor(-1) }

// ValidateFor reports every problem with p for a corpus of numItems rows
// (numItems < 0 skips the corpus checks).
func (p *Params) ValidateFor(numItems int) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if p.StartLevel < 0 || p.StartLevel >= MaxLevel {
		bad("start_level %d outside [0,%d)", p.StartLevel, MaxLevel)
		return fmt.Errorf("retrieve: beam params: %w", errors.Join(errs...))
	}
	if len(p.TopK) != p.StartLevel+1 {
		bad("top_k_per_level has %d values, want start_level+1 = %d", len(p.TopK), p.StartLevel+1)
	}
	if len(p.NumScoring) != p.StartLevel+1 {
		bad("num_scoring_per_level has %d values, want start_level+1 = %d", len(p.NumScoring), p.StartLevel+1)
	}
	for l, k := range p.TopK {
		if err := checkWidth("top_k_per_level", l, k, numItems); err != nil {
			errs = append(errs, err)
		}
	}
	for l, r := range p.NumScoring {
		lo := 1
		if l == p.StartLevel {
			lo = 0
		}
		if r < lo || r > MaxRoundsPerLev {
			bad("num_scoring_per_level[%d] = %d outside [%d,%d]", l, r, lo, MaxRoundsPerLev)
		}
	}
	if err := checkWidth("k", -1, p.K, numItems); err != nil {
		errs = append(errs, err)
	}
	if len(p.TopK) > 0 && p.K > p.TopK[0] {
		bad("k = %d exceeds top_k_per_level[0] = %d (the answer is the first k level-0 results)", p.K, p.TopK[0])
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("retrieve: beam params: %w", err)
	}
	return nil
}

// checkWidth reports a beam width or answer size outside [1, MaxTopK] or
// above the corpus (numItems < 0: unknown). It formats only on failure so
// that validating good parameters does not allocate.
func checkWidth(name string, idx, v, numItems int) error {
	if v >= 1 && v <= MaxTopK && (numItems < 0 || v <= numItems) {
		return nil
	}
	if idx >= 0 {
		name = fmt.Sprintf("%s[%d]", name, idx)
	}
	if v < 1 || v > MaxTopK {
		return fmt.Errorf("%s = %d outside [1,%d]", name, v, MaxTopK)
	}
	return fmt.Errorf("%s = %d exceeds the corpus of %d items", name, v, numItems)
}

// AnswerSize is K.
func (p *Params) AnswerSize() int { return p.K }

// Rounds is 1 (the enter points) plus NumScoring[l] for every l < StartLevel.
func (p *Params) Rounds() int {
	r := 1
	for l := 0; l < p.StartLevel && l < len(p.NumScoring); l++ {
		r += p.NumScoring[l]
	}
	return r
}

// String is "eval:start:topk,...:scoring,...:K", the syntax ParseBeam reads.
func (p *Params) String() string {
	return fmt.Sprintf("eval:%d:%s:%s:%d", p.StartLevel, joinInts(p.TopK), joinInts(p.NumScoring), p.K)
}

// ServingLevels is the length of ServingParams.LevelTopN.
const ServingLevels = 6

// ServingParams is the serving form of beam retrieval (SPEC §6), which starts
// at level 2: keep LevelTopN[0] of the enter points; one round on level 1
// keeping LevelTopN[1] of results ∪ new; three rounds on level 0, round r
// keeping the best LevelTopN[2+r] of the new items as the next candidates (all
// new items join the results); the answer is the best LevelTopN[5] results.
type ServingParams struct {
	LevelTopN [ServingLevels]int `json:"level_topn"`
}

// DefaultServing returns the SPEC's example serving setting.
func DefaultServing() *ServingParams {
	return &ServingParams{LevelTopN: [ServingLevels]int{100, 200, 200, 200, 200, 200}}
}

// servingStartLevel is the enter level of the serving form.
const servingStartLevel = 2

// Validate reports every problem that does not depend on the corpus.
func (p *ServingParams) Validate() error { return p.ValidateFor(-1) }

// ValidateFor reports every problem with p for a corpus of numItems rows
// (numItems < 0 skips the corpus checks).
func (p *ServingParams) ValidateFor(numItems int) error {
	var errs []error
	for i, v := range p.LevelTopN {
		if err := checkWidth("level_topn", i, v, numItems); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("retrieve: serving params: %w", err)
	}
	return nil
}

// AnswerSize is LevelTopN[5].
func (p *ServingParams) AnswerSize() int { return p.LevelTopN[5] }

// Rounds is 5: enter points, one round on level 1, three on level 0.
func (p *ServingParams) Rounds() int { return 5 }

// String is "serving:a,b,c,d,e,f", the syntax ParseBeam reads.
func (p *ServingParams) String() string { return "serving:" + joinInts(p.LevelTopN[:]) }

// ParseBeam reads a beam setting written by String:
// "eval:START:TOPK0,...:SCORING0,...:K" or "serving:N0,N1,N2,N3,N4,N5".
// The result is validated (without corpus checks).
func ParseBeam(s string) (Beam, error) {
	form, rest, _ := strings.Cut(s, ":")
	switch form {
	case "serving":
		v, err := parseInts(rest)
		if err != nil {
			return nil, fmt.Errorf("retrieve: beam %q: level_topn: %w", s, err)
		}
		if len(v) != ServingLevels {
			return nil, fmt.Errorf("retrieve: beam %q: level_topn has %d values, want %d", s, len(v), ServingLevels)
		}
		p := &ServingParams{}
		copy(p.LevelTopN[:], v)
		return p, p.Validate()
	case "eval":
		f := strings.Split(rest, ":")
		if len(f) != 4 {
			return nil, fmt.Errorf("retrieve: beam %q: want eval:START:TOPK,...:SCORING,...:K", s)
		}
		start, err1 := strconv.Atoi(f[0])
		topk, err2 := parseInts(f[1])
		scoring, err3 := parseInts(f[2])
		k, err4 := strconv.Atoi(f[3])
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return nil, fmt.Errorf("retrieve: beam %q: %w", s, err)
		}
		p := &Params{StartLevel: start, TopK: topk, NumScoring: scoring, K: k}
		return p, p.Validate()
	}
	return nil, fmt.Errorf("retrieve: beam %q: form %q is neither eval nor serving", s, form)
}

func parseInts(s string) ([]int, error) {
	parts := strings.Split(s, ",")
	out := make([]int, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func joinInts(v []int) string {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(x))
	}
	return b.String()
}
