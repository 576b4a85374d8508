package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"nann/internal/numtest"
	"nann/internal/vec"
)

// Gradient checks: every layer's analytic gradients (parameters and inputs)
// against central finite differences of a scalar loss Σ r⊙y accumulated in
// float64. The forward passes are float32, so the step is 1e-3 and the
// tolerance |fd−g| ≤ 1e-2·max(|fd|,|g|) + 2e-3 (second-order error plus
// float32 rounding of the loss divided by 2h).

var fdTol = numtest.Tol{Step: 1e-3, Rel: 1e-2, Abs: 2e-3}

func randSlice(r *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64() * scale)
	}
	return s
}

func dot64(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// checkGrad perturbs up to 40 elements of w (all if fewer) and compares.
func checkGrad(t *testing.T, name string, r *rand.Rand, w, grad []float32, loss func() float64) {
	t.Helper()
	if len(w) != len(grad) {
		t.Fatalf("%s: %d values but %d gradients", name, len(w), len(grad))
	}
	idx := make([]int, len(w))
	for i := range idx {
		idx[i] = i
	}
	if len(idx) > 40 {
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:40]
	}
	bad := numtest.GradCheck(t, name, w, grad, idx, loss, fdTol)
	if bad == 0 {
		t.Logf("%s: %d elements agree", name, len(idx))
	}
}

func TestDenseGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	var ps ParamSet
	for _, bias := range []bool{true, false} {
		d := NewDense(&ps, r, "d", 5, 9, bias, InitVarianceScaling, 0.1)
		n, ldx, ldy := 7, 6, 11 // leading dimensions wider than the rows
		x := randSlice(r, n*ldx, 1)
		rw := randSlice(r, n*ldy, 1)
		y := make([]float32, n*ldy)
		var gw vec.GemmWork
		loss := func() float64 {
			d.Forward(&gw, x, ldx, n, y, ldy)
			s := 0.0
			for i := 0; i < n; i++ {
				s += dot64(y[i*ldy:i*ldy+9], rw[i*ldy:i*ldy+9])
			}
			return s
		}
		loss()
		g := NewGrads(&ps)
		dx := make([]float32, n*ldx)
		d.Backward(&gw, g, x, ldx, rw, ldy, n, dx, ldx, false)
		checkGrad(t, "dense kernel", r, d.W.W, g.Of(d.W), loss)
		if bias {
			checkGrad(t, "dense bias", r, d.B.W, g.Of(d.B), loss)
		}
		for i := 0; i < n; i++ {
			for j := 5; j < ldx; j++ {
				if dx[i*ldx+j] != 0 {
					t.Fatalf("dense dx wrote past the row")
				}
			}
		}
		checkGrad(t, "dense input", r, x, dx, loss)
	}
}

// awayFromZero nudges values so that none lies within 0.05 of a PReLU kink.
func awayFromZero(x []float32) {
	for i, v := range x {
		if v >= 0 && v < 0.05 {
			x[i] = v + 0.05
		} else if v < 0 && v > -0.05 {
			x[i] = v - 0.05
		}
	}
}

func TestPReLUGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 1))
	var ps ParamSet
	p := NewPReLU(&ps, "p", 6, 0.25)
	for i := range p.Alpha.W {
		p.Alpha.W[i] = float32(0.1 + 0.1*float64(i))
	}
	n := 8
	x := randSlice(r, n*6, 1)
	awayFromZero(x)
	rw := randSlice(r, n*6, 1)
	y := make([]float32, n*6)
	loss := func() float64 { p.Forward(x, n, y); return dot64(y, rw) }
	g := NewGrads(&ps)
	dx := make([]float32, n*6)
	p.Backward(g, x, rw, n, dx)
	checkGrad(t, "prelu alpha", r, p.Alpha.W, g.Of(p.Alpha), loss)
	checkGrad(t, "prelu input", r, x, dx, loss)
}

func TestBatchNormGrad(t *testing.T) {
	for _, ch := range []int{16, 5} { // the assembly path (multiple of 8) and the Go twin
		testBatchNormGrad(t, ch)
	}
}

func testBatchNormGrad(t *testing.T, ch int) {
	r := rand.New(rand.NewPCG(3, uint64(ch)))
	var ps, st ParamSet
	bn := NewBatchNorm(&ps, &st, "bn", ch, 0.99, 1e-3)
	copy(bn.Gamma.W, randSlice(r, ch, 1))
	copy(bn.Beta.W, randSlice(r, ch, 1))
	n := 9
	x := randSlice(r, n*ch, 2)
	rw := randSlice(r, n*ch, 1)
	y := make([]float32, n*ch)
	var c BNCache
	loss := func() float64 { bn.ForwardTrain(x, n, y, &c); return dot64(y, rw) }
	loss()
	g := NewGrads(&ps)
	dx := make([]float32, n*ch)
	bn.Backward(g, &c, rw, n, dx)
	checkGrad(t, "bn gamma", r, bn.Gamma.W, g.Of(bn.Gamma), loss)
	checkGrad(t, "bn beta", r, bn.Beta.W, g.Of(bn.Beta), loss)
	checkGrad(t, "bn input", r, x, dx, loss)
	// Training output is normalised: each channel has mean beta, std |gamma|.
	for j := 0; j < ch; j++ {
		m := 0.0
		for i := 0; i < n; i++ {
			m += float64(y[i*ch+j])
		}
		if math.Abs(m/float64(n)-float64(bn.Beta.W[j])) > 1e-5 {
			t.Errorf("channel %d mean %v, want beta %v", j, m/float64(n), bn.Beta.W[j])
		}
	}
	// Inference uses the moving statistics.
	for j := 0; j < ch; j++ {
		bn.MovingMean.W[j], bn.MovingVar.W[j] = float32(j+1), 4
	}
	bn.ForwardInfer(x, n, y)
	for i := 0; i < n*ch; i++ {
		j := i % ch
		want := float64(bn.Gamma.W[j])*(float64(x[i])-float64(j+1))/math.Sqrt(4+1e-3) + float64(bn.Beta.W[j])
		if math.Abs(float64(y[i])-want) > 1e-5*(1+math.Abs(want)) {
			t.Fatalf("inference y[%d]=%v want %v", i, y[i], want)
		}
	}
}

func TestEmbeddingMaskAndGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 1))
	var ps ParamSet
	e := NewEmbedding(&ps, r, "emb", 5, 3)
	ids := []int32{2, 0, 5, 2}
	ld, off := 7, 2
	out := make([]float32, len(ids)*ld)
	for i := range out {
		out[i] = -9
	}
	e.Lookup(ids, out, ld, off)
	for i, id := range ids {
		for j := 0; j < 3; j++ {
			want := float32(0)
			if id != 0 {
				want = e.Table.W[int(id)*3+j]
			}
			if out[i*ld+off+j] != want {
				t.Fatalf("row %d col %d: %v want %v", i, j, out[i*ld+off+j], want)
			}
		}
		if out[i*ld] != -9 || out[i*ld+off+3] != -9 {
			t.Fatalf("lookup wrote outside its columns")
		}
	}
	rw := randSlice(r, len(ids)*ld, 1)
	loss := func() float64 {
		e.Lookup(ids, out, ld, off)
		s := 0.0
		for i := range ids {
			s += dot64(out[i*ld+off:i*ld+off+3], rw[i*ld+off:i*ld+off+3])
		}
		return s
	}
	g := NewGrads(&ps)
	e.Backward(g, ids, rw, ld, off)
	checkGrad(t, "embedding table", r, e.Table.W, g.Of(e.Table), loss)
	for j := 0; j < 3; j++ {
		if g.Of(e.Table)[j] != 0 {
			t.Fatal("row 0 received a gradient")
		}
	}
}

func TestAttentionGrad(t *testing.T) {
	for _, mode := range []struct{ mask, dedup bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		mask := mode.mask
		r := rand.New(rand.NewPCG(5, 1))
		var ps ParamSet
		const b, c, l, v, qin, h, dim = 2, 3, 4, 6, 5, 7, 8
		a := NewAttention(&ps, r, "att", qin, v, h, dim, mask)
		// Non-zero biases so that the check covers them meaningfully.
		for _, d := range []*Dense{a.Q1, a.Q2, a.K1, a.K2} {
			copy(d.B.W, randSlice(r, len(d.B.W), 0.3))
		}
		seq := randSlice(r, b*l*v, 1)
		valid := make([]bool, b*l)
		for i := range valid {
			valid[i] = true
		}
		// User 1's last position is padding: zero values, invalid.
		clear(seq[(b*l-1)*v:])
		valid[b*l-1] = false
		var pad []bool
		if mode.dedup {
			// User 0's position 2 is padding too, so two rows share a key.
			clear(seq[2*v : 3*v])
			valid[2] = false
			pad = make([]bool, b*l)
			for i := range pad {
				pad[i] = !valid[i]
			}
		}
		ldev, ldOut := qin+1, v+2
		ev := randSlice(r, b*c*ldev, 1)
		rw := randSlice(r, b*c*ldOut, 1)
		out := make([]float32, b*c*ldOut)
		var gw vec.GemmWork
		var kc AttnKeys
		var qc AttnQueries
		loss := func() float64 {
			a.Keys(&gw, seq, valid, pad, b, l, &kc)
			a.Forward(&gw, ev, ldev, c, &kc, &qc, out, ldOut)
			s := 0.0
			for i := 0; i < b*c; i++ {
				s += dot64(out[i*ldOut:i*ldOut+v], rw[i*ldOut:i*ldOut+v])
			}
			return s
		}
		loss()
		if mask {
			for i := 0; i < c; i++ {
				if w := qc.A[(c+i)*l+l-1]; w != 0 {
					t.Fatalf("masked position has weight %v", w)
				}
			}
		}
		g := NewGrads(&ps)
		dSeq := make([]float32, b*l*v)
		dev := make([]float32, b*c*ldev)
		a.Backward(&gw, g, ev, ldev, c, &kc, &qc, rw, ldOut, dSeq, dev, ldev, false)
		a.KeysBackward(&gw, g, &kc, dSeq)
		for _, p := range ps.List {
			checkGrad(t, p.Name, r, p.W, g.Of(p), loss)
		}
		checkGrad(t, "attention query input", r, ev, dev, loss)
		if !mode.dedup {
			checkGrad(t, "attention sequence input", r, seq, dSeq, loss)
			continue
		}
		// Padding positions get no sequence gradient; check the others.
		checkGrad(t, "attention sequence input", r, seq[3*v:(b*l-1)*v], dSeq[3*v:(b*l-1)*v], loss)
		checkGrad(t, "attention sequence input", r, seq[:2*v], dSeq[:2*v], loss)
		// The compacted key path gives the same output as the full one.
		loss()
		want := append([]float32(nil), out...)
		a.Keys(&gw, seq, valid, nil, b, l, &kc)
		a.Forward(&gw, ev, ldev, c, &kc, &qc, out, ldOut)
		for i := range out {
			if math.Abs(float64(out[i]-want[i])) > 1e-6*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("output %d: compacted %v, full %v", i, want[i], out[i])
			}
		}
	}
}

func TestLossGrads(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 1))
	const rows, cols = 3, 5
	x := randSlice(r, rows*cols, 2)
	labels := make([]float32, rows*cols)
	for i := 0; i < rows; i++ {
		labels[i*cols] = 1
	}
	d := make([]float32, rows*cols)
	xe := func() float64 { return SigmoidCrossEntropy(x, labels, 0.5, make([]float32, rows*cols)) * 0.5 }
	SigmoidCrossEntropy(x, labels, 0.5, d)
	checkGrad(t, "sigmoid cross-entropy", r, x, d, xe)
	// Known value: x=0, y=1 gives log 2.
	if got := SigmoidCrossEntropy([]float32{0}, []float32{1}, 1, make([]float32, 1)); math.Abs(got-math.Ln2) > 1e-12 {
		t.Fatalf("xe(0,1)=%v want ln 2", got)
	}

	target := randSlice(r, rows*cols, 2)
	kl := func() float64 { return SoftmaxKL(target, x, rows, cols, 1, make([]float32, rows*cols)) }
	SoftmaxKL(target, x, rows, cols, 1, d)
	checkGrad(t, "softmax KL", r, x, d, kl)
	if got := SoftmaxKL(x, x, rows, cols, 1, d); math.Abs(got) > 1e-12 {
		t.Fatalf("KL(p‖p)=%v", got)
	}
	if got := kl(); got <= 0 {
		t.Fatalf("KL of different distributions %v, want > 0", got)
	}
}

func TestMLPGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 1))
	var ps, st ParamSet
	p := NewMLP(&ps, &st, r, "mlp", MLPConfig{In: 6, Hidden: []int{5, 4}, Out: 3, OutBias: false, BiasInit: 0.1, Momentum: 0.99, Eps: 1e-3})
	n, ldx := 10, 8
	x := randSlice(r, n*ldx, 1)
	rw := randSlice(r, n*3, 1)
	out := make([]float32, n*3)
	var gw vec.GemmWork
	var c MLPCache
	loss := func() float64 { p.Forward(&gw, x, ldx, n, true, &c, out, 3); return dot64(out, rw) }
	loss()
	g := NewGrads(&ps)
	dx := make([]float32, n*ldx)
	p.Backward(&gw, g, x, ldx, n, &c, rw, 3, dx, ldx, false)
	for _, q := range ps.List {
		checkGrad(t, q.Name, r, q.W, g.Of(q), loss)
	}
	checkGrad(t, "mlp input", r, x, dx, loss)
	if len(st.List) != 4 || st.List[0].Name != "mlp/bn0/moving_mean" || st.List[3].Name != "mlp/bn1/moving_variance" {
		t.Fatalf("unexpected state list %v", st.List)
	}
}
