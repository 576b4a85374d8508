package train

import (
	"context"
	"math/rand/v2"
	"testing"

	"nann/dataset"
)

// makeDataset writes a small prepared dataset with learnable structure:
// users walk along the item ids (next item = current + 1..3 mostly), items
// of a block of 10 share a category.
func makeDataset(dir string, users, items int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 7))
	const maxLen, trainMin, testMin = 50, 10, 7
	ncate := (items + 9) / 10
	cate := func(it int32) int32 { return (it-1)/10 + 1 }
	offsets := []uint64{0}
	var its, cts []int32
	count := make([]int64, items+1)
	for range users {
		n := 8 + r.IntN(40)
		cur := int32(1 + r.IntN(items))
		for range n {
			its = append(its, cur)
			cts = append(cts, cate(cur))
			count[cur]++
			if r.Float64() < 0.8 {
				cur = (cur+int32(r.IntN(3)))%int32(items) + 1
			} else {
				cur = int32(1 + r.IntN(items))
			}
		}
		offsets = append(offsets, uint64(len(its)))
	}
	var train, test, valid []dataset.Sample
	for u := range users {
		n := int(offsets[u+1] - offsets[u])
		switch {
		case n > testMin && u%5 == 0:
			test = append(test, dataset.Sample{User: uint32(u), Pos: uint32(testMin + (n-testMin)/2)})
		case n > testMin && u%5 == 1:
			valid = append(valid, dataset.Sample{User: uint32(u), Pos: uint32(testMin + (n-testMin)/2)})
		default:
			for i := trainMin; i < n-1; i++ {
				train = append(train, dataset.Sample{User: uint32(u), Pos: uint32(i)})
			}
		}
	}
	ic := make([]int32, items+1)
	w := make([]float64, items+1)
	raw := make([]int64, items+1)
	for i := 1; i <= items; i++ {
		ic[i], w[i], raw[i] = cate(int32(i)), float64(count[i])/float64(len(its)), int64(1000+i)
	}
	meta := dataset.Meta{NumItems: items, NumCates: ncate, NumUser: users,
		NumRows: int64(len(its)), NumTrainSamples: int64(len(train)), NumTestSamples: int64(len(test)), NumValidSamples: int64(len(valid)),
		SeqLen: maxLen, TrainMinLength: trainMin, TestMinLength: testMin, Seed: seed}
	return dataset.Write(context.Background(), dir, dataset.Contents{
		Meta: meta, Offsets: offsets, Items: its, Cates: cts, Train: train, Test: test, Valid: valid,
		ItemCate: ic, ItemWeight: w, ItemCount: count, ItemRaw: raw, CateRaw: make([]int64, ncate+1), UserRaw: make([]int64, users),
	})
}

func TestMakeDatasetOpens(t *testing.T) {
	dir := t.TempDir()
	if err := makeDataset(dir, 200, 300, 1); err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.Open(dir, dataset.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	if len(ds.Train) == 0 || len(ds.Test) == 0 {
		t.Fatalf("train %d test %d", len(ds.Train), len(ds.Test))
	}
}
