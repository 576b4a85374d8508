package onnx

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the model reader and, when they parse,
// to op checking and shape inference: errors are fine, panics, hangs and
// huge allocations are not. Seeds: the fixture models, a tiny model and
// truncations of it; interesting inputs found are kept in
// testdata/fuzz/FuzzParse and run as regression cases.
func FuzzParse(f *testing.F) {
	for _, name := range fixtureNames {
		if b, err := os.ReadFile(filepath.Join("testdata", name+".onnx")); err == nil {
			f.Add(b)
		}
	}
	m := tinyModel(13)
	b, err := protoMarshal(m)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)/2])
	// Small limits keep each run cheap; the limits themselves are what
	// stops a hostile model from allocating or computing without bound.
	defer func(a, b int64) { maxTensorElems, maxInferElems = a, b }(maxTensorElems, maxInferElems)
	maxTensorElems, maxInferElems = 1<<12, 1<<10
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, ReadOptions{MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		if err := m.Graph.CheckOps(); err != nil {
			return
		}
		// Shape inference runs the interpreter three times: on small
		// models only, to keep the fuzzer fast (the limits above bound
		// what a large one could allocate).
		if len(data) <= 4096 {
			_ = m.Graph.InferShapes()
		}
	})
}
