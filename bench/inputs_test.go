package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/x448/float16"

	"nann/dataset"
)

const histories = "/work/shared/data/userbehavior_histories_4k.csv"

// prepared builds a dataset from the real 43-user slice (SPEC §1
// conversion, up to 8 test users).
func prepared(t *testing.T) *dataset.Dataset {
	t.Helper()
	src := histories
	if _, err := os.Stat(src); err != nil {
		t.Skipf("shared data: %v", err)
	}
	out := filepath.Join(t.TempDir(), "ds")
	opt := dataset.DefaultOptions()
	opt.NumTest, opt.NumValid = 8, 4
	if _, err := dataset.Prepare(context.Background(), src, out, opt); err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.Open(out, dataset.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

func TestDatasetInputsAreTestHistories(t *testing.T) {
	ds := prepared(t)
	nt := len(ds.Test)
	if nt < 4 {
		t.Fatalf("%d test samples, want at least 4", nt)
	}
	topn := [6]int32{1, 2, 3, 4, 5, 6}
	in, err := DatasetInputs(ds, 100, topn, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != nt {
		t.Fatalf("%d inputs, want all %d test users", len(in), nt)
	}
	// Every test user appears once, with its history as int64 ids.
	var matched int
	for _, s := range ds.Test {
		hi, hc := ds.History(s)
		for _, x := range in {
			if slices.Equal(x.ItemIDs, rawIDs(ds.ItemRaw, hi)) && slices.Equal(x.CateIDs, rawIDs(ds.CateRaw, hc)) {
				matched++
				break
			}
		}
	}
	if matched != nt {
		t.Errorf("%d of %d test histories found among the inputs", matched, nt)
	}
	// Independently of the dataset's tables: every (item, category) pair
	// sent is a row of the original file.
	csv, err := os.ReadFile(histories)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range in {
		for j := range x.ItemIDs {
			if pair := fmt.Sprintf(",%d,%d,", x.ItemIDs[j], x.CateIDs[j]); !strings.Contains(string(csv), pair) {
				t.Fatalf("item %d with category %d is not in %s", x.ItemIDs[j], x.CateIDs[j], histories)
			}
		}
	}
	for i, x := range in {
		if err := x.Check(); err != nil || x.LevelTopN != topn || len(x.ItemIDs) > SeqLen || x.CommSeq != nil {
			t.Errorf("input %d: %v, %+v", i, err, x.LevelTopN)
		}
	}
	few, err := DatasetInputs(ds, 3, topn, 7)
	if err != nil || len(few) != 3 {
		t.Errorf("3 inputs: %d, %v", len(few), err)
	}
	if _, err := DatasetInputs(ds, 0, topn, 7); err == nil {
		t.Error("0 inputs accepted")
	}
}

// rawIDs maps dense ids to original ones through a dataset table.
func rawIDs(table []int64, dense []int32) []int64 {
	out := make([]int64, len(dense))
	for i, d := range dense {
		out[i] = table[d]
	}
	return out
}

// sumEmbedder writes item+cate/1000 at each padded position, repeated.
type sumEmbedder struct{ calls int }

func (*sumEmbedder) CommSeqLen() int { return 100 }

func (e *sumEmbedder) Embed(items, cates []int64, dst []float32) error {
	e.calls++
	if len(items) != SeqLen || items[0] == 0 || items[SeqLen-1] != 0 && cates[SeqLen-1] == 0 {
		return fmt.Errorf("history %v… is not right-padded original ids", items[:3])
	}
	for j := range dst {
		p := j % len(items)
		dst[j] = float32(items[p]) + float32(cates[p])/1000
	}
	return nil
}

func TestEmbeddedInputs(t *testing.T) {
	ds := prepared(t)
	e := &sumEmbedder{}
	in, err := EmbeddedInputs(ds, e, 5, DefaultLevelTopN, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 5 || e.calls != 5 {
		t.Fatalf("%d inputs, %d calls", len(in), e.calls)
	}
	for _, x := range in {
		if len(x.CommSeq) != 100 || x.ItemIDs != nil {
			t.Fatalf("input %+v", x)
		}
		for j, v := range x.CommSeq {
			if float16.Fromfloat32(v).Float32() != v {
				t.Fatalf("comm_seq[%d] = %v is not a float16 value", j, v)
			}
		}
	}
	if _, err := EmbeddedInputs(ds, nil, 5, DefaultLevelTopN, 1); err == nil {
		t.Error("nil embedder accepted")
	}
}

func TestMockInputs(t *testing.T) {
	a, err := MockInputs(3, CommSeqLen, DefaultLevelTopN, 9)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := MockInputs(3, CommSeqLen, DefaultLevelTopN, 9)
	var sum, sq float64
	for i := range a {
		if !slices.Equal(a[i].CommSeq, b[i].CommSeq) {
			t.Fatal("same seed, different inputs")
		}
		for _, v := range a[i].CommSeq {
			if float16.Fromfloat32(v).Float32() != v {
				t.Fatalf("%v is not a float16 value", v)
			}
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
	}
	n := float64(3 * CommSeqLen)
	if mean, sd := sum/n, sq/n; mean > 0.02 || mean < -0.02 || sd < 0.05 || sd > 0.08 {
		t.Errorf("mean %.3f, mean square %.3f; want about 0 and 0.0625", mean, sd)
	}
	if _, err := MockInputs(maxInputs+1, 4, DefaultLevelTopN, 1); err == nil {
		t.Error("too many inputs accepted")
	}
}
