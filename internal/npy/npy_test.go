package npy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	f := []float32{1, -2.5, 3, 4, 5, 6}
	p := filepath.Join(dir, "f.npy")
	if err := Write(p, f, 2, 3); err != nil {
		t.Fatal(err)
	}
	got, shape, err := Read[float32](p)
	if err != nil {
		t.Fatal(err)
	}
	if len(shape) != 2 || shape[0] != 2 || shape[1] != 3 || got[1] != -2.5 || len(got) != 6 {
		t.Fatalf("got %v %v", got, shape)
	}
	ids := []int64{0, 1, 1 << 40}
	p2 := filepath.Join(dir, "i.npy")
	if err := Write(p2, ids); err != nil {
		t.Fatal(err)
	}
	gi, shape, err := ReadInts(p2)
	if err != nil || len(shape) != 1 || gi[2] != 1<<40 {
		t.Fatalf("got %v %v %v", gi, shape, err)
	}
	if _, _, err := Read[float32](p2); err == nil || !strings.Contains(err.Error(), "dtype") {
		t.Fatalf("dtype mismatch not reported: %v", err)
	}
}

// TestKnownBytes checks our header against the bytes NumPy writes for
// np.save(f, np.arange(3, dtype=np.int64)).
func TestKnownBytes(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, []int64{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	want := "\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }" + strings.Repeat(" ", 60) + "\n"
	if got := buf.String()[:len(want)]; got != want {
		t.Fatalf("header\n got %q\nwant %q", got, want)
	}
	if buf.Len() != 128+24 {
		t.Fatalf("len %d", buf.Len())
	}
}

func TestNumPyReadsOurs(t *testing.T) {
	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Skip("/usr/bin/python3 not found")
	}
	if exec.Command(py, "-c", "import numpy").Run() != nil {
		t.Skip("numpy not installed (Debian python3-numpy)")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "x.npy")
	if err := Write(p, []float32{1, 2, 3, 4}, 2, 2); err != nil {
		t.Fatal(err)
	}
	h := filepath.Join(dir, "h.npy")
	if err := WriteFloat16(h, []uint16{0x3c00, 0xc000}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `import numpy as np,sys
a=np.load(sys.argv[1]); b=np.load(sys.argv[2])
print(a.dtype, a.shape, a.sum(), b.dtype, b.tolist())
np.save(sys.argv[3], np.arange(6, dtype=np.int32).reshape(3,2))`, p, h, filepath.Join(dir, "n.npy")).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "float32 (2, 2) 10.0 float16 [1.0, -2.0]" {
		t.Fatalf("numpy says %q", got)
	}
	v, shape, err := ReadInts(filepath.Join(dir, "n.npy"))
	if err != nil || len(v) != 6 || shape[0] != 3 || v[5] != 5 {
		t.Fatalf("reading numpy's file: %v %v %v", v, shape, err)
	}
}

func TestBadFiles(t *testing.T) {
	var good bytes.Buffer
	Encode(&good, []float32{1, 2, 3})
	g := good.Bytes()
	cases := map[string][]byte{
		"empty":     nil,
		"magic":     []byte("NOTNUMPY...."),
		"truncated": g[:len(g)-1],
		"extra":     append(append([]byte{}, g...), 0),
		"hlen":      append(append([]byte{}, g[:8]...), 0xff, 0xff),
	}
	for name, b := range cases {
		if _, _, err := Decode[float32](b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	Encode(&buf, []float32{1, 2, 3, 4}, 2, 2)
	f.Add(buf.Bytes())
	buf.Reset()
	Encode(&buf, []int64{7})
	f.Add(buf.Bytes())
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'shape': (99999999999,99999999999), }"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, shape, err := Decode[float32](b)
		if err == nil {
			n := 1
			for _, s := range shape {
				n *= s
			}
			if n != len(v) {
				t.Fatalf("shape %v but %d elements", shape, len(v))
			}
		}
		Decode[int64](b)
	})
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
