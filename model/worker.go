package model

import (
	"fmt"
	"math"

	"nann/internal/vec"
	"nann/nn"
)

// LossOptions configures the adversarial (FGSM) term; AdvEps 0 or AdvWeight
// 0 disables it.
type LossOptions struct {
	AdvEps, AdvWeight float32
}

// StepStats summarises one Step. Loss = LossXE + AdvWeight·LossAdv.
// Correct counts positives whose logit is the highest of their C candidates
// (ties count as correct, as argmax returns the first index) with the log-Q
// correction, CorrectNoLogQ without it; N is the number of positives.
type StepStats struct {
	Loss, LossXE, LossAdv  float64
	Correct, CorrectNoLogQ int
	N                      int
}

// pass holds one attention + score-network pass over B·C candidates.
type pass struct {
	qc      nn.AttnQueries
	sc      nn.MLPCache
	z, dz   []float32 // B·C × (SeqWidth+ItemDim): concat(att, e_v) and its gradient
	out     []float32 // raw scores
	logits  []float32 // scores − LogQ
	dlogits []float32
}

// Worker runs training steps on one goroutine: it owns its activations and
// gradient buffers and reads the model's weights, which must not change
// during a Step.
type Worker struct {
	m     *Model
	gw    vec.GemmWork
	grads nn.Grads

	x0, dx0     []float32 // candidate inputs concat(item, cate emb), B·C × SeqWidth
	seq, dSeq   []float32 // histories, B·L × SeqWidth
	valid, pad  []bool
	ic          nn.MLPCache
	ev, dev     []float32 // e_v and ∂loss/∂e_v, B·C × ItemDim
	evAdv       []float32
	sign        []float32 // the FGSM direction used by the last Step
	kc          nn.AttnKeys
	clean, adv  pass
	labels      []float32
	bnStats     [][]float32
	touchedItem rowSet
	touchedCate rowSet
}

// stepFixes holds what a gradient check pins so that Step's loss is a
// smooth function of the parameters: a non-nil sign replaces
// sign(∂loss/∂e_v), a non-nil target replaces the stop-gradient logits of
// the KL term and evDelta is added to e_v after the item network. Step
// passes none.
type stepFixes struct {
	sign, target, evDelta []float32
}

// NewWorker allocates a worker with zeroed gradient buffers.
func (m *Model) NewWorker() *Worker {
	w := &Worker{m: m, grads: nn.NewGrads(&m.params)}
	w.touchedItem.mark = make([]uint32, m.Cfg.NumItems+1)
	w.touchedCate.mark = make([]uint32, m.Cfg.NumCates+1)
	for _, p := range m.state.List {
		w.bnStats = append(w.bnStats, make([]float32, p.Len()))
	}
	return w
}

// Grads returns the gradient buffers of the last Step, aligned with
// m.Params(). They hold the gradient of that step's mean loss; summing the
// buffers of several workers is what the reference's replicas do.
// Embedding-table gradients are non-zero only in the rows TouchedRows lists.
func (w *Worker) Grads() [][]float32 { return w.grads }

// BNStats returns the last Step's batch mean and (biased) variance of each
// BatchNorm layer in the clean forward pass, aligned with m.State().
func (w *Worker) BNStats() [][]float32 { return w.bnStats }

// TouchedRows returns the embedding rows (dense ids, 0 excluded, each once)
// that the last Step looked up: only these rows of the "emb/item" and
// "emb/cate" gradients can be non-zero.
func (w *Worker) TouchedRows() (items, cates []int32) {
	return w.touchedItem.rows, w.touchedCate.rows
}

// rowSet collects distinct ids with a generation-stamped mark array.
type rowSet struct {
	mark []uint32
	gen  uint32
	rows []int32
}

func (s *rowSet) reset() {
	s.rows = s.rows[:0]
	s.gen++
	if s.gen == 0 { // wrapped: clear stale stamps
		clear(s.mark)
		s.gen = 1
	}
}

func (s *rowSet) add(ids []int32) {
	for _, id := range ids {
		if id != 0 && s.mark[id] != s.gen {
			s.mark[id] = s.gen
			s.rows = append(s.rows, id)
		}
	}
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// zeroGrads clears the dense gradients and the embedding rows touched by
// the previous step.
func (w *Worker) zeroGrads() {
	m := w.m
	for _, p := range m.params.List {
		if p == m.ItemEmb.Table || p == m.CateEmb.Table {
			continue
		}
		clear(w.grads[p.Index])
	}
	clearRows(w.grads.Of(m.ItemEmb.Table), w.touchedItem.rows, m.Cfg.EmbDim)
	clearRows(w.grads.Of(m.CateEmb.Table), w.touchedCate.rows, m.Cfg.EmbDim)
	w.touchedItem.reset()
	w.touchedCate.reset()
}

func clearRows(g []float32, rows []int32, d int) {
	for _, r := range rows {
		clear(g[int(r)*d : int(r)*d+d])
	}
}

// Step runs the training-mode forward and backward pass on b and leaves the
// gradients of the mean loss in Grads. The loss follows SPEC §3:
//
//   - logits = score(user, candidate) − LogQ;
//   - LossXE = TensorFlow's reduce_mean of sigmoid cross-entropy over all
//     B×C logits (label 1 for column 0), which is what the reference's
//     tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(...)) computes;
//   - g = ∂LossXE/∂e_v, e_adv = e_v + AdvEps·sign(g) (a constant shift:
//     the item network gets gradients through e_adv as through e_v);
//   - LossAdv = mean over positives of KL(softmax(stop_gradient(logits)) ‖
//     softmax(logits_adv)) over the C candidates (Keras KLDivergence's
//     sum over the last axis, mean over the batch);
//   - Loss = LossXE + AdvWeight·LossAdv.
//
// BatchNorm uses the statistics of the batch: the clean pass those of its
// B·C candidates (reported by BNStats), the adversarial pass its own (as a
// second training-mode call of the same layers does in TensorFlow). The
// keys and e_v are shared by both passes. Step panics if b is invalid for
// the model; callers validate batches with Batch.Validate.
func (w *Worker) Step(b *Batch, o LossOptions) StepStats { return w.step(b, o, stepFixes{}) }

// step is Step with the parts fx pins (the gradient checks' entry).
func (w *Worker) step(b *Batch, o LossOptions, fx stepFixes) StepStats {
	if err := b.Validate(w.m.Cfg); err != nil {
		panic(fmt.Sprintf("model: Worker.Step: %v", err))
	}
	m, cfg := w.m, w.m.Cfg
	n, u := b.B*b.C, b.B*b.L
	sd, eo := cfg.SeqWidth(), cfg.ItemDim
	w.zeroGrads()
	w.touchedItem.add(b.CandItems)
	w.touchedItem.add(b.HistItems)
	w.touchedCate.add(b.CandCates)
	w.touchedCate.add(b.HistCates)

	// Inputs.
	w.x0, w.dx0 = grow(w.x0, n*sd), grow(w.dx0, n*sd)
	w.seq, w.dSeq = grow(w.seq, u*sd), grow(w.dSeq, u*sd)
	m.ItemEmb.Lookup(b.CandItems, w.x0, sd, 0)
	m.CateEmb.Lookup(b.CandCates, w.x0, sd, cfg.EmbDim)
	m.ItemEmb.Lookup(b.HistItems, w.seq, sd, 0)
	m.CateEmb.Lookup(b.HistCates, w.seq, sd, cfg.EmbDim)
	// Padding positions (item and category 0) share one key computation;
	// with MaskPadding, positions with item 0 get no attention.
	w.pad = w.pad[:0]
	for i, id := range b.HistItems {
		w.pad = append(w.pad, id == 0 && b.HistCates[i] == 0)
	}
	var valid []bool
	if cfg.MaskPadding {
		w.valid = w.valid[:0]
		for _, id := range b.HistItems {
			w.valid = append(w.valid, id != 0)
		}
		valid = w.valid
	}

	// Item network and keys, shared by both passes.
	w.ev, w.dev = grow(w.ev, n*eo), grow(w.dev, n*eo)
	m.ItemNet.Forward(&w.gw, w.x0, sd, n, true, &w.ic, w.ev, eo)
	for i, d := range fx.evDelta {
		w.ev[i] += d
	}
	m.Att.Keys(&w.gw, w.seq, valid, w.pad, b.B, b.L, &w.kc)
	clear(w.dSeq)

	// Clean pass, loss and its backward: w.dev = g = ∂LossXE/∂e_v.
	w.forwardPass(&w.clean, w.ev, b)
	w.copyBNStats()
	w.labels = grow(w.labels, n)
	for i := range w.labels {
		w.labels[i] = 0
		if i%b.C == 0 {
			w.labels[i] = 1
		}
	}
	st := StepStats{N: b.B}
	st.LossXE = nn.SigmoidCrossEntropy(w.clean.logits, w.labels, 1/float32(n), w.clean.dlogits) / float64(n)
	st.Correct, st.CorrectNoLogQ = countCorrect(w.clean.logits, b.C), countCorrect(w.clean.out, b.C)
	w.backwardPass(&w.clean, w.ev, b, false)
	st.Loss = st.LossXE

	if o.AdvEps != 0 && o.AdvWeight != 0 {
		st.LossAdv = w.adversarial(b, o, fx)
		st.Loss += float64(o.AdvWeight) * st.LossAdv
	}

	// Item network, keys and embeddings get the summed gradients.
	m.ItemNet.Backward(&w.gw, w.grads, w.x0, sd, n, &w.ic, w.dev, eo, w.dx0, sd, false)
	m.Att.KeysBackward(&w.gw, w.grads, &w.kc, w.dSeq)
	m.ItemEmb.Backward(w.grads, b.CandItems, w.dx0, sd, 0)
	m.CateEmb.Backward(w.grads, b.CandCates, w.dx0, sd, cfg.EmbDim)
	m.ItemEmb.Backward(w.grads, b.HistItems, w.dSeq, sd, 0)
	m.CateEmb.Backward(w.grads, b.HistCates, w.dSeq, sd, cfg.EmbDim)
	return st
}

// adversarial runs the FGSM pass: e_adv = e_v + eps·sign(g) with g in w.dev,
// the KL loss against the clean logits, and its backward, adding
// AdvWeight·∂LossAdv/∂e_v to w.dev. It returns LossAdv.
func (w *Worker) adversarial(b *Batch, o LossOptions, fx stepFixes) float64 {
	w.evAdv = grow(w.evAdv, len(w.ev))
	w.sign = grow(w.sign, len(w.ev))
	for i, g := range w.dev[:len(w.ev)] {
		s := signOf(g)
		if fx.sign != nil {
			s = fx.sign[i]
		}
		w.sign[i] = s
		w.evAdv[i] = w.ev[i] + o.AdvEps*s
	}
	w.forwardPass(&w.adv, w.evAdv, b)
	target := w.clean.logits
	if fx.target != nil {
		target = fx.target
	}
	loss := nn.SoftmaxKL(target, w.adv.logits, b.B, b.C, o.AdvWeight/float32(b.B), w.adv.dlogits) / float64(b.B)
	w.backwardPass(&w.adv, w.evAdv, b, true)
	return loss
}

// forwardPass computes p.logits for candidate embeddings ev.
func (w *Worker) forwardPass(p *pass, ev []float32, b *Batch) {
	m, cfg := w.m, w.m.Cfg
	n, sd, eo := b.B*b.C, cfg.SeqWidth(), cfg.ItemDim
	zd := sd + eo
	p.z, p.dz = grow(p.z, n*zd), grow(p.dz, n*zd)
	p.out, p.logits, p.dlogits = grow(p.out, n), grow(p.logits, n), grow(p.dlogits, n)
	m.Att.Forward(&w.gw, ev, eo, b.C, &w.kc, &p.qc, p.z, zd)
	for i := 0; i < n; i++ {
		copy(p.z[i*zd+sd:(i+1)*zd], ev[i*eo:(i+1)*eo])
	}
	m.ScoreNet.Forward(&w.gw, p.z, zd, n, true, &p.sc, p.out, 1)
	for i, s := range p.out {
		p.logits[i] = s - b.LogQ[i]
	}
}

// backwardPass propagates p.dlogits to the score network, attention and
// keys' gradients and writes (acc false) or adds (acc true) ∂/∂e_v to w.dev.
func (w *Worker) backwardPass(p *pass, ev []float32, b *Batch, acc bool) {
	m, cfg := w.m, w.m.Cfg
	n, sd, eo := b.B*b.C, cfg.SeqWidth(), cfg.ItemDim
	zd := sd + eo
	m.ScoreNet.Backward(&w.gw, w.grads, p.z, zd, n, &p.sc, p.dlogits, 1, p.dz, zd, false)
	m.Att.Backward(&w.gw, w.grads, ev, eo, b.C, &w.kc, &p.qc, p.dz, zd, w.dSeq, w.dev, eo, acc)
	for i := 0; i < n; i++ {
		d := w.dev[i*eo : (i+1)*eo]
		for j, v := range p.dz[i*zd+sd : (i+1)*zd] {
			d[j] += v
		}
	}
}

// copyBNStats records the clean forward pass's batch statistics in State
// order: item network, then score network.
func (w *Worker) copyBNStats() {
	k := 0
	for _, caches := range [][]nn.BNCache{w.ic.BN, w.clean.sc.BN} {
		for i := range caches {
			copy(w.bnStats[k], caches[i].Mean)
			copy(w.bnStats[k+1], caches[i].Var)
			k += 2
		}
	}
}

// signOf is tf.sign: −1, 0 or 1, branch-free (the signs of a gradient are
// unpredictable); NaN counts as positive or negative by its sign bit.
func signOf(g float32) float32 {
	bits := math.Float32bits(g)
	nonzero := ((bits & 0x7fffffff) + 0x7fffffff) >> 31
	return float32(int32(nonzero) * (1 - 2*int32(bits>>31)))
}

// countCorrect counts rows of c logits whose column 0 is maximal.
func countCorrect(logits []float32, c int) int {
	n := 0
	for r := 0; r+c <= len(logits); r += c {
		ok := true
		for _, v := range logits[r+1 : r+c] {
			if v > logits[r] {
				ok = false
				break
			}
		}
		if ok {
			n++
		}
	}
	return n
}
