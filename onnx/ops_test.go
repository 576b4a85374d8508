package onnx

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func tf(shape []int, data ...float64) *Tensor {
	return &Tensor{DType: Float32, Shape: shape, Data: data}
}

func ti(data ...int64) *Tensor {
	t := &Tensor{DType: Int64, Shape: []int{len(data)}, Data: make([]float64, len(data))}
	for i, v := range data {
		t.Data[i] = float64(v)
	}
	return t
}

func mk(op string, opset int, attrs map[string]*Attr, outs int) *Node {
	n := &Node{Name: "t", Op: op, Opset: opset, Attrs: map[string]*Attr{}}
	for k, a := range attrs {
		a.Name = k
		n.Attrs[k] = a
	}
	for i := 0; i < outs; i++ {
		n.Outputs = append(n.Outputs, &Value{Name: "o"})
	}
	return n
}

func ai(v int64) *Attr     { return &Attr{Kind: AttrInt, I: v} }
func af(v float64) *Attr   { return &Attr{Kind: AttrFloat, F: v} }
func ais(v ...int64) *Attr { return &Attr{Kind: AttrInts, Ints: v} }
func at(t *Tensor) *Attr   { return &Attr{Kind: AttrTensor, T: t} }
func attrs(kv ...any) map[string]*Attr {
	m := map[string]*Attr{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(*Attr)
	}
	return m
}

func TestOps(t *testing.T) {
	nan := math.NaN()
	_ = nan
	cases := []struct {
		name  string
		node  *Node
		in    []*Tensor
		shape []int
		want  []float64
	}{
		{"Add broadcast", mk("Add", 13, nil, 1), []*Tensor{tf([]int{2, 1}, 1, 2), tf([]int{3}, 10, 20, 30)}, []int{2, 3}, []float64{11, 21, 31, 12, 22, 32}},
		{"Sub scalar", mk("Sub", 13, nil, 1), []*Tensor{tf([]int{}, 5), tf([]int{2}, 1, 2)}, []int{2}, []float64{4, 3}},
		{"Div int truncates", mk("Div", 13, nil, 1), []*Tensor{ti(7, -7), ti(2, 2)}, []int{2}, []float64{3, -3}},
		{"Pow", mk("Pow", 13, nil, 1), []*Tensor{tf([]int{2}, 2, 3), tf([]int{}, 2)}, []int{2}, []float64{4, 9}},
		{"Max variadic", mk("Max", 13, nil, 1), []*Tensor{tf([]int{2}, 1, 5), tf([]int{}, 3), tf([]int{2}, 0, 9)}, []int{2}, []float64{3, 9}},
		{"Min", mk("Min", 13, nil, 1), []*Tensor{tf([]int{2}, 1, 5), tf([]int{}, 3)}, []int{2}, []float64{1, 3}},
		{"Greater", mk("Greater", 13, nil, 1), []*Tensor{tf([]int{3}, 1, 2, 3), tf([]int{}, 2)}, []int{3}, []float64{0, 0, 1}},
		{"Where", mk("Where", 13, nil, 1), []*Tensor{{DType: Bool, Shape: []int{2}, Data: []float64{1, 0}}, tf([]int{2}, 1, 2), tf([]int{}, -1)}, []int{2}, []float64{1, -1}},
		{"Not", mk("Not", 13, nil, 1), []*Tensor{{DType: Bool, Shape: []int{2}, Data: []float64{1, 0}}}, []int{2}, []float64{0, 1}},
		{"LeakyRelu", mk("LeakyRelu", 13, attrs("alpha", af(0.5)), 1), []*Tensor{tf([]int{2}, -2, 3)}, []int{2}, []float64{-1, 3}},
		{"PRelu channel", mk("PRelu", 13, nil, 1), []*Tensor{tf([]int{2, 2}, -1, -1, 2, -4), tf([]int{2}, 0.5, 0.25)}, []int{2, 2}, []float64{-0.5, -0.25, 2, -1}},
		{"Clip", mk("Clip", 13, nil, 1), []*Tensor{tf([]int{3}, -5, 0.5, 5), tf([]int{}, 0), tf([]int{}, 1)}, []int{3}, []float64{0, 0.5, 1}},
		{"Clip min only", mk("Clip", 13, nil, 1), []*Tensor{tf([]int{2}, -5, 5), tf([]int{}, 1), nil}, []int{2}, []float64{1, 5}},
		{"Cast to int64", mk("Cast", 13, attrs("to", ai(int64(Int64))), 1), []*Tensor{tf([]int{2}, 1.7, -1.7)}, []int{2}, []float64{1, -1}},
		{"Sigmoid", mk("Sigmoid", 13, nil, 1), []*Tensor{tf([]int{1}, 0)}, []int{1}, []float64{0.5}},
		{"Gemm transB bias", mk("Gemm", 13, attrs("transB", ai(1), "alpha", af(2), "beta", af(0.5)), 1),
			[]*Tensor{tf([]int{1, 2}, 1, 2), tf([]int{2, 2}, 1, 0, 0, 1), tf([]int{2}, 2, 4)}, []int{1, 2}, []float64{3, 6}},
		{"MatMul batch broadcast", mk("MatMul", 13, nil, 1), []*Tensor{tf([]int{2, 1, 2}, 1, 2, 3, 4), tf([]int{2, 1}, 1, 1)}, []int{2, 1, 1}, []float64{3, 7}},
		{"MatMul vector", mk("MatMul", 13, nil, 1), []*Tensor{tf([]int{2}, 1, 2), tf([]int{2, 2}, 1, 2, 3, 4)}, []int{2}, []float64{7, 10}},
		{"Softmax axis 0", mk("Softmax", 13, attrs("axis", ai(0)), 1), []*Tensor{tf([]int{2, 1}, 0, 0)}, []int{2, 1}, []float64{0.5, 0.5}},
		{"LogSoftmax", mk("LogSoftmax", 13, nil, 1), []*Tensor{tf([]int{2}, 0, 0)}, []int{2}, []float64{-math.Ln2, -math.Ln2}},
		{"ReduceSum axes input", mk("ReduceSum", 13, attrs("keepdims", ai(0)), 1), []*Tensor{tf([]int{2, 2}, 1, 2, 3, 4), ti(-1)}, []int{2}, []float64{3, 7}},
		{"ReduceSum all", mk("ReduceSum", 13, nil, 1), []*Tensor{tf([]int{2, 2}, 1, 2, 3, 4)}, []int{1, 1}, []float64{10}},
		{"ReduceSum noop", mk("ReduceSum", 13, attrs("noop_with_empty_axes", ai(1)), 1), []*Tensor{tf([]int{2}, 1, 2)}, []int{2}, []float64{1, 2}},
		{"ReduceMean attr (13)", mk("ReduceMean", 13, attrs("axes", ais(0)), 1), []*Tensor{tf([]int{2, 2}, 1, 2, 3, 4)}, []int{1, 2}, []float64{2, 3}},
		{"ReduceMean input (18)", mk("ReduceMean", 18, nil, 1), []*Tensor{tf([]int{2, 2}, 1, 2, 3, 4), ti(0)}, []int{1, 2}, []float64{2, 3}},
		{"ReduceMax", mk("ReduceMax", 13, attrs("axes", ais(1), "keepdims", ai(0)), 1), []*Tensor{tf([]int{2, 2}, 1, 5, 3, 4)}, []int{2}, []float64{5, 4}},
		{"Concat", mk("Concat", 13, attrs("axis", ai(-1)), 1), []*Tensor{tf([]int{2, 1}, 1, 2), tf([]int{2, 2}, 3, 4, 5, 6)}, []int{2, 3}, []float64{1, 3, 4, 2, 5, 6}},
		{"Slice negative step", mk("Slice", 13, nil, 1), []*Tensor{tf([]int{5}, 0, 1, 2, 3, 4), ti(-1), ti(math.MinInt64), ti(0), ti(-2)}, []int{3}, []float64{4, 2, 0}},
		{"Slice to INT64_MAX", mk("Slice", 13, nil, 1), []*Tensor{tf([]int{2, 3}, 0, 1, 2, 3, 4, 5), ti(1), ti(math.MaxInt64), ti(1)}, []int{2, 2}, []float64{1, 2, 4, 5}},
		{"Gather negative", mk("Gather", 13, attrs("axis", ai(1)), 1), []*Tensor{tf([]int{2, 3}, 0, 1, 2, 3, 4, 5), ti(-1, 0)}, []int{2, 2}, []float64{2, 0, 5, 3}},
		{"Reshape 0 and -1", mk("Reshape", 13, nil, 1), []*Tensor{tf([]int{2, 3}, 0, 1, 2, 3, 4, 5), ti(0, -1, 1)}, []int{2, 3, 1}, []float64{0, 1, 2, 3, 4, 5}},
		{"Flatten", mk("Flatten", 13, attrs("axis", ai(2)), 1), []*Tensor{tf([]int{1, 2, 2}, 1, 2, 3, 4)}, []int{2, 2}, []float64{1, 2, 3, 4}},
		{"Transpose", mk("Transpose", 13, attrs("perm", ais(1, 0)), 1), []*Tensor{tf([]int{2, 3}, 0, 1, 2, 3, 4, 5)}, []int{3, 2}, []float64{0, 3, 1, 4, 2, 5}},
		{"Squeeze axes", mk("Squeeze", 13, nil, 1), []*Tensor{tf([]int{1, 2, 1}, 1, 2), ti(-1)}, []int{1, 2}, []float64{1, 2}},
		{"Squeeze all", mk("Squeeze", 13, nil, 1), []*Tensor{tf([]int{1, 2, 1}, 1, 2)}, []int{2}, []float64{1, 2}},
		{"Unsqueeze", mk("Unsqueeze", 13, nil, 1), []*Tensor{tf([]int{2}, 1, 2), ti(0, -1)}, []int{1, 2, 1}, []float64{1, 2}},
		{"Expand", mk("Expand", 13, nil, 1), []*Tensor{tf([]int{2, 1}, 1, 2), ti(2, 2)}, []int{2, 2}, []float64{1, 1, 2, 2}},
		{"Tile", mk("Tile", 13, nil, 1), []*Tensor{tf([]int{1, 2}, 1, 2), ti(2, 2)}, []int{2, 4}, []float64{1, 2, 1, 2, 1, 2, 1, 2}},
		{"Shape start", mk("Shape", 15, attrs("start", ai(-2)), 1), []*Tensor{tf([]int{4, 5, 6}, make([]float64, 120)...)}, []int{2}, []float64{5, 6}},
		{"ConstantOfShape", mk("ConstantOfShape", 13, attrs("value", at(&Tensor{DType: Int64, Shape: []int{1}, Data: []float64{7}})), 1), []*Tensor{ti(2)}, []int{2}, []float64{7, 7}},
		{"Constant ints", mk("Constant", 13, attrs("value_ints", ais(3, 4)), 1), nil, []int{2}, []float64{3, 4}},
		{"BatchNorm", mk("BatchNormalization", 15, attrs("epsilon", af(0)), 1),
			[]*Tensor{tf([]int{1, 2, 1}, 3, 3), tf([]int{2}, 2, 1), tf([]int{2}, 1, 0), tf([]int{2}, 1, 2), tf([]int{2}, 4, 1)}, []int{1, 2, 1}, []float64{3, 1}},
		{"LayerNorm", mk("LayerNormalization", 17, attrs("epsilon", af(0)), 3), []*Tensor{tf([]int{1, 2}, 1, 3), tf([]int{2}, 1, 2), tf([]int{2}, 0, 1)}, []int{1, 2}, []float64{-1, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := c.node.Apply(c.in)
			if err != nil {
				t.Fatal(err)
			}
			y := out[0]
			if !slices.Equal(y.Shape, c.shape) {
				t.Fatalf("shape %v, want %v", y.Shape, c.shape)
			}
			for i := range c.want {
				if math.Abs(y.Data[i]-c.want[i]) > 1e-12 {
					t.Fatalf("got %v, want %v", y.Data, c.want)
				}
			}
		})
	}
}

func TestSplit(t *testing.T) {
	x := tf([]int{2, 3}, 0, 1, 2, 3, 4, 5)
	out, err := mk("Split", 13, attrs("axis", ai(1)), 2).Apply([]*Tensor{x, ti(1, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out[0].Data, []float64{0, 3}) || !slices.Equal(out[1].Data, []float64{1, 2, 4, 5}) {
		t.Errorf("split sizes: %v %v", out[0].Data, out[1].Data)
	}
	out, err = mk("Split", 13, nil, 2).Apply([]*Tensor{x})
	if err != nil || !slices.Equal(out[1].Data, []float64{3, 4, 5}) {
		t.Errorf("equal split: %v %v", out, err)
	}
	if _, err := mk("Split", 13, attrs("axis", ai(1)), 2).Apply([]*Tensor{x}); err == nil {
		t.Error("3 into 2 equal parts at opset 13: no error")
	}
	out, err = mk("Split", 18, attrs("axis", ai(1), "num_outputs", ai(2)), 2).Apply([]*Tensor{x})
	if err != nil || !slices.Equal(out[1].Data, []float64{2, 5}) {
		t.Errorf("opset 18 uneven split: %v %v", out, err)
	}
}

// Attribute/input forms of the wrong opset are refused, not misread.
func TestOpsetForms(t *testing.T) {
	x := tf([]int{2, 2}, 1, 2, 3, 4)
	cases := []struct {
		node *Node
		in   []*Tensor
		want string
	}{
		{mk("ReduceSum", 13, attrs("axes", ais(0)), 1), []*Tensor{x}, "axes is an input at opset 13"},
		{mk("ReduceMean", 13, nil, 1), []*Tensor{x, ti(0)}, "axes is an attribute at opset 13"},
		{mk("ReduceMean", 18, attrs("axes", ais(0)), 1), []*Tensor{x}, "axes is an input at opset 18"},
		{mk("Squeeze", 13, attrs("axes", ais(0)), 1), []*Tensor{x}, "axes is an input"},
		{mk("Split", 13, attrs("split", ais(1, 1)), 2), []*Tensor{x}, "split is an input"},
		{mk("BatchNormalization", 15, attrs("training_mode", ai(1)), 1), []*Tensor{x, x, x, x, x}, "training_mode"},
		{mk("Gather", 13, nil, 1), []*Tensor{x, ti(2)}, "index 2"},
		{mk("Reshape", 13, nil, 1), []*Tensor{x, ti(3, -1)}, "cannot reshape"},
		{mk("Add", 13, nil, 1), []*Tensor{x, tf([]int{3}, 1, 2, 3)}, "cannot be broadcast"},
		{mk("MatMul", 13, nil, 1), []*Tensor{x, tf([]int{3, 1}, 1, 2, 3)}, "do not chain"},
	}
	for _, c := range cases {
		_, err := c.node.Apply(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.node.Op) {
			t.Errorf("%s: err = %v, want %q", c.node.Op, err, c.want)
		}
	}
}
