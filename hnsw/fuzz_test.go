package hnsw

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"slices"
	"testing"

	"nann/internal/npy"
)

// Fuzz targets for the two index readers. Seeds are valid files; inputs the
// fuzzer found interesting are kept in testdata/fuzz/<target>/. Run e.g.
//
//	go test ./hnsw -run '^$' -fuzz FuzzDecode -fuzztime 60s

func FuzzDecode(f *testing.F) {
	_, g := smallGraph(f)
	var buf bytes.Buffer
	if err := g.Encode(&buf); err != nil {
		f.Fatal(err)
	}
	// Inputs are file bodies: the target appends the right checksum so the
	// fuzzer explores the parser rather than the CRC; it also tries the
	// input as a whole file.
	f.Add(buf.Bytes()[:buf.Len()-4])
	buf.Reset()
	(&Graph{entry: -1}).Encode(&buf)
	f.Add(buf.Bytes()[:buf.Len()-4])
	f.Fuzz(func(t *testing.T, body []byte) {
		Decode(body)
		b := binary.LittleEndian.AppendUint32(slices.Clone(body), crc32.Checksum(body, castagnoli))
		g, err := Decode(b)
		if err != nil {
			return
		}
		// Anything accepted must be searchable without a panic.
		if g.Dim() > 0 && g.Dim() <= 64 && g.Len() <= 4096 {
			x := make([]float32, g.Len()*g.Dim())
			for i := range x {
				x[i] = float32(i % 7)
			}
			ix, err := NewIndex(g, x, g.Dim())
			if err != nil {
				t.Fatal(err)
			}
			ix.NewKNNSearcher().Search(x[:g.Dim()], 3, 8)
		}
		g.Analyze()
	})
}

func npyBytes[T npy.Elem](v []T) []byte {
	var b bytes.Buffer
	npy.Encode(&b, v)
	return b.Bytes()
}

func FuzzDecodeNPY(f *testing.F) {
	f.Add(npyBytes([]int64{0}), npyBytes([]int64{1, 0, 2, 1}), npyBytes([]int64{0, 1, 3, 4}),
		npyBytes([]int64{1, 0}), npyBytes([]int64{0, 1, 2, 2}))
	f.Add(npyBytes([]int64{}), npyBytes([]int32{1, 0}), npyBytes([]int32{0, 1, 2}),
		npyBytes([]int64{}), npyBytes([]int64{0, 0, 0}))
	f.Fuzz(func(t *testing.T, enter, v0, s0, v1, s1 []byte) {
		files := map[string][]byte{EnterPointsFile: enter, ValuesFile(0): v0, SplitsFile(0): s0, ValuesFile(1): v1, SplitsFile(1): s1}
		open := func(name string) ([]byte, error) {
			if b, ok := files[name]; ok {
				return b, nil
			}
			return nil, errors.Join(fs.ErrNotExist)
		}
		g, err := DecodeNPY(open, "fuzz", -1, StartLevel)
		if err != nil {
			return
		}
		if g.Len() <= 4096 {
			x := make([]float32, g.Len()*2)
			ix, err := NewIndex(g, x, 2)
			if err != nil {
				t.Fatal(err)
			}
			ix.NewKNNSearcher().Search([]float32{1, 2}, 3, 8)
			g.Analyze()
			var buf bytes.Buffer
			if err := g.Encode(&buf); err != nil {
				t.Fatal(err)
			}
			if _, err := Decode(buf.Bytes()); err != nil {
				t.Fatalf("re-encoded import does not decode: %v", err)
			}
		}
	})
}
