package cli

import (
	"archive/zip"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nann/internal/npy"
	"nann/internal/numtest"
	"nann/internal/onnxtest"
	"nann/onnx"
)

var scoreFixtures = []string{"reference", "din13", "din17", "cross", "ids"}

// itemTable writes the fixture's item.<input> array as an .npy and returns
// its path and the input name.
func itemTable(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	for k, v := range onnxtest.Read(t, name) {
		if in, ok := strings.CutPrefix(k, "item."); ok {
			p := filepath.Join(dir, name+"-items.npy")
			onnxtest.WriteNPY(t, p, v)
			return p, in
		}
	}
	t.Fatalf("%s.npz has no item.* array", name)
	return "", ""
}

// TestScoreMatchesTorch runs nann score on every committed fixture network
// (the fixture .npz as --users: its user.<input> arrays) and compares the
// written matrix with torch's scores stored beside it.
func TestScoreMatchesTorch(t *testing.T) {
	dir := t.TempDir()
	for _, name := range scoreFixtures {
		items, itemIn := itemTable(t, dir, name)
		out := filepath.Join(dir, name+"-scores.npy")
		rep := runJSON[scoreReport](t, "score", "--onnx", onnxtest.Path(name+".onnx"), "--item-embs", items,
			"--item-input", itemIn, "--users", onnxtest.Path(name+".npz"), "--out", out, "--json")
		got, shape, err := npy.Read[float32](out)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := onnx.ReadNPZ(onnxtest.Path(name + ".npz"))
		if err != nil {
			t.Fatal(err)
		}
		want := ref["scores"]
		if len(shape) != 2 || shape[0] != want.Shape[0] || shape[1] != want.Shape[1] || rep.Users != shape[0] || rep.Items != shape[1] || rep.ItemInput != itemIn {
			t.Fatalf("%s: scores shape %v, report %+v; torch's are %v", name, shape, rep, want.Shape)
		}
		n := shape[1]
		worst := 0.0
		for u := 0; u < shape[0]; u++ {
			worst = math.Max(worst, numtest.RelErr(got[u*n:(u+1)*n], want.Data[u*n:(u+1)*n]))
		}
		t.Logf("%s: nann score vs torch float32: max rel err %.2e over %d users × %d items", name, worst, shape[0], n)
		if worst > 1e-4 {
			t.Errorf("%s: nann score vs torch: max rel err %.3g > 1e-4", name, worst)
		}
	}
}

// TestScoreItemsAndFloat16: --items picks and orders the columns; --float16
// stays close to the float32 scores.
func TestScoreItemsAndFloat16(t *testing.T) {
	dir := t.TempDir()
	items, _ := itemTable(t, dir, "din17")
	full := filepath.Join(dir, "full.npy")
	if _, e, c := runMain(t, "score", "--onnx", onnxtest.Path("din17.onnx"), "--item-embs", items, "--users", onnxtest.Path("din17.npz"), "--out", full); c != 0 {
		t.Fatal(e)
	}
	rows := []int64{199, 0, 57, 57, 3}
	rowsPath := filepath.Join(dir, "rows.npy")
	if err := npy.Write(rowsPath, rows); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(dir, "part.npy")
	if _, e, c := runMain(t, "score", "--onnx", onnxtest.Path("din17.onnx"), "--item-embs", items, "--users", onnxtest.Path("din17.npz"),
		"--items", rowsPath, "--out", part, "--float16"); c != 0 {
		t.Fatal(e)
	}
	a, sa, err := npy.Read[float32](full)
	if err != nil {
		t.Fatal(err)
	}
	b, sb, err := npy.Read[float32](part)
	if err != nil {
		t.Fatal(err)
	}
	if sb[0] != sa[0] || sb[1] != len(rows) {
		t.Fatalf("--items: shape %v, want [%d %d]", sb, sa[0], len(rows))
	}
	for u := 0; u < sa[0]; u++ {
		ref := make([]float64, len(rows))
		for j, r := range rows {
			ref[j] = float64(a[u*sa[1]+int(r)])
		}
		if e := numtest.RelErr(b[u*len(rows):(u+1)*len(rows)], ref); e > 1e-2 {
			t.Errorf("user %d: --items --float16 vs float32 columns: rel err %.3g", u, e)
		}
	}
}

// TestScoreErrors: bad inputs give an error naming the input, array or
// file, and --out is neither written nor a user's file replaced.
func TestScoreErrors(t *testing.T) {
	dir := t.TempDir()
	items, _ := itemTable(t, dir, "cross")
	onnxPath, users := onnxtest.Path("cross.onnx"), onnxtest.Path("cross.npz")
	// A table 15 wide for a model that wants 16.
	x, shape, err := npy.Read[float32](items)
	if err != nil {
		t.Fatal(err)
	}
	narrow := make([]float32, 0, shape[0]*15)
	for i := 0; i < shape[0]; i++ {
		narrow = append(narrow, x[i*16:i*16+15]...)
	}
	narrowPath := filepath.Join(dir, "narrow.npy")
	npy.Write(narrowPath, narrow, shape[0], 15)
	// A truncated model.
	model, err := os.ReadFile(onnxPath)
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(dir, "trunc.onnx")
	os.WriteFile(trunc, model[:len(model)/2], 0o644)
	// A users file lacking the model's input, and a user's non-.npy file at --out.
	otherUsers := onnxtest.Path("reference.npz")
	notNPY := filepath.Join(dir, "notes.txt")
	os.WriteFile(notNPY, []byte("mine"), 0o644)
	badRows := filepath.Join(dir, "rows.npy")
	npy.Write(badRows, []int64{0, 200})

	out := filepath.Join(dir, "out.npy")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"missing user input name", []string{"--user-inputs", "no_such_input"}, []string{`"no_such_input"`, "not a graph input"}},
		{"missing item input name", []string{"--item-input", "item_x"}, []string{`"item_x"`, "not a graph input"}},
		{"wrong table width", []string{"--item-embs", narrowPath}, []string{narrowPath, `"item_emb"`, "[200 15]"}},
		{"truncated onnx", []string{"--onnx", trunc}, []string{trunc, "truncated or corrupt"}},
		{"users lack the input", []string{"--users", otherUsers}, []string{otherUsers, `user input "user_feat"`}},
		{"item row out of range", []string{"--items", badRows}, []string{badRows, "row 200"}},
		{"out is the user's file", []string{"--out", notNPY}, []string{notNPY, "refusing"}},
	} {
		args := map[string]string{"--onnx": onnxPath, "--item-embs": items, "--users": users, "--out": out}
		var extra []string
		for i := 0; i < len(tc.args); i += 2 {
			if _, ok := args[tc.args[i]]; ok {
				args[tc.args[i]] = tc.args[i+1]
			} else {
				extra = append(extra, tc.args[i], tc.args[i+1])
			}
		}
		cmd := []string{"score"}
		for k, v := range args {
			cmd = append(cmd, k, v)
		}
		_, stderr, code := runMain(t, append(cmd, extra...)...)
		if code != exitFail {
			t.Errorf("%s: exit %d, want %d: %s", tc.name, code, exitFail, stderr)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: error %q does not name %q", tc.name, strings.TrimSpace(stderr), w)
			}
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%s: --out written despite the error", tc.name)
		}
	}
	if b, _ := os.ReadFile(notNPY); string(b) != "mine" {
		t.Fatalf("the user's file at --out was changed: %q", b)
	}
}

// TestScoreFailureKeepsOut: a NaN in one user's features fails the command
// naming the array, user and value (plan's fast sigmoid would otherwise
// turn it into a tiny finite score); the .npy already at --out is kept as
// it was and no temporary is left.
func TestScoreFailureKeepsOut(t *testing.T) {
	dir := t.TempDir()
	items, _ := itemTable(t, dir, "cross")
	arrs, err := onnx.ReadNPZ(onnxtest.Path("cross.npz"))
	if err != nil {
		t.Fatal(err)
	}
	feat := arrs["user.user_feat"].Float32s()
	feat[2*12+5] = float32(math.NaN()) // user 2
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("user_feat.npy")
	if err := npy.Encode(w, feat, 4, 12); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	users := filepath.Join(dir, "users.npz")
	os.WriteFile(users, buf.Bytes(), 0o644)
	outDir := filepath.Join(dir, "out")
	os.Mkdir(outDir, 0o755)
	out := filepath.Join(outDir, "scores.npy")
	npy.Write(out, []float32{42}, 1, 1)
	before, _ := os.ReadFile(out)
	_, stderr, code := runMain(t, "score", "--onnx", onnxtest.Path("cross.onnx"), "--item-embs", items, "--users", users, "--out", out)
	if code != exitFail || !strings.Contains(stderr, `array "user_feat": row 2, value 5 of 12 is NaN`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Fatal("--out changed by a failed run")
	}
	if ents, _ := os.ReadDir(outDir); len(ents) != 1 {
		t.Fatalf("left behind: %v", ents)
	}
}
