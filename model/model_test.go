package model

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"

	"nann/internal/numtest"
)

// smallConfig keeps every dimension small and distinct so that transposed
// shapes would not line up by accident.
func smallConfig() Config {
	c := Default()
	c.NumItems, c.NumCates = 23, 5
	c.EmbDim, c.SeqLen = 3, 5
	c.ItemHidden, c.ItemDim = []int{7}, 4
	c.AttnHidden, c.AttnDim = 6, 9
	c.ScoreHidden = []int{8, 5}
	return c
}

func randBatch(r *rand.Rand, cfg Config, b, l, c int) *Batch {
	bt := &Batch{B: b, L: l, C: c,
		HistItems: make([]int32, b*l), HistCates: make([]int32, b*l),
		CandItems: make([]int32, b*c), CandCates: make([]int32, b*c), LogQ: make([]float32, b*c)}
	for u := 0; u < b; u++ {
		n := 1 + r.IntN(l) // history length; the rest is padding
		for i := 0; i < n; i++ {
			bt.HistItems[u*l+i] = int32(1 + r.IntN(cfg.NumItems))
			bt.HistCates[u*l+i] = int32(1 + r.IntN(cfg.NumCates))
		}
	}
	for i := range bt.CandItems {
		bt.CandItems[i] = int32(1 + r.IntN(cfg.NumItems))
		bt.CandCates[i] = int32(1 + r.IntN(cfg.NumCates))
		bt.LogQ[i] = float32(r.NormFloat64())
	}
	return bt
}

func copyGrads(g [][]float32) [][]float32 {
	out := make([][]float32, len(g))
	for i := range g {
		out[i] = append([]float32(nil), g[i]...)
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	c := Default()
	c.EmbDim = 0
	c.ScoreHidden = []int{4, -1}
	c.BNEps = 0
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"num_item", "num_cate", "emb_dim", "score_hidden[1]", "bn_eps"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if err := smallConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestBatchValidate(t *testing.T) {
	cfg := smallConfig()
	b := randBatch(rand.New(rand.NewPCG(1, 1)), cfg, 2, 5, 3)
	if err := b.Validate(cfg); err != nil {
		t.Fatal(err)
	}
	b.CandItems[4] = int32(cfg.NumItems + 1)
	b.LogQ = b.LogQ[:5]
	err := b.Validate(cfg)
	if err == nil || !strings.Contains(err.Error(), "LogQ has 5 values") {
		t.Fatalf("got %v", err)
	}
	b.LogQ = append(b.LogQ, 0)
	err = b.Validate(cfg)
	if err == nil || !strings.Contains(err.Error(), "CandItems[4] = 24") {
		t.Fatalf("got %v", err)
	}
}

func TestParamsOrderAndNames(t *testing.T) {
	m, err := New(Default2(), 1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, p := range m.Params() {
		if p.Index != i || seen[p.Name] {
			t.Fatalf("param %d %s: index %d, duplicate %v", i, p.Name, p.Index, seen[p.Name])
		}
		seen[p.Name] = true
	}
	want := []string{"emb/item", "emb/cate", "item_net/dense0/kernel", "item_net/dense0/bias", "item_net/bn0/gamma",
		"item_net/bn0/beta", "item_net/prelu0/alpha"}
	for i, n := range want {
		if m.Params()[i].Name != n {
			t.Fatalf("param %d is %s, want %s", i, m.Params()[i].Name, n)
		}
	}
	last := m.Params()[len(m.Params())-1]
	if last.Name != "score_net/dense3/kernel" || last.Len() != 32 {
		t.Fatalf("last param %s len %d", last.Name, last.Len())
	}
	if n := len(m.State()); n != 10 {
		t.Fatalf("%d state tensors, want 10 (5 BatchNorms)", n)
	}
	// Initialisers: BN gamma 1, PReLU 0.25, item-net bias 0.1, attention bias 0.
	for _, p := range m.Params() {
		switch {
		case strings.HasSuffix(p.Name, "/gamma") && p.W[0] != 1,
			strings.HasSuffix(p.Name, "/alpha") && p.W[0] != 0.25,
			strings.HasPrefix(p.Name, "item_net/") && strings.HasSuffix(p.Name, "/bias") && p.W[0] != 0.1,
			strings.HasPrefix(p.Name, "attention/") && strings.HasSuffix(p.Name, "/bias") && p.W[0] != 0:
			t.Errorf("%s starts at %v", p.Name, p.W[0])
		}
	}
	// Item embedding stddev ≈ 1/sqrt(32)·0.88 (truncated at 2σ).
	s := 0.0
	for _, v := range m.Params()[0].W {
		s += float64(v) * float64(v)
	}
	std := math.Sqrt(s / float64(m.Params()[0].Len()))
	if want := 0.8796 / math.Sqrt(32); math.Abs(std-want) > 0.05*want {
		t.Errorf("item embedding std %v, want about %v", std, want)
	}
}

// Default2 is the reference configuration with a small corpus.
func Default2() Config {
	c := Default()
	c.NumItems, c.NumCates = 300, 20
	return c
}

// offKinks moves m's attention biases off 0. They start there, which puts
// the key PReLU of every padded (all-zero) position exactly on its kink,
// where only a subgradient exists.
func offKinks(m *Model, r *rand.Rand) {
	for _, p := range m.Params() {
		if strings.HasPrefix(p.Name, "attention/") && strings.HasSuffix(p.Name, "/bias") {
			for i := range p.W {
				p.W[i] = float32(0.2 * r.NormFloat64())
			}
		}
	}
}

// TestStepGradient checks every parameter's gradient of the total loss
// (cross-entropy plus adversarial KL) against central differences. The FGSM
// direction sign(g) and the KL target softmax(stop_gradient(logits)) are
// held at their values from the first step, which is what the analytic
// gradient differentiates. eps is large so the adversarial part matters.
func TestStepGradient(t *testing.T) {
	for _, mask := range []bool{false, true} {
		cfg := smallConfig()
		cfg.MaskPadding = mask
		m, err := New(cfg, 7)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(9, 9))
		offKinks(m, r)
		b := randBatch(r, cfg, 3, cfg.SeqLen, 4)
		o := LossOptions{AdvEps: 0.2, AdvWeight: 1.5}
		w := m.NewWorker()
		st := w.Step(b, o)
		if st.LossAdv <= 0 || st.Loss != st.LossXE+1.5*st.LossAdv {
			t.Fatalf("stats %+v", st)
		}
		fx := stepFixes{sign: append([]float32(nil), w.sign...), target: append([]float32(nil), w.clean.logits...)}
		nonzero := 0
		for _, s := range fx.sign {
			if s != 0 {
				nonzero++
			}
		}
		if nonzero < len(fx.sign)/2 {
			t.Fatalf("only %d of %d sign entries non-zero", nonzero, len(fx.sign))
		}
		w.step(b, o, fx)
		g := copyGrads(w.Grads())
		loss := func() float64 { return w.step(b, o, fx).Loss }
		for i, p := range m.Params() {
			checkGrad(t, p.Name, r, p.W, g[i], loss)
		}
	}
}

// TestFGSMDirection checks g = ∂LossXE/∂e_v, whose sign is the FGSM
// direction, against finite differences in e_v itself.
func TestFGSMDirection(t *testing.T) {
	cfg := smallConfig()
	m, _ := New(cfg, 13)
	r := rand.New(rand.NewPCG(13, 13))
	b := randBatch(r, cfg, 3, cfg.SeqLen, 4)
	w := m.NewWorker()
	fx := stepFixes{evDelta: make([]float32, b.B*b.C*cfg.ItemDim)}
	w.step(b, LossOptions{}, fx)
	g := append([]float32(nil), w.dev...)
	loss := func() float64 { return w.step(b, LossOptions{}, fx).LossXE }
	checkGrad(t, "dLossXE/de_v", r, fx.evDelta, g, loss)
}

var fdTol = numtest.Tol{Step: 1e-3, Rel: 2e-2, Abs: 1e-4}

// checkGrad perturbs up to 25 elements of w with non-zero gradient or
// belonging to a small tensor, and compares with the analytic gradient.
func checkGrad(t *testing.T, name string, r *rand.Rand, w, grad []float32, loss func() float64) {
	t.Helper()
	var idx []int
	for i := range w {
		if grad[i] != 0 || len(w) <= 25 {
			idx = append(idx, i)
		}
	}
	if len(idx) > 25 {
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:25]
	}
	maxG := 0.0
	for _, v := range grad {
		maxG = math.Max(maxG, math.Abs(float64(v)))
	}
	// The key projection's bias shifts every q·k_l of a candidate alike,
	// which the softmax cancels: its gradient is exactly zero (and the
	// finite differences below must agree).
	if maxG == 0 && name != "attention/key_dense1/bias" {
		t.Errorf("%s: all gradients are zero", name)
	}
	bad := numtest.GradCheck(t, name, w, grad, idx, loss, fdTol)
	if bad == 0 {
		t.Logf("%s: %d elements agree (max |g| %.3g)", name, len(idx), maxG)
	}
}

// TestAdversarialTermMatters: the adversarial term changes the gradients,
// and eps = 0 reproduces the plain cross-entropy step exactly.
func TestAdversarialTermMatters(t *testing.T) {
	cfg := smallConfig()
	m, _ := New(cfg, 3)
	b := randBatch(rand.New(rand.NewPCG(2, 2)), cfg, 3, cfg.SeqLen, 4)
	w := m.NewWorker()
	plain := w.Step(b, LossOptions{})
	g0 := copyGrads(w.Grads())
	zero := w.Step(b, LossOptions{AdvEps: 0, AdvWeight: 1})
	if zero != plain {
		t.Fatalf("eps 0: %+v vs %+v", zero, plain)
	}
	adv := w.Step(b, LossOptions{AdvEps: 0.05, AdvWeight: 1})
	if adv.LossXE != plain.LossXE || adv.LossAdv <= 0 {
		t.Fatalf("adversarial stats %+v vs plain %+v", adv, plain)
	}
	diff := 0.0
	for i := range g0 {
		for j := range g0[i] {
			diff = math.Max(diff, math.Abs(float64(g0[i][j]-w.Grads()[i][j])))
		}
	}
	if diff == 0 {
		t.Fatal("adversarial term left the gradients unchanged")
	}
}

// TestWorkersSumToFullBatch: a batch made of two copies of a half has the
// same BatchNorm statistics and mean loss as the half, so two workers on
// the halves (run concurrently) sum to twice the full-batch gradient.
// A worker's gradients after another step equal a fresh worker's.
func TestWorkersSumToFullBatch(t *testing.T) {
	cfg := smallConfig()
	m, _ := New(cfg, 5)
	r := rand.New(rand.NewPCG(4, 4))
	h := randBatch(r, cfg, 3, cfg.SeqLen, 4)
	full := &Batch{B: 6, L: h.L, C: h.C,
		HistItems: append(append([]int32(nil), h.HistItems...), h.HistItems...),
		HistCates: append(append([]int32(nil), h.HistCates...), h.HistCates...),
		CandItems: append(append([]int32(nil), h.CandItems...), h.CandItems...),
		CandCates: append(append([]int32(nil), h.CandCates...), h.CandCates...),
		LogQ:      append(append([]float32(nil), h.LogQ...), h.LogQ...)}
	o := LossOptions{AdvEps: 0.01, AdvWeight: 1}
	wf := m.NewWorker()
	sf := wf.Step(full, o)
	workers := []*Worker{m.NewWorker(), m.NewWorker()}
	// Dirty the second worker first, to check that Step zeroes its buffers.
	workers[1].Step(randBatch(r, cfg, 2, cfg.SeqLen, 4), o)
	stats := make([]StepStats, 2)
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); stats[i] = w.Step(h, o) }()
	}
	wg.Wait()
	if math.Abs(stats[0].Loss-sf.Loss) > 1e-6*sf.Loss || stats[0].Loss != stats[1].Loss {
		t.Fatalf("losses %v %v vs full %v", stats[0].Loss, stats[1].Loss, sf.Loss)
	}
	if stats[0].Correct+stats[1].Correct != sf.Correct || sf.N != 6 {
		t.Fatalf("correct %d+%d vs %d", stats[0].Correct, stats[1].Correct, sf.Correct)
	}
	for i, p := range m.Params() {
		for j := range p.W {
			sum := float64(workers[0].Grads()[i][j]) + float64(workers[1].Grads()[i][j])
			want := 2 * float64(wf.Grads()[i][j])
			if math.Abs(sum-want) > 1e-4*math.Abs(want)+1e-7 {
				t.Fatalf("%s[%d]: workers sum %v, 2×full %v", p.Name, j, sum, want)
			}
		}
	}
	for k, s := range wf.BNStats() {
		for j := range s {
			if math.Abs(float64(s[j]-workers[0].BNStats()[k][j])) > 1e-5*(1+math.Abs(float64(s[j]))) {
				t.Fatalf("BN stats %d[%d]: full %v, half %v", k, j, s[j], workers[0].BNStats()[k][j])
			}
		}
	}
	items, _ := workers[1].TouchedRows()
	seen := map[int32]bool{}
	for _, id := range h.CandItems {
		seen[id] = true
	}
	for _, id := range h.HistItems {
		if id != 0 {
			seen[id] = true
		}
	}
	if len(items) != len(seen) {
		t.Fatalf("%d touched item rows, want %d", len(items), len(seen))
	}
}

// TestUpdateMovingAverages checks the moving-average rule on one tensor.
func TestUpdateMovingAverages(t *testing.T) {
	cfg := smallConfig()
	m, _ := New(cfg, 5)
	w := m.NewWorker()
	w.Step(randBatch(rand.New(rand.NewPCG(1, 2)), cfg, 3, cfg.SeqLen, 4), LossOptions{})
	before := append([]float32(nil), m.State()[1].W...)
	if err := m.UpdateMovingAverages(w.BNStats()); err != nil {
		t.Fatal(err)
	}
	for j, v := range m.State()[1].W {
		want := 0.99*before[j] + 0.01*w.BNStats()[1][j]
		if math.Abs(float64(v-want)) > 1e-6 {
			t.Fatalf("moving variance[%d] = %v want %v", j, v, want)
		}
	}
	if err := m.UpdateMovingAverages(w.BNStats()[:3]); err == nil {
		t.Fatal("short statistics accepted")
	}
}

func TestSignOf(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	for _, c := range []struct{ g, want float32 }{
		{2, 1}, {-3, -1}, {0, 0}, {negZero, 0}, {1e-45, 1}, {-1e-45, -1},
		{float32(math.Inf(1)), 1}, {float32(math.Inf(-1)), -1},
	} {
		if got := signOf(c.g); got != c.want {
			t.Errorf("signOf(%v) = %v, want %v", c.g, got, c.want)
		}
	}
}

// kinkPattern hashes the sign of every PReLU input of the last Step (item
// network, score network in both passes, query and key hidden layers).
// Equal patterns at θ+h and θ−h mean no unit crossed a kink in between, so
// the loss is smooth along the segment.
func kinkPattern(w *Worker) uint64 {
	h := uint64(14695981039346656037)
	add := func(xs []float32) {
		for _, x := range xs {
			var b uint64
			switch {
			case x > 0:
				b = 1
			case x < 0:
				b = 2
			}
			h = (h ^ b) * 1099511628211
		}
	}
	for _, y := range w.ic.Y {
		add(y)
	}
	for _, p := range []*pass{&w.clean, &w.adv} {
		for _, y := range p.sc.Y {
			add(y)
		}
		add(p.qc.H)
	}
	add(w.kc.H)
	return h
}

// TestStepGradientReferenceSizes checks the gradient of the total loss at
// the reference layer sizes (where the assembly PReLU, BatchNorm and
// softmax paths run) element by element, like TestStepGradient. With
// thousands of PReLU units a perturbation often moves some unit across its
// kink, where the loss is not differentiable; such elements are skipped
// (detected by kinkPattern) and the rest must agree to 1% plus 1e-4 (the
// float32 noise of the finite differences).
func TestStepGradientReferenceSizes(t *testing.T) {
	cfg := Default2()
	m, err := New(cfg, 21)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(21, 21))
	offKinks(m, r)
	b := randBatch(r, cfg, 2, cfg.SeqLen, 6)
	o := LossOptions{AdvEps: 0.05, AdvWeight: 1}
	w := m.NewWorker()
	w.Step(b, o)
	fx := stepFixes{sign: append([]float32(nil), w.sign...), target: append([]float32(nil), w.clean.logits...)}
	w.step(b, o, fx)
	g := copyGrads(w.Grads())
	const h = 1e-3
	checked, skipped := 0, 0
	for i, p := range m.Params() {
		var idx []int
		for j := range p.W {
			if g[i][j] != 0 {
				idx = append(idx, j)
			}
		}
		// Of a random sample, try the largest gradients first: small ones
		// drown in the float32 noise of the loss (about 2e-5 at this h).
		r.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		idx = idx[:min(len(idx), 60)]
		sort.Slice(idx, func(a, b int) bool { return math.Abs(float64(g[i][idx[a]])) > math.Abs(float64(g[i][idx[b]])) })
		n := 0
		for _, j := range idx {
			if n == 6 {
				break
			}
			saved := p.W[j]
			p.W[j] = saved + h
			lp := w.step(b, o, fx).Loss
			kp := kinkPattern(w)
			p.W[j] = saved - h
			lm := w.step(b, o, fx).Loss
			km := kinkPattern(w)
			p.W[j] = saved
			if kp != km {
				skipped++
				continue
			}
			n++
			fd := (lp - lm) / (2 * h)
			gv := float64(g[i][j])
			if math.Abs(fd-gv) > 1e-2*math.Max(math.Abs(fd), math.Abs(gv))+1e-4 {
				t.Errorf("%s[%d]: analytic %.6g, finite difference %.6g", p.Name, j, gv, fd)
			}
		}
		checked += n
		if n == 0 && p.Name != "attention/key_dense1/bias" {
			t.Errorf("%s: no element could be checked", p.Name)
		}
	}
	t.Logf("%d elements checked, %d skipped at a kink", checked, skipped)
	if checked < 4*len(m.Params()) {
		t.Errorf("only %d elements checked", checked)
	}
}

// TestStepLearns: plain gradient descent with Step's gradients (and the
// moving averages updated from BNStats) drives the loss on a fixed batch
// down and ranks the positives first, with and without the adversarial term.
func TestStepLearns(t *testing.T) {
	for _, o := range []LossOptions{{}, {AdvEps: 0.01, AdvWeight: 1}} {
		cfg := smallConfig()
		m, _ := New(cfg, 17)
		b := randBatch(rand.New(rand.NewPCG(17, 17)), cfg, 6, cfg.SeqLen, 5)
		w := m.NewWorker()
		first := w.Step(b, o)
		var last StepStats
		for i := 0; i < 300; i++ {
			for k, p := range m.Params() {
				for j, g := range w.Grads()[k] {
					p.W[j] -= 0.5 * g
				}
			}
			if err := m.UpdateMovingAverages(w.BNStats()); err != nil {
				t.Fatal(err)
			}
			last = w.Step(b, o)
		}
		t.Logf("%+v: loss %.4f → %.4f, correct %d → %d of %d", o, first.Loss, last.Loss, first.Correct, last.Correct, last.N)
		if !(last.Loss < 0.5*first.Loss) || last.Correct != last.N {
			t.Errorf("%+v: loss %.4f → %.4f, correct %d/%d", o, first.Loss, last.Loss, last.Correct, last.N)
		}
	}
}
