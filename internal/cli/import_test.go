package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"nann/bundle"
	"nann/internal/npy"
	"nann/internal/onnxtest"
)

// runImport runs nann import with args and --json and returns its report;
// a non-zero exit or a report that does not decode fails the test.
func runImport(t *testing.T, args ...string) importReport {
	t.Helper()
	return runJSON[importReport](t, append(append([]string{"import"}, args...), "--json")...)
}

// TestImportCommand imports a fixture network through the command line
// (building the index, then with --index), reopens the bundle and checks
// it against nann score's matrix on the same inputs.
func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	items, _ := itemTable(t, dir, "cross")
	ids := make([]int64, 200)
	for i := range ids {
		ids[i] = int64(5000 - i)
	}
	idsPath := filepath.Join(dir, "ids.npy")
	if err := npy.Write(idsPath, ids); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "base")
	rep := runImport(t, "--tables", "float32", "--onnx", onnxtest.Path("cross.onnx"), "--item-embs", items, "--item-ids", idsPath,
		"--base", base, "--name", "cross", "--m", "8")
	if rep.Dir != filepath.Join(base, "cross", "1") || rep.Manifest.Contract.ItemInput != "item_emb" || rep.Manifest.NumItems != 200 {
		t.Fatalf("report %+v", rep)
	}
	b, err := bundle.OpenONNX(t.Context(), rep.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if b.ItemIDs[199] != 4801 {
		t.Fatalf("ids %v", b.ItemIDs[195:])
	}
	// The imported table scores as nann score does on the original files.
	out := filepath.Join(dir, "scores.npy")
	if _, e, c := runMain(t, "score", "--onnx", filepath.Join(rep.Dir, bundle.ONNXModelFile), "--item-embs", filepath.Join(rep.Dir, bundle.ONNXItemEmbsFile),
		"--users", onnxtest.Path("cross.npz"), "--out", out); c != 0 {
		t.Fatal(e)
	}
	got, _, err := npy.Read[float32](out)
	if err != nil {
		t.Fatal(err)
	}
	ref := filepath.Join(dir, "ref.npy")
	if _, e, c := runMain(t, "score", "--onnx", onnxtest.Path("cross.onnx"), "--item-embs", items, "--users", onnxtest.Path("cross.npz"), "--out", ref); c != 0 {
		t.Fatal(e)
	}
	want, _, err := npy.Read[float32](ref)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("score %d: imported bundle %g, original files %g", i, got[i], want[i])
		}
	}
	// Again with the first bundle's index and the default --tables auto:
	// version 2; text report with the measured table choice.
	stdout, stderr, code := runMain(t, "import", "--onnx", onnxtest.Path("cross.onnx"), "--item-embs", items, "--item-ids", idsPath,
		"--base", base, "--name", "cross", "--index", filepath.Join(rep.Dir, "index"))
	if code != 0 || !strings.Contains(stdout, filepath.Join(base, "cross", "2")) || !strings.Contains(stdout, "user input user_feat: float32 [1 12]") ||
		!strings.Contains(stdout, "item tables measured at import: float32 ") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	// A contract name the model lacks: a usage of the model, named.
	_, stderr, code = runMain(t, "import", "--tables", "float32", "--onnx", onnxtest.Path("cross.onnx"), "--item-embs", items, "--item-ids", idsPath,
		"--base", base, "--item-input", "item_vec")
	if code != exitFail || !strings.Contains(stderr, `item input "item_vec" is not a graph input`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
