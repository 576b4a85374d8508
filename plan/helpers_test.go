package plan

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"nann/onnx"
)

// Test helpers shared by the plan tests.

// builtGraph returns the graph b built as nann reads it from a model file:
// serialized, then parsed (shape inference and all).
func builtGraph(t *testing.T, b *onnx.Builder) *onnx.Graph {
	t.Helper()
	mp, err := b.Model("")
	if err != nil {
		t.Fatal(err)
	}
	data, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Parse(data, onnx.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m.Graph
}
