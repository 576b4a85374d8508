package bench

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"nann/onnx"
)

// TestUsersNPZScript: scripts/users_npz.py writes a dataset's first test
// users as hist_items/hist_cates int64 [n, SeqLen], each row what
// Dataset.Fill gives nann's scorer; asked for more users than there are,
// it writes them all; a truncated sequences.bin is refused, naming the file.
func TestUsersNPZScript(t *testing.T) {
	const python3 = "/usr/bin/python3"
	if out, err := exec.Command(python3, "-c", "import numpy").CombinedOutput(); err != nil {
		t.Skipf("%s with NumPy is needed (apt-get install python3-numpy): %v %s", python3, err, bytes.TrimSpace(out))
	}
	ds := prepared(t)
	out := filepath.Join(t.TempDir(), "users.npz")
	n := len(ds.Test) + 5
	if b, err := exec.Command(python3, "../scripts/users_npz.py", ds.Dir, out, strconv.Itoa(n), strconv.Itoa(ds.Meta.SeqLen)).CombinedOutput(); err != nil {
		t.Fatalf("users_npz.py: %v\n%s", err, b)
	}
	arrs, err := onnx.ReadNPZ(out)
	if err != nil {
		t.Fatal(err)
	}
	L := ds.Meta.SeqLen
	items, cates := make([]int32, L), make([]int32, L)
	for _, name := range []string{"hist_items", "hist_cates"} {
		a := arrs[name]
		if a == nil || a.DType != onnx.Int64 || !slices.Equal(a.Shape, []int{len(ds.Test), L}) {
			t.Fatalf("%s: %v, want int64 [%d, %d]", name, a, len(ds.Test), L)
		}
	}
	gi, gc := arrs["hist_items"].Ints(), arrs["hist_cates"].Ints()
	for u, s := range ds.Test {
		ds.Fill(s, items, cates)
		for j := range L {
			if gi[u*L+j] != int64(items[j]) || gc[u*L+j] != int64(cates[j]) {
				t.Fatalf("user %d position %d: script (%d, %d), Fill (%d, %d)", u, j, gi[u*L+j], gc[u*L+j], items[j], cates[j])
			}
		}
	}

	bad := t.TempDir()
	for _, f := range []string{"sequences.bin", "test.samples"} {
		b, err := os.ReadFile(filepath.Join(ds.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "sequences.bin" {
			b = b[:len(b)-4]
		}
		if err := os.WriteFile(filepath.Join(bad, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := exec.Command(python3, "../scripts/users_npz.py", bad, filepath.Join(bad, "u.npz")).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "sequences.bin: payload is") || !strings.Contains(string(b), "truncated") {
		t.Fatalf("truncated sequences.bin: %v %s, want a refusal naming the file", err, b)
	}
}
