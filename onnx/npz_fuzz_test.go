package onnx

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"nann/internal/npy"
)

// FuzzReadNPZ: any bytes in a .npz file (nann score --users) give arrays or
// an error, never a panic; what it returns has data matching its shape.
func FuzzReadNPZ(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("user.x.npy")
	npy.Encode(w, []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	w, _ = zw.CreateHeader(&zip.FileHeader{Name: "ids.npy", Method: zip.Deflate})
	npy.Encode(w, []int64{7, 8}, 2)
	zw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "u.npz")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		arrs, err := ReadNPZ(p)
		if err != nil {
			return
		}
		for name, x := range arrs {
			n := 1
			for _, d := range x.Shape {
				n *= d
			}
			if n != len(x.Data) {
				t.Fatalf("array %q: shape %v but %d values", name, x.Shape, len(x.Data))
			}
		}
	})
}
