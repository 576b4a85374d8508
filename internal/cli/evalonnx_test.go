package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"nann/internal/npy"
	"nann/internal/onnxtest"
)

// importForTest imports a fixture network through nann import and returns
// the model base path, the version directory and the item table.
func importForTest(t *testing.T, fixture string) (string, string, string) {
	t.Helper()
	dir := t.TempDir()
	items, _ := itemTable(t, dir, fixture)
	ids := make([]int64, 200)
	for i := range ids {
		ids[i] = int64(1000 + 7*i)
	}
	idsPath := filepath.Join(dir, "ids.npy")
	if err := npy.Write(idsPath, ids); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "base")
	if _, e, c := runMain(t, "import", "--tables", "float32", "--onnx", onnxtest.Path(fixture+".onnx"), "--item-embs", items, "--item-ids", idsPath, "--base", base, "--m", "8"); c != 0 {
		t.Fatalf("import: %s", e)
	}
	return filepath.Join(base, "nann"), filepath.Join(base, "nann", "1"), items
}

func evalONNX(t *testing.T, args ...string) onnxEvalReport {
	t.Helper()
	return runJSON[onnxEvalReport](t, append([]string{"eval", "--json"}, args...)...)
}

// TestEvalImported: nann eval on an imported bundle and on the import's
// inputs: a beam that reaches every item finds brute force's whole top K;
// a narrow one scores fewer items; both ways give the same numbers; flags
// that do not go together are refused, naming them.
func TestEvalImported(t *testing.T) {
	base, vdir, items := importForTest(t, "din17")
	users := onnxtest.Path("din17.npz")
	wide := evalONNX(t, "--bundle", base, "--queries", users, "--k", "10,50", "--beam", "serving:200,200,200,200,200,200")
	if wide.Users != 4 || wide.Items != 200 || len(wide.Overlap) != 2 || wide.Scored.Mean != 200 {
		t.Fatalf("wide beam report %+v", wide)
	}
	for _, o := range wide.Overlap {
		if o.Overlap != 1 || o.Min != 1 {
			t.Fatalf("wide beam: overlap %+v, want 1 (every item scored)", o)
		}
	}
	narrow := []string{"--queries", users, "--k", "10,50", "--beam", "serving:3,20,10,10,10,50"}
	nb := evalONNX(t, append([]string{"--bundle", base}, narrow...)...)
	if nb.Scored.Mean >= 200 || nb.Scored.Mean < 50 || len(nb.Rounds) != 5 || nb.ScoredFraction >= 1 {
		t.Fatalf("narrow beam report %+v", nb)
	}
	for _, o := range nb.Overlap {
		if o.Overlap <= 0 || o.Overlap > 1 || o.Min > o.Overlap {
			t.Fatalf("narrow beam: overlap %+v", o)
		}
	}
	no := evalONNX(t, append([]string{"--onnx", filepath.Join(vdir, "model.onnx"), "--item-embs", items, "--index", filepath.Join(vdir, "index")}, narrow...)...)
	if no.Scored != nb.Scored || len(no.Overlap) != len(nb.Overlap) || no.Overlap[0] != nb.Overlap[0] || no.Overlap[1] != nb.Overlap[1] {
		t.Fatalf("--onnx on the import's inputs %+v, --bundle %+v", no, nb)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bundle", base}, "--queries"},
		{[]string{"--bundle", base, "--queries", users, "--run", t.TempDir()}, "--run"},
		{[]string{"--onnx", filepath.Join(vdir, "model.onnx"), "--queries", users}, "--item-embs"},
		{[]string{"--bundle", base, "--queries", users, "--k", "300", "--beam", "serving:200,200,200,200,200,200"}, "--k 300"},
		{[]string{"--queries", users}, "--run and --index"},
	} {
		_, e, c := runMain(t, append([]string{"eval"}, tc.args...)...)
		if c == 0 || !strings.Contains(e, tc.want) {
			t.Errorf("eval %v: exit %d, stderr %q; want an error naming %s", tc.args, c, e, tc.want)
		}
	}
}
