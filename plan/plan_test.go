package plan

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nann/internal/numtest"
	"nann/item"
	"nann/onnx"
)

var fixtureNames = []string{"reference", "din13", "din17", "cross", "ids"}

type fixture struct {
	g        *onnx.Graph
	c        Contract
	users    map[string]*onnx.Tensor
	items    *onnx.Tensor
	scores   *onnx.Tensor
	scores64 *onnx.Tensor
}

func loadFixture(t testing.TB, name string) *fixture {
	t.Helper()
	dir := filepath.Join("..", "onnx", "testdata")
	m, err := onnx.ReadFile(filepath.Join(dir, name+".onnx"), onnx.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	arrs, err := onnx.ReadNPZ(filepath.Join(dir, name+".npz"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{g: m.Graph, users: map[string]*onnx.Tensor{}, scores: arrs["scores"], scores64: arrs["scores64"]}
	for k, v := range arrs {
		switch {
		case strings.HasPrefix(k, "user."):
			f.users[strings.TrimPrefix(k, "user.")] = v
			f.c.UserInputs = append(f.c.UserInputs, strings.TrimPrefix(k, "user."))
		case strings.HasPrefix(k, "item."):
			f.c.ItemInput, f.items = strings.TrimPrefix(k, "item."), v
		}
	}
	return f
}

func userRow(x *onnx.Tensor, u int) *onnx.Tensor {
	w := x.Len() / x.Shape[0]
	return &onnx.Tensor{DType: x.DType, Shape: append([]int{1}, x.Shape[1:]...), Data: x.Data[u*w : (u+1)*w]}
}

// TestCompiledMatchesTorch compiles every fixture network and checks the
// plan's scores against torch's on every item, for block sizes that divide
// the corpus and ones that leave a short last block.
func TestCompiledMatchesTorch(t *testing.T) {
	for _, name := range fixtureNames {
		for _, o := range []Options{{Block: 48}, {Block: 12, NoRewrite: true}, {Block: 7, NoRewrite: true}, {Block: 7}} {
			block := o.Block
			o.ItemChunk = 50
			f := loadFixture(t, name)
			p, err := Compile(f.g, f.c, f.items, o)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			n := f.items.Shape[0]
			rows := item.AllRows(n)
			out := make([]float32, n)
			sc := p.NewScorer()
			worst32, worst64 := 0.0, 0.0
			for u := 0; u < f.scores.Shape[0]; u++ {
				in := fixtureUser(f, u)
				if err := sc.Bind(in); err != nil {
					t.Fatal(err)
				}
				if err := sc.Score(rows, out); err != nil {
					t.Fatal(err)
				}
				worst32 = math.Max(worst32, numtest.RelErr(out, f.scores.Data[u*n:(u+1)*n]))
				worst64 = math.Max(worst64, numtest.RelErr(out, f.scores64.Data[u*n:(u+1)*n]))
			}
			st := p.Stats()
			t.Logf("%s (block %d, rewrites %v): compiled vs torch float32 max rel err %.2e, vs torch float64 %.2e; nodes %d: const %d size %d user %d item %d pair %d; %d item tables (%d floats/item), %d pair kernels",
				name, block, !o.NoRewrite, worst32, worst64, st.Nodes, st.Const, st.Size, st.User, st.Item, st.Pair, st.ItemTables, st.TableFloats, st.PairKernels)
			if worst32 > 1e-4 || worst64 > 1e-4 {
				t.Errorf("%s (block %d): compiled vs torch: max rel err %.3g (float32), %.3g (float64) > 1e-4", name, block, worst32, worst64)
			}
		}
	}
}

// The reference architecture's split: the item net and the query
// projection are item work, the key projection user work.
func TestReferenceSplit(t *testing.T) {
	f := loadFixture(t, "reference")
	p, err := Compile(f.g, f.c, f.items, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	// Item: 3 Gemm + 2 BN + 2 PRelu (item net) + Gemm, PRelu, Gemm (query).
	if st.Item < 10 || st.User < 5 {
		t.Errorf("split %+v: want ≥ 10 item nodes and ≥ 5 user nodes", st)
	}
	// After the bilinear rewrite and the concat split the table holds, per
	// item, the query's hidden state (24) and the e_v share of the first
	// score layer (32), as the hand engine's "hu" layout does.
	if st.TableFloats != 24+32 {
		t.Errorf("%d floats per item in the tables, want 56\n%s", st.TableFloats, p.Describe())
	}
	// Pair products: logits, attention-weighted values (reassociated with
	// the first score layer), two MLP layers and the output.
	mm := 0
	for _, n := range p.pairNodes {
		if n.Op == "MatMul" || n.Op == "Gemm" {
			mm++
		}
		if n.Op == "BatchNormalization" {
			t.Errorf("%s left in the pair stage", n)
		}
	}
	if mm != 5 {
		t.Errorf("%d products in the pair stage, want 5\n%s", mm, p.Describe())
	}
}

func TestContractErrors(t *testing.T) {
	f := loadFixture(t, "din13")
	cases := []struct {
		c    Contract
		want string
	}{
		{Contract{UserInputs: []string{"hist"}, ItemInput: "item_emb"}, `graph input "user_dense" is neither`},
		{Contract{UserInputs: []string{"hist", "user_dense", "nope"}, ItemInput: "item_emb"}, `user input "nope" is not a graph input`},
		{Contract{ItemInput: "item"}, `item input "item" is not a graph input`},
		{Contract{ItemInput: "item_emb", ScoreOutput: "logit"}, `score output "logit" is not a graph output`},
		{Contract{}, "cannot tell the item input"},
	}
	for _, c := range cases {
		if _, err := Compile(f.g, c.c, f.items, Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.c, err, c.want)
		}
	}
	bad := &onnx.Tensor{DType: onnx.Float32, Shape: []int{3, 15}, Data: make([]float64, 45)}
	if _, err := Compile(f.g, f.c, bad, Options{}); err == nil || !strings.Contains(err.Error(), "item table") {
		t.Errorf("wrong item width: err = %v", err)
	}
	p, err := Compile(f.g, f.c, f.items, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sc := p.NewScorer()
	if err := sc.Score([]item.Row{0}, make([]float32, 1)); err == nil {
		t.Error("Score before Bind: no error")
	}
	err = sc.Bind(map[string]*onnx.Tensor{"hist": onnx.NewTensor(onnx.Float32, 1, 49, 16)})
	if err == nil || !strings.Contains(err.Error(), `"hist" has shape [1 49 16], want [1 50 16]`) || !strings.Contains(err.Error(), `"user_dense" is not given`) {
		t.Errorf("Bind: err = %v", err)
	}
}

// TestSpeedRatio measures, per fixture, the plan's items/s (Score over a
// 4096-item corpus, one core and all cores) and the Bind time against the
// interpreter's items/s, in one run (a ratio on a shared machine, not a
// benchmark). It checks only that the plan is faster.
func TestSpeedRatio(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, name := range fixtureNames {
		f := loadFixture(t, name)
		items := bigCorpus(f, 4096)
		rate := map[int]float64{}
		var bind time.Duration
		for _, threads := range []int{1, 0} {
			f := loadFixture(t, name)
			p, err := Compile(f.g, f.c, items, Options{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			in := fixtureUser(f, 0)
			rows := item.AllRows(4096)
			out := make([]float32, len(rows))
			sc := p.NewScorer()
			t0 := time.Now()
			if err := sc.Bind(in); err != nil {
				t.Fatal(err)
			}
			bind = time.Since(t0)
			reps := 0
			t0 = time.Now()
			for time.Since(t0) < 300*time.Millisecond {
				if err := sc.Score(rows, out); err != nil {
					t.Fatal(err)
				}
				reps++
			}
			rate[threads] = float64(reps*len(rows)) / time.Since(t0).Seconds()
		}
		k := 64
		full := map[string]*onnx.Tensor{f.c.ItemInput: rowsOf(items, k)}
		for name, v := range f.users {
			full[name] = repeatTensor(userRow(v, 0), k)
		}
		t0 := time.Now()
		if _, err := f.g.Run(full); err != nil {
			t.Fatal(err)
		}
		interp := float64(k) / time.Since(t0).Seconds()
		t.Logf("%-9s plan %9.0f items/s (1 core), %9.0f items/s (all cores), Bind %v; interpreter %7.0f items/s: %.0f× (1 core)",
			name, rate[1], rate[0], bind.Round(time.Microsecond), interp, rate[1]/interp)
		if rate[1] < interp {
			t.Errorf("%s: plan slower than the interpreter", name)
		}
	}
}

func rowsOf(t *onnx.Tensor, k int) *onnx.Tensor {
	w := t.Len() / t.Shape[0]
	return &onnx.Tensor{DType: t.DType, Shape: append([]int{k}, t.Shape[1:]...), Data: t.Data[:k*w]}
}
