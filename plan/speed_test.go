package plan

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"nann/internal/numtest"
	"nann/item"
	"nann/onnx"
)

// TestVsHandEngine compares, in one run, the items/s of the plan compiled
// from the reference architecture at SPEC sizes (exported by torch) with the
// hand-compiled engine at the same sizes, and with the float64 interpreter.
// One core each, alternating; a ratio on a shared machine, not a benchmark.
// Needs /usr/bin/python3 with torch and onnx (skipped otherwise).
func TestVsHandEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	if out, err := exec.Command("/usr/bin/python3", "-c", "import torch, onnx").CombinedOutput(); err != nil {
		t.Skipf("/usr/bin/python3 with torch and onnx is not available: %v %s", err, out)
	}
	dir := t.TempDir()
	if out, err := exec.Command("/usr/bin/python3", "../onnx/testdata/make_fixtures.py", "--full", dir).CombinedOutput(); err != nil {
		t.Fatalf("make_fixtures.py --full: %v\n%s", err, out)
	}
	m, err := onnx.ReadFile(filepath.Join(dir, "reference_full.onnx"), onnx.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	arrs, err := onnx.ReadNPZ(filepath.Join(dir, "reference_full.npz"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	rng := rand.New(rand.NewPCG(5, 6))
	items := &onnx.Tensor{DType: onnx.Float32, Shape: []int{n, 64}, Data: make([]float64, n*64)}
	for i := range items.Data {
		items.Data[i] = rng.NormFloat64()
	}
	// Check the full-size network against torch first.
	small := arrs["item.item_feat"]
	f := &fixture{g: m.Graph, c: Contract{UserInputs: []string{"comm_seq"}, ItemInput: "item_feat"}, users: map[string]*onnx.Tensor{"comm_seq": arrs["user.comm_seq"]}, items: small, scores: arrs["scores"]}
	ps, err := Compile(m.Graph, f.c, small, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	sc := ps.NewScorer()
	seq := userRow(arrs["user.comm_seq"], 0)
	seq = &onnx.Tensor{DType: seq.DType, Shape: seq.Shape, Data: append([]float64{}, seq.Data...)}
	if err := sc.Bind(map[string]*onnx.Tensor{"comm_seq": seq}); err != nil {
		t.Fatal(err)
	}
	ns := small.Shape[0]
	all := item.AllRows(ns)
	got := make([]float32, ns)
	if err := sc.Score(all, got); err != nil {
		t.Fatal(err)
	}
	if e := numtest.RelErr(got, f.scores.Data[:ns]); e > 1e-4 {
		t.Fatalf("full-size reference: plan vs torch %.3g", e)
	}

	m2, err := onnx.ReadFile(filepath.Join(dir, "reference_full.onnx"), onnx.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	p, err := Compile(m2.Graph, f.c, items, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	compileTime := time.Since(t0)
	es := randomEngine(t, n, rng).NewScorer()
	// A full 50-long history (no padding rows: the engine merges those).
	for i := range seq.Data {
		if seq.Data[i] == 0 {
			seq.Data[i] = rng.NormFloat64()
		}
	}
	cs := make([]float32, 50*64)
	for i := range cs {
		cs[i] = float32(seq.Data[i])
	}
	if err := es.BindSeq(cs); err != nil {
		t.Fatal(err)
	}
	pl := p.NewScorer()
	if err := pl.Bind(map[string]*onnx.Tensor{"comm_seq": seq}); err != nil {
		t.Fatal(err)
	}
	rows := make([]item.Row, 4096)
	for i := range rows {
		rows[i] = item.Row(rng.IntN(n))
	}
	out := make([]float32, len(rows))
	reps := 10
	if os.Getenv("NANN_PLAN_REPS") != "" {
		reps = 200
	}
	var tp, te time.Duration
	for rep := 0; rep < reps; rep++ {
		t0 := time.Now()
		if err := pl.Score(rows, out); err != nil {
			t.Fatal(err)
		}
		tp += time.Since(t0)
		t0 = time.Now()
		es.Score(rows, out)
		te += time.Since(t0)
	}
	// The interpreter on 256 pairs.
	k := 256
	in := map[string]*onnx.Tensor{"item_feat": gatherRows(items, rows[:k]), "comm_seq": repeatTensor(seq, k)}
	t0 = time.Now()
	if _, err := m2.Graph.Run(in); err != nil {
		t.Fatal(err)
	}
	ti := time.Since(t0)
	pr := float64(reps*len(rows)) / tp.Seconds()
	er := float64(reps*len(rows)) / te.Seconds()
	ir := float64(k) / ti.Seconds()
	t.Logf("reference at SPEC sizes, one core, %d-item corpus (compile %v, %d floats/item in tables): plan %.0f items/s, hand engine %.0f items/s (plan/engine %.2f×), interpreter %.0f items/s (plan/interpreter %.0f×)",
		n, compileTime.Round(time.Millisecond), p.Stats().TableFloats, pr, er, pr/er, ir, pr/ir)
	if os.Getenv("NANN_PLAN_DESCRIBE") != "" {
		t.Log("\n" + p.Describe())
	}
}
