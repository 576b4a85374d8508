package python

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"nann/dataset"
	"nann/internal/npy"
	"nann/item"
	"nann/model"
	"nann/synth"
	"nann/train"
)

// fixture sizes: tiny, so that `go test ./python` stays at seconds.
const (
	fixUsers      = 8    // test users whose scores over every item are dumped
	fixBatch      = 6    // positives of the fixed gradient batch
	fixNegatives  = 7    // negatives per positive in the fixed batch
	fixAdvEps     = 0.05 // FGSM step of the fixed batch (large, so the term matters)
	fixTrainSteps = 4
)

// writeFixture builds the Go side of the PyTorch agreement tests in dir:
//
//	profiles.json        train.Profile of every profile, model.Default
//	ds/                  the tiny synthetic world, prepared
//	run/                 a nann run of fixTrainSteps steps (config.json, ckpt/, model.ckpt)
//	scores/              item_embs.npy (Go's inference table), hist_items.npy,
//	                     hist_cates.npy [U,L] int32, scores.npy [U,N] float32
//	                     (model.Scorer plain-forward logits of U test users)
//	grads/               one fixed training batch (batch_*.npy), Go's
//	                     Worker.Step gradients (grad_NNN.npy in Params order),
//	                     BN statistics (bn_NNN.npy) and meta.json (losses, names)
func writeFixture(dir string) error {
	ctx := context.Background()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg, err := synth.Preset("tiny")
	if err != nil {
		return err
	}
	cfg.Users = 1000
	csv := filepath.Join(dir, "tiny.csv")
	f, err := os.Create(csv)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if _, err := synth.Generate(ctx, cfg, bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	dsDir := filepath.Join(dir, "ds")
	if _, err := dataset.Prepare(ctx, csv, dsDir, dataset.DefaultOptions()); err != nil {
		return err
	}
	os.Remove(csv)

	profiles := map[string]any{"model": model.Default()}
	for _, name := range train.ProfileNames() {
		c, err := train.Profile(name)
		if err != nil {
			return err
		}
		profiles[name] = c
	}
	pj, err := json.MarshalIndent(profiles, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "profiles.json"), pj, 0o644); err != nil {
		return err
	}
	tc, err := train.Profile("demo")
	if err != nil {
		return err
	}
	runDir := filepath.Join(dir, "run")
	tc.RunDir, tc.Data = runDir, dsDir
	tc.Batch, tc.Negatives, tc.MaxSteps, tc.Replicas = 64, 10, fixTrainSteps, 2
	tc.CheckpointEvery, tc.LogEvery, tc.EvalUsers = 2, 2, 20
	if _, err := train.Run(ctx, tc, train.Options{}); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	m, err := train.LoadModel(runDir)
	if err != nil {
		return err
	}
	ds, err := dataset.Open(dsDir, dataset.OpenOptions{})
	if err != nil {
		return err
	}
	defer ds.Close()
	if err := dumpScores(filepath.Join(dir, "scores"), m, ds); err != nil {
		return err
	}
	return dumpGrads(filepath.Join(dir, "grads"), m, ds)
}

func dumpScores(dir string, m *model.Model, ds *dataset.Dataset) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	table, err := m.AllItemEmbeddings(ds.ItemCate.Rows())
	if err != nil {
		return err
	}
	sc, err := m.NewScorer(table)
	if err != nil {
		return err
	}
	n, l := m.Cfg.NumItems, m.Cfg.SeqLen
	u := min(fixUsers, len(ds.Test))
	hi, hc := make([]int32, u*l), make([]int32, u*l)
	scores := make([]float32, u*n)
	rows := item.AllRows(n)
	for k := 0; k < u; k++ {
		ds.Fill(ds.Test[k], hi[k*l:(k+1)*l], hc[k*l:(k+1)*l])
		if err := sc.BindIDs(item.IDs(hi[k*l:(k+1)*l]), hc[k*l:(k+1)*l]); err != nil {
			return err
		}
		sc.Score(rows, scores[k*n:(k+1)*n])
	}
	for _, w := range []error{
		npy.Write(filepath.Join(dir, "item_embs.npy"), table, n, m.Cfg.ItemDim),
		npy.Write(filepath.Join(dir, "hist_items.npy"), hi, u, l),
		npy.Write(filepath.Join(dir, "hist_cates.npy"), hc, u, l),
		npy.Write(filepath.Join(dir, "scores.npy"), scores, u, n),
	} {
		if w != nil {
			return w
		}
	}
	return nil
}

func dumpGrads(dir string, m *model.Model, ds *dataset.Dataset) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	B, L, C := fixBatch, m.Cfg.SeqLen, fixNegatives+1
	b := model.Batch{B: B, L: L, C: C,
		HistItems: make([]int32, B*L), HistCates: make([]int32, B*L),
		CandItems: make([]int32, B*C), CandCates: make([]int32, B*C), LogQ: make([]float32, B*C)}
	for i := 0; i < B; i++ {
		s := ds.Train[(i*7919)%len(ds.Train)]
		ds.Fill(s, b.HistItems[i*L:(i+1)*L], b.HistCates[i*L:(i+1)*L])
		it, ct := ds.Target(s)
		b.CandItems[i*C], b.CandCates[i*C] = int32(it), ct
		for j := 1; j < C; j++ {
			id := int32((i*C+j)*37%m.Cfg.NumItems + 1)
			b.CandItems[i*C+j], b.CandCates[i*C+j] = id, ds.ItemCate[id]
		}
		for j := 0; j < C; j++ {
			b.LogQ[i*C+j] = float32(-3 - 0.25*float64((i+j)%5))
		}
	}
	w := m.NewWorker()
	st := w.Step(&b, model.LossOptions{AdvEps: fixAdvEps, AdvWeight: 1})
	var names []string
	for i, p := range m.Params() {
		names = append(names, p.Name)
		if err := npy.Write(filepath.Join(dir, fmt.Sprintf("grad_%03d.npy", i)), w.Grads()[i], p.Shape...); err != nil {
			return err
		}
	}
	var state []string
	for i, s := range w.BNStats() {
		state = append(state, m.State()[i].Name)
		if err := npy.Write(filepath.Join(dir, fmt.Sprintf("bn_%03d.npy", i)), s); err != nil {
			return err
		}
	}
	for _, e := range []error{
		npy.Write(filepath.Join(dir, "batch_hist_items.npy"), b.HistItems, B, L),
		npy.Write(filepath.Join(dir, "batch_hist_cates.npy"), b.HistCates, B, L),
		npy.Write(filepath.Join(dir, "batch_cand_items.npy"), b.CandItems, B, C),
		npy.Write(filepath.Join(dir, "batch_cand_cates.npy"), b.CandCates, B, C),
		npy.Write(filepath.Join(dir, "batch_logq.npy"), b.LogQ, B, C),
	} {
		if e != nil {
			return e
		}
	}
	meta := map[string]any{
		"adv_eps": fixAdvEps, "adv_weight": 1.0,
		"loss": st.Loss, "loss_xe": st.LossXE, "loss_adv": st.LossAdv,
		"correct": st.Correct, "correct_nologq": st.CorrectNoLogQ,
		"params": names, "state": state,
	}
	js, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "meta.json"), js, 0o644)
}

// TestFixture writes the fixture to $NANN_TORCH_FIXTURE_OUT when that is
// set: the Python suite calls it (`go test -run '^TestFixture$' ./python`)
// when it runs on its own; otherwise it builds one in a temporary directory
// and checks that the Go side is complete.
func TestFixture(t *testing.T) {
	dir := os.Getenv("NANN_TORCH_FIXTURE_OUT")
	if dir == "" {
		if testing.Short() {
			t.Skip("short mode")
		}
		dir = t.TempDir()
	}
	if err := writeFixture(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"run/model.ckpt", "scores/scores.npy", "grads/meta.json", "ds/meta.json"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}
}
