package python

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"nann/dataset"
	"nann/internal/npy"
	"nann/internal/race"
	"nann/item"
	"nann/train"
)

const python3 = "/usr/bin/python3"

// TestPythonSuite runs python/tests (the PyTorch trainer's unittest suite)
// with Debian's /usr/bin/python3 against a Go-made fixture, then checks the
// other direction: nann loads the run that the suite trained with torchrun
// and scores as torch does. It skips, saying why, where python3, NumPy or
// PyTorch are missing.
func TestPythonSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: the PyTorch suite takes minutes")
	}
	if race.Enabled {
		// The suite is Python plus a Go fixture already run without -race;
		// .ci/run runs it once, in the plain pass.
		t.Skip("race build: the PyTorch suite runs in the plain go test pass")
	}
	if _, err := os.Stat(python3); err != nil {
		t.Skipf("%s not found: the PyTorch tests need Debian's python3 with python3-numpy, python3-torch, python3-onnx", python3)
	}
	if out, err := exec.Command(python3, "-c", "import numpy").CombinedOutput(); err != nil {
		t.Skipf("%s has no NumPy (apt-get install python3-numpy): %s", python3, bytes.TrimSpace(out))
	}
	haveTorch := exec.Command(python3, "-c", "import torch, onnx").Run() == nil
	if !haveTorch {
		t.Logf("%s lacks torch or onnx (apt-get install python3-torch python3-onnx): the suite runs its NumPy-only tests and skips the rest", python3)
	}
	fix, out := t.TempDir(), t.TempDir()
	if err := writeFixture(fix); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python3, "-m", "unittest", "discover", "-s", "tests", "-t", ".", "-v")
	cmd.Env = append(os.Environ(), "PYTHONPATH=.", "NANN_TORCH_FIXTURE="+fix, "NANN_TORCH_OUT="+out,
		"OMP_NUM_THREADS=1", "PYTHONDONTWRITEBYTECODE=1")
	res, err := cmd.CombinedOutput()
	t.Logf("python3 -m unittest discover -s tests:\n%s", tail(string(res), 6000))
	if err != nil {
		t.Fatalf("Python suite failed: %v", err)
	}
	if !haveTorch {
		return
	}
	checkTorchRun(t, out)
	checkTorchONNX(t, out)
}

// readTorchUsers reads the users the PyTorch trainer scored at the end of
// its run (their item and category histories, of shape hshape: users ×
// length) and torch's scores of them (users × items, flat).
func readTorchUsers(t *testing.T, out string) (hi, hc []int32, hshape []int, want []float32) {
	t.Helper()
	hi, hshape, err := npy.Read[int32](filepath.Join(out, "hist_items.npy"))
	if err != nil {
		t.Fatal(err)
	}
	hc, _, err = npy.Read[int32](filepath.Join(out, "hist_cates.npy"))
	if err != nil {
		t.Fatal(err)
	}
	want, _, err = npy.Read[float32](filepath.Join(out, "torch_scores.npy"))
	if err != nil {
		t.Fatal(err)
	}
	return hi, hc, hshape, want
}

// checkTorchRun loads the torchrun-trained run with nann's own loader and
// compares nann's item table and plain-forward scores with torch's.
func checkTorchRun(t *testing.T, out string) {
	run := filepath.Join(out, "run")
	m, err := train.LoadModel(run)
	if err != nil {
		t.Fatalf("nann cannot load the PyTorch run: %v", err)
	}
	embs, shape, err := npy.Read[float32](filepath.Join(run, "item_embs.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if len(shape) != 2 || shape[0] != m.Cfg.NumItems || shape[1] != m.Cfg.ItemDim {
		t.Fatalf("item_embs.npy has shape %v, want [%d %d]", shape, m.Cfg.NumItems, m.Cfg.ItemDim)
	}
	hi, hc, hshape, want := readTorchUsers(t, out)
	// nann's own item network on the torch weights gives torch's table
	_, tc, err := train.ReadRunConfig(run)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.Open(tc.Data, dataset.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	table, err := m.AllItemEmbeddings(ds.ItemCate.Rows())
	if err != nil {
		t.Fatal(err)
	}
	worstEmb := 0.0
	for i, v := range table {
		worstEmb = math.Max(worstEmb, math.Abs(float64(v-embs[i])))
	}
	if worstEmb > 1e-4 {
		t.Errorf("nann's item embeddings of the PyTorch-trained model differ from item_embs.npy by up to %g", worstEmb)
	}
	sc, err := m.NewScorer(embs)
	if err != nil {
		t.Fatal(err)
	}
	u, l, n := hshape[0], hshape[1], m.Cfg.NumItems
	rows := item.AllRows(n)
	got := make([]float32, n)
	worst := 0.0
	for k := 0; k < u; k++ {
		if err := sc.BindIDs(item.IDs(hi[k*l:(k+1)*l]), hc[k*l:(k+1)*l]); err != nil {
			t.Fatal(err)
		}
		sc.Score(rows, got)
		for i, g := range got {
			worst = math.Max(worst, math.Abs(float64(g-want[k*n+i])))
		}
	}
	t.Logf("PyTorch-trained run in nann: item table max |diff| %.3g; %d users × %d items, score max |diff| vs torch %.3g", worstEmb, u, n, worst)
	if worst > 1e-4 {
		t.Errorf("nann's scores of the PyTorch-trained model differ from torch's by up to %g (want ≤ 1e-4)", worst)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := strings.IndexByte(s[len(s)-n:], '\n')
	return "…" + s[len(s)-n+i:]
}
