package plan

import (
	"os"
	"path/filepath"
	"testing"

	"nann/item"
	"nann/onnx"
)

// FuzzCompile feeds mutated models through the reader and, when they
// parse, through the compiler (default contract, a small item table, one
// Bind and Score): errors are fine, panics are not.
func FuzzCompile(f *testing.F) {
	for _, name := range fixtureNames {
		if b, err := os.ReadFile(filepath.Join("..", "onnx", "testdata", name+".onnx")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := onnx.Parse(data, onnx.ReadOptions{MaxBytes: 1 << 20})
		if err != nil || len(m.Graph.Nodes) > 200 {
			return
		}
		g := m.Graph
		if len(g.Inputs) < 2 {
			return
		}
		itemIn := g.Inputs[len(g.Inputs)-1]
		if itemIn.Shape == nil || len(itemIn.Shape) == 0 || !itemIn.DType.Supported() {
			return
		}
		total := 1
		shape := itemIn.Shape.At(3)
		for _, d := range shape {
			total *= d
		}
		if total > 1<<12 {
			return
		}
		p, err := Compile(g, Contract{ItemInput: itemIn.Name}, onnx.NewTensor(itemIn.DType, shape...), Options{Block: 6, ItemChunk: 2, Threads: 1})
		if err != nil {
			return
		}
		s := p.NewScorer()
		in := map[string]*onnx.Tensor{}
		for _, v := range p.UserInputs() {
			in[v.Name] = onnx.NewTensor(v.DType, v.Shape.At(1)...)
		}
		if err := s.Bind(in); err != nil {
			return
		}
		_ = s.Score([]item.Row{0, 1, 2}, make([]float32, 3))
	})
}
