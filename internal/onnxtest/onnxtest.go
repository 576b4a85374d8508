// Package onnxtest gives tests the committed ONNX fixtures of onnx/testdata
// (a network NAME.onnx and its arrays NAME.npz): their paths, their item
// tables written as import inputs, and their user arrays as request
// tensors. It is imported only by tests, and imports neither bundle nor
// server, so that their own tests can use it.
package onnxtest

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"nann/internal/npy"
	"nann/onnx"
	"nann/serving"
)

// Path is the absolute path of a file in onnx/testdata ("din17.onnx").
func Path(file string) string {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		panic("onnxtest: no caller information to locate onnx/testdata")
	}
	return filepath.Join(filepath.Dir(self), "..", "..", "onnx", "testdata", file)
}

// Read reads fixture name's arrays (name.npz): "user.<input>" for each user
// input, "item.<input>" for the item input's table, and torch's outputs.
func Read(t testing.TB, name string) map[string]*onnx.Tensor {
	t.Helper()
	arrs, err := onnx.ReadNPZ(Path(name + ".npz"))
	if err != nil {
		t.Fatal(err)
	}
	return arrs
}

// Items are a fixture's item table written as import inputs.
type Items struct {
	Input string // the item input's name
	Embs  string // its table, dir/items.npy
	IDs   string // raw ids 1000, 1007, 1014, … of the rows, dir/ids.npy
}

// WriteItems writes the fixture's item array ("item.<input>", in its own
// element type) and raw ids for its rows into dir; ok is false, and nothing
// is written, if the fixture has no item array.
func WriteItems(t testing.TB, dir string, arrs map[string]*onnx.Tensor) (it Items, ok bool) {
	t.Helper()
	for k, v := range arrs {
		in, isItem := strings.CutPrefix(k, "item.")
		if !isItem {
			continue
		}
		it = Items{Input: in, Embs: filepath.Join(dir, "items.npy"), IDs: filepath.Join(dir, "ids.npy")}
		WriteNPY(t, it.Embs, v)
		ids := make([]int64, v.Shape[0])
		for i := range ids {
			ids[i] = int64(1000 + 7*i)
		}
		if err := npy.Write(it.IDs, ids); err != nil {
			t.Fatal(err)
		}
		ok = true
	}
	return it, ok
}

// WriteNPY writes a fixture array (float32 or int64, as the fixtures hold)
// as an .npy file.
func WriteNPY(t testing.TB, path string, x *onnx.Tensor) {
	t.Helper()
	var err error
	switch x.DType {
	case onnx.Float32:
		err = npy.Write(path, x.Float32s(), x.Shape...)
	case onnx.Int64:
		err = npy.Write(path, x.Ints(), x.Shape...)
	default:
		t.Fatalf("fixture dtype %s", x.DType)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// RequestTensor is a fixture array as a decoded request tensor: its float32
// values if float, else its int64 values.
func RequestTensor(x *onnx.Tensor, float bool) *serving.Tensor {
	st := &serving.Tensor{}
	for _, d := range x.Shape {
		st.Shape = append(st.Shape, int64(d))
	}
	if float {
		st.Floats = x.Float32s()
	} else {
		st.Ints = x.Ints()
	}
	return st
}
