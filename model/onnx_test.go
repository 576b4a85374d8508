package model

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"nann/internal/numtest"
	"nann/item"
	"nann/onnx"
)

// onnxWorld is a small model with non-trivial BatchNorm statistics, its
// items' categories and e_v table, and users' histories (one full, one
// short, one empty).
type onnxWorld struct {
	m         *Model
	cates     []int32
	table     []float32
	hist      [][2][]int32
	histItems [][]int32
}

func newONNXWorld(t *testing.T, mask bool) *onnxWorld {
	t.Helper()
	cfg := smallConfig()
	cfg.NumItems, cfg.SeqLen = 41, 7
	cfg.MaskPadding = mask
	m, err := New(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(8, 9))
	perturbState(m, r)
	offKinks(m, r)
	w := &onnxWorld{m: m, cates: make([]int32, cfg.NumItems)}
	for i := range w.cates {
		w.cates[i] = int32(1 + r.IntN(cfg.NumCates))
	}
	if w.table, err = m.AllItemEmbeddings(w.cates); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{cfg.SeqLen, 3, 0} {
		hi, hc := make([]int32, n), make([]int32, n)
		for i := range hi {
			hi[i] = int32(1 + r.IntN(cfg.NumItems))
			hc[i] = w.cates[hi[i]-1]
		}
		w.hist = append(w.hist, [2][]int32{hi, hc})
	}
	return w
}

// plainScores is the Scorer's logit of user u against every item.
func (w *onnxWorld) plainScores(t *testing.T, u int) []float64 {
	t.Helper()
	s, err := w.m.NewScorer(w.table)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.BindIDs(item.IDs(w.hist[u][0]), w.hist[u][1]); err != nil {
		t.Fatal(err)
	}
	rows := item.AllRows(w.m.Cfg.NumItems)
	out := make([]float32, len(rows))
	s.Score(rows, out)
	ref := make([]float64, len(out))
	for i, v := range out {
		ref[i] = float64(v)
	}
	return ref
}

// graphInputs are the export's inputs for user u against every item.
func (w *onnxWorld) graphInputs(t *testing.T, in ONNXInputs, u int) map[string]*onnx.Tensor {
	t.Helper()
	cfg := w.m.Cfg
	n, l, sw := cfg.NumItems, cfg.SeqLen, cfg.SeqWidth()
	feeds := map[string]*onnx.Tensor{}
	hi, hc := w.hist[u][0], w.hist[u][1]
	if in == ONNXCommSeq {
		seq := make([]float32, l*sw)
		if err := w.m.SequenceEmbedding(item.IDs(hi), hc, seq); err != nil {
			t.Fatal(err)
		}
		x := onnx.NewTensor(onnx.Float32, n, l, sw)
		for i := 0; i < n; i++ {
			for j, v := range seq {
				x.Data[i*l*sw+j] = float64(v)
			}
		}
		feeds[ONNXCommSeqInput] = x
	} else {
		xi, xc := onnx.NewTensor(onnx.Int64, n, l), onnx.NewTensor(onnx.Int64, n, l)
		for i := 0; i < n; i++ {
			for j := range hi {
				xi.Data[i*l+j], xc.Data[i*l+j] = float64(hi[j]), float64(hc[j])
			}
		}
		feeds[ONNXHistItemsInput], feeds[ONNXHistCatesInput] = xi, xc
	}
	if in == ONNXItemIDs {
		ids := onnx.NewTensor(onnx.Int64, n)
		for i := range ids.Data {
			ids.Data[i] = float64(i + 1)
		}
		feeds[ONNXItemIDInput] = ids
	} else {
		ev := onnx.NewTensor(onnx.Float32, n, cfg.ItemDim)
		for i, v := range w.table {
			ev.Data[i] = float64(v)
		}
		feeds[ONNXItemEmbInput] = ev
	}
	return feeds
}

// TestONNXExportMatchesPlainForward: each input variant of the export,
// read back by nann's ONNX reader and run by the float64 interpreter,
// gives the Scorer's logits on every item (1e-4 relative, the import's
// measure), with and without padding masks; the item_ids variant's
// item_vec is the item network's e_v table.
func TestONNXExportMatchesPlainForward(t *testing.T) {
	for _, mask := range []bool{false, true} {
		w := newONNXWorld(t, mask)
		for _, in := range []ONNXInputs{ONNXCommSeq, ONNXHistIDs, ONNXItemIDs} {
			mp, err := w.m.ONNX(ONNXOptions{Inputs: in, ItemCates: w.cates})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "m.onnx")
			if err := onnx.WriteModel(path, mp); err != nil {
				t.Fatal(err)
			}
			md, err := onnx.ReadFile(path, onnx.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if md.Opset != ONNXOpset || md.ProducerName != "nann" {
				t.Fatalf("opset %d producer %q", md.Opset, md.ProducerName)
			}
			for u := range w.hist {
				env, err := md.Graph.Eval(w.graphInputs(t, in, u))
				if err != nil {
					t.Fatalf("%s mask=%v: %v", in, mask, err)
				}
				got := env[md.Graph.Values[ONNXScoreOutput]]
				if len(got.Shape) != 1 || got.Shape[0] != w.m.Cfg.NumItems {
					t.Fatalf("%s: score shape %v", in, got.Shape)
				}
				ref := w.plainScores(t, u)
				if e := numtest.RelErr(got.Data, ref); e > 1e-4 {
					t.Fatalf("%s mask=%v user %d: relative error %.2e (got %v, want %v)", in, mask, u, e, got.Data[:3], ref[:3])
				}
				if in == ONNXItemIDs {
					ev := env[md.Graph.Values[ONNXItemVec]]
					want := make([]float64, len(w.table))
					for i, v := range w.table {
						want[i] = float64(v)
					}
					if e := numtest.RelErr(ev.Data, want); e > 1e-5 {
						t.Fatalf("item_vec: relative error %.2e against AllItemEmbeddings", e)
					}
				}
			}
		}
	}
}

// TestONNXExportPassesChecker runs onnx.checker.check_model (full check,
// with shape inference) on each variant through Debian's python3-onnx.
func TestONNXExportPassesChecker(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import onnx").Run(); err != nil {
		t.Skipf("%s cannot import onnx (python3-onnx absent; .ci/run installs it): %v", py, err)
	}
	w := newONNXWorld(t, true)
	dir := t.TempDir()
	var paths []string
	for _, in := range []ONNXInputs{ONNXCommSeq, ONNXHistIDs, ONNXItemIDs} {
		mp, err := w.m.ONNX(ONNXOptions{Inputs: in, ItemCates: w.cates})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, string(in)+".onnx")
		if err := onnx.WriteModel(p, mp); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	// The signature as python/nann_torch/export.py writes it (its test
	// checks the same names, dims and element types, and the same op list).
	script := `import sys, onnx
ops = set(sys.argv[1].split())
for p in sys.argv[2:]:
    m = onnx.load(p)
    onnx.checker.check_model(m, full_check=True)
    i = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    extra = {n.op_type for n in m.graph.node} - ops
    assert not extra, extra
    print([(v.name, dims(v), v.type.tensor_type.elem_type) for v in list(m.graph.input) + list(i.graph.output)])`
	out, err := exec.Command(py, append([]string{"-c", script, contractOps}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("onnx.checker: %v\n%s", err, out)
	}
	cfg := w.m.Cfg
	l, sw, d := cfg.SeqLen, cfg.SeqWidth(), cfg.ItemDim
	want := fmt.Sprintf(`[('comm_seq', ['n', %d, %d], 1), ('item_emb', ['n', %d], 1), ('score', ['n'], 1)]
[('hist_items', ['n', %d], 7), ('hist_cates', ['n', %d], 7), ('item_emb', ['n', %d], 1), ('score', ['n'], 1)]
[('hist_items', ['n', %d], 7), ('hist_cates', ['n', %d], 7), ('item_id', ['n'], 7), ('score', ['n'], 1)]
`, l, sw, d, l, l, d, l, l)
	if string(out) != want {
		t.Fatalf("signatures:\n%s\nwant:\n%s", out, want)
	}
}

// contractOps is issue 14's op list (python/tests/test_export.py's CONTRACT_OPS).
const contractOps = `Gemm MatMul Add Sub Mul Div Pow Sqrt Exp Log Erf Tanh Sigmoid Relu LeakyRelu PRelu Clip Min Max
Neg Abs Where Greater Less Equal Not Cast Softmax LogSoftmax ReduceSum ReduceMean ReduceMax Concat
Split Slice Gather Reshape Flatten Transpose Squeeze Unsqueeze Expand Tile Shape ConstantOfShape
Constant Identity BatchNormalization LayerNormalization`

// TestONNXExportOptions: a bad variant name and a category table of the
// wrong size are refused, naming them.
func TestONNXExportOptions(t *testing.T) {
	w := newONNXWorld(t, false)
	for _, c := range []struct {
		o    ONNXOptions
		want string
	}{
		{ONNXOptions{Inputs: "seq"}, `inputs "seq" not one of`},
		{ONNXOptions{Inputs: ONNXItemIDs, ItemCates: w.cates[1:]}, "40 item categories for 41 items"},
		{ONNXOptions{Inputs: ONNXItemIDs, ItemCates: append(append([]int32{}, w.cates[1:]...), 99)}, "item categories[40] = 99 out of range"},
	} {
		if _, err := w.m.ONNX(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.o.Inputs, err, c.want)
		}
	}
}
