package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/x448/float16"

	"nann/dataset"
)

// Serving signature sizes (SPEC §7).
const (
	CommSeqLen = 3200 // comm_seq width: 50 positions × 64
	SeqLen     = 50   // history length
	// maxInputs bounds an input pool (each mock input holds 12.8 kB).
	maxInputs = 1 << 16
)

// DefaultLevelTopN is the reference's serving example (SPEC §6).
var DefaultLevelTopN = [6]int32{100, 200, 200, 200, 200, 200}

func checkPool(n int) error {
	if n < 1 || n > maxInputs {
		return fmt.Errorf("input count %d outside [1, %d]", n, maxInputs)
	}
	return nil
}

// MockInputs returns n random comm_seq inputs of width dim: values drawn
// from N(0, 0.25²) and rounded to float16, from a fixed seed.
func MockInputs(n, dim int, topn [6]int32, seed uint64) ([]Input, error) {
	if err := checkPool(n); err != nil {
		return nil, err
	}
	if dim < 1 || dim > 1<<20 {
		return nil, fmt.Errorf("comm_seq width %d outside [1, %d]", dim, 1<<20)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6e616e6e))
	out := make([]Input, n)
	for i := range out {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float16.Fromfloat32(float32(rng.NormFloat64() * 0.25)).Float32()
		}
		out[i] = Input{CommSeq: v, LevelTopN: topn}
	}
	return out, nil
}

// pickTests returns up to n test samples of ds, spread over the test set
// in a seeded random order.
func pickTests(ds *dataset.Dataset, n int, seed uint64) ([]dataset.Sample, error) {
	if err := checkPool(n); err != nil {
		return nil, err
	}
	if len(ds.Test) == 0 {
		return nil, fmt.Errorf("dataset %s has no test samples", ds.Dir)
	}
	idx := rand.New(rand.NewPCG(seed, 0x74657374)).Perm(len(ds.Test))
	out := make([]dataset.Sample, 0, min(n, len(idx)))
	for _, i := range idx[:min(n, len(idx))] {
		out = append(out, ds.Test[i])
	}
	return out, nil
}

// DatasetInputs returns up to n real test users of ds as raw-id inputs:
// item_ids and cate_ids [1, len] holding the history as original (Taobao)
// ids, the form the server maps through the bundle's id tables (at most
// 50, oldest first, no padding).
func DatasetInputs(ds *dataset.Dataset, n int, topn [6]int32, seed uint64) ([]Input, error) {
	tests, err := pickTests(ds, n, seed)
	if err != nil {
		return nil, err
	}
	ml := ds.Meta.SeqLen
	if ml < 1 || ml > SeqLen {
		return nil, fmt.Errorf("dataset %s: max_length %d outside [1, %d]", ds.Dir, ml, SeqLen)
	}
	out := make([]Input, 0, len(tests))
	for _, s := range tests {
		items, cates, err := rawHistory(ds, s, ml)
		if err != nil {
			return nil, err
		}
		k := 0
		for k < len(items) && items[k] != 0 {
			k++
		}
		if k == 0 {
			continue
		}
		out = append(out, Input{ItemIDs: items[:k:k], CateIDs: cates[:k:k], LevelTopN: topn})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dataset %s: the test samples have no history", ds.Dir)
	}
	return out, nil
}

// rawHistory returns the sample's history as original ids, right-padded
// with 0 to ml.
func rawHistory(ds *dataset.Dataset, s dataset.Sample, ml int) (items, cates []int64, err error) {
	di, dc := make([]int32, ml), make([]int32, ml)
	k := ds.Fill(s, di, dc)
	items, cates = make([]int64, ml), make([]int64, ml)
	for j := range k {
		d, c := int(di[j]), int(dc[j])
		if d < 1 || d >= len(ds.ItemRaw) || c < 1 || c >= len(ds.CateRaw) {
			return nil, nil, fmt.Errorf("dataset %s: user row %d position %d: item %d / category %d outside the id tables", ds.Dir, s.User, j, d, c)
		}
		items[j], cates[j] = ds.ItemRaw[d], ds.CateRaw[c]
	}
	return items, cates, nil
}

// Embedder computes a user's comm_seq, as the model's embedding tables
// do, from the history given by original ids right-padded with 0.
type Embedder interface {
	// CommSeqLen is the comm_seq width (3200).
	CommSeqLen() int
	// Embed writes the embedding of the history into dst (len CommSeqLen).
	Embed(items, cates []int64, dst []float32) error
}

// EmbeddedInputs returns up to n real test users of ds as comm_seq inputs
// computed by e and rounded to float16, the form a stock TF Serving client
// sends.
func EmbeddedInputs(ds *dataset.Dataset, e Embedder, n int, topn [6]int32, seed uint64) ([]Input, error) {
	if e == nil {
		return nil, errors.New("no embedder")
	}
	tests, err := pickTests(ds, n, seed)
	if err != nil {
		return nil, err
	}
	ml, dim := ds.Meta.SeqLen, e.CommSeqLen()
	if ml < 1 || ml > SeqLen || dim < 1 || dim > 1<<20 {
		return nil, fmt.Errorf("dataset %s max_length %d or embedder width %d out of range", ds.Dir, ml, dim)
	}
	out := make([]Input, len(tests))
	for i, s := range tests {
		items, cates, err := rawHistory(ds, s, ml)
		if err != nil {
			return nil, err
		}
		v := make([]float32, dim)
		if err := e.Embed(items, cates, v); err != nil {
			return nil, fmt.Errorf("embed test user row %d: %w", s.User, err)
		}
		for j, x := range v {
			v[j] = float16.Fromfloat32(x).Float32()
		}
		out[i] = Input{CommSeq: v, LevelTopN: topn}
	}
	return out, nil
}
