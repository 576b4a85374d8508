// Package onnx reads ONNX models (opset 13–17, as torch.onnx.export and
// tf2onnx write them) into a graph IR, infers shapes with a symbolic batch
// dimension, and interprets graphs in float64 — the reference the compiled
// scoring plans are checked against. The protobuf is parsed with the
// generated code in onnx/onnxpb; execution is nann's own.
package onnx

import (
	"container/heap"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"google.golang.org/protobuf/proto"

	"nann/onnx/onnxpb"
)

// The opset range of the default ("ai.onnx") domain nann accepts.
const (
	MinOpset = 13
	MaxOpset = 17
)

// DefaultMaxBytes is the default cap on a model file's size (protobuf's own
// limit is 2 GiB; larger models need external data, which nann refuses).
const DefaultMaxBytes = 1 << 30

// ReadOptions controls Read and Parse.
type ReadOptions struct {
	// MaxBytes caps the file size (0: DefaultMaxBytes).
	MaxBytes int64
}

// Model is a parsed ONNX model.
type Model struct {
	IRVersion       int64
	Opset           int // version of the default domain
	ProducerName    string
	ProducerVersion string
	Graph           *Graph
}

// Graph is the IR of an ONNX graph: values connected by nodes, the nodes
// in a topological order.
type Graph struct {
	Name    string
	Opset   int
	Inputs  []*Value // graph inputs that are not initializers, in order
	Outputs []*Value
	Nodes   []*Node // topological order
	Values  map[string]*Value
}

// Value is a named tensor of the graph: a graph input, an initializer (with
// Const set) or a node output.
type Value struct {
	Name     string
	DType    DType // Undefined where neither declared nor inferred
	Shape    Shape // nil where unknown
	Const    *Tensor
	Producer *Node   // nil for inputs and initializers
	Users    []*Node // nodes that read the value
}

// Shape is a tensor shape whose dimensions may depend on the batch size.
type Shape []Dim

// Dim is one dimension: Batch·n + Fixed for batch size n. A declared
// symbolic dimension (dim_param) has Param set and Batch 1.
type Dim struct {
	Batch, Fixed int
	Param        string
}

// At is the concrete size for batch size n.
func (d Dim) At(n int) int { return d.Batch*n + d.Fixed }

// At is the concrete shape for batch size n.
func (s Shape) At(n int) []int {
	out := make([]int, len(s))
	for i, d := range s {
		out[i] = d.At(n)
	}
	return out
}

// HasBatch reports whether any dimension depends on the batch size.
func (s Shape) HasBatch() bool {
	for _, d := range s {
		if d.Batch != 0 {
			return true
		}
	}
	return false
}

func (d Dim) String() string {
	switch {
	case d.Batch == 0:
		return fmt.Sprint(d.Fixed)
	case d.Param != "" && d.Batch == 1 && d.Fixed == 0:
		return d.Param
	}
	s := "n"
	if d.Batch != 1 {
		s = fmt.Sprintf("%dn", d.Batch)
	}
	if d.Fixed > 0 {
		s += fmt.Sprintf("+%d", d.Fixed)
	} else if d.Fixed < 0 {
		s += fmt.Sprintf("%d", d.Fixed)
	}
	return s
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Node is one operator application. Inputs holds nil where an optional
// input is omitted.
type Node struct {
	Name    string
	Op      string
	Domain  string
	Inputs  []*Value
	Outputs []*Value
	Attrs   map[string]*Attr
	Opset   int
}

// Input is the i-th input, or nil if absent or omitted.
func (n *Node) Input(i int) *Value {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return nil
}

func (n *Node) String() string {
	return fmt.Sprintf("node %q (%s, opset %d)", n.Name, n.Op, n.Opset)
}

// NodeError is an error about one node; it names the node, its op type and
// the opset.
type NodeError struct {
	Node *Node
	Err  error
}

func (e *NodeError) Error() string { return fmt.Sprintf("onnx: %s: %v", e.Node, e.Err) }
func (e *NodeError) Unwrap() error { return e.Err }

// ErrUnsupportedOp is wrapped by errors about op types nann does not know.
var ErrUnsupportedOp = errors.New("unsupported op")

// ReadFile reads and parses the model at path.
func ReadFile(path string, opt ReadOptions) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	max := opt.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	if st, err := f.Stat(); err == nil && st.Size() > max {
		return nil, fmt.Errorf("onnx: %s: %d bytes, more than the %d-byte limit", path, st.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("onnx: reading %s: %w", path, err)
	}
	m, err := Parse(data, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Parse parses a serialized ModelProto and builds its graph IR.
func Parse(data []byte, opt ReadOptions) (*Model, error) {
	max := opt.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("onnx: model has %d bytes, more than the %d-byte limit", len(data), max)
	}
	if len(data) == 0 {
		return nil, errors.New("onnx: model file is empty")
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, fmt.Errorf("onnx: not a valid ONNX model (truncated or corrupt protobuf): %w", err)
	}
	return FromProto(&mp)
}

// FromProto builds the IR of a ModelProto.
func FromProto(mp *onnxpb.ModelProto) (*Model, error) {
	if mp.GetGraph() == nil {
		return nil, errors.New("onnx: model has no graph (truncated or not an ONNX model?)")
	}
	m := &Model{IRVersion: mp.GetIrVersion(), ProducerName: mp.GetProducerName(), ProducerVersion: mp.GetProducerVersion()}
	if m.IRVersion < 3 {
		return nil, fmt.Errorf("onnx: IR version %d is too old (need 3 or later)", m.IRVersion)
	}
	found := false
	for _, os := range mp.GetOpsetImport() {
		if d := os.GetDomain(); d == "" || d == "ai.onnx" {
			m.Opset, found = int(os.GetVersion()), true
		}
	}
	if !found {
		return nil, errors.New("onnx: model imports no opset of the default domain")
	}
	if m.Opset < MinOpset || m.Opset > MaxOpset {
		return nil, fmt.Errorf("onnx: opset %d is outside the supported %d–%d (re-export with torch.onnx.export(..., opset_version=%d))", m.Opset, MinOpset, MaxOpset, MinOpset)
	}
	g, err := buildGraph(mp.GetGraph(), m.Opset)
	if err != nil {
		return nil, err
	}
	m.Graph = g
	return m, nil
}

func buildGraph(gp *onnxpb.GraphProto, opset int) (*Graph, error) {
	g := &Graph{Name: gp.GetName(), Opset: opset, Values: map[string]*Value{}}
	var errs []error
	if len(gp.GetSparseInitializer()) > 0 {
		errs = append(errs, errors.New("onnx: sparse initializers are not supported"))
	}
	for _, tp := range gp.GetInitializer() {
		name := tp.GetName()
		if name == "" {
			errs = append(errs, errors.New("onnx: an initializer has no name"))
			continue
		}
		if _, dup := g.Values[name]; dup {
			errs = append(errs, fmt.Errorf("onnx: initializer %q defined twice", name))
			continue
		}
		t, err := TensorFromProto(tp)
		if err != nil {
			errs = append(errs, fmt.Errorf("onnx: initializer: %w", err))
			continue
		}
		g.Values[name] = &Value{Name: name, DType: t.DType, Shape: fixedShape(t.Shape), Const: t}
	}
	for _, vi := range gp.GetInput() {
		name := vi.GetName()
		if v, ok := g.Values[name]; ok {
			if v.Const == nil {
				errs = append(errs, fmt.Errorf("onnx: graph input %q declared twice", name))
			}
			continue // an initializer listed as an input (IR < 4 style): a constant
		}
		if name == "" {
			errs = append(errs, errors.New("onnx: a graph input has no name"))
			continue
		}
		v := &Value{Name: name}
		if err := setType(v, vi); err != nil {
			errs = append(errs, fmt.Errorf("onnx: graph input %q: %w", name, err))
		}
		g.Values[name] = v
		g.Inputs = append(g.Inputs, v)
	}
	nodes := make([]*Node, 0, len(gp.GetNode()))
	producer := map[string]*Node{}
	for i, np := range gp.GetNode() {
		n := &Node{Name: np.GetName(), Op: np.GetOpType(), Domain: np.GetDomain(), Opset: opset, Attrs: map[string]*Attr{}}
		if n.Name == "" {
			n.Name = fmt.Sprintf("#%d", i)
		}
		for _, ap := range np.GetAttribute() {
			a, err := attrFromProto(ap)
			if err != nil {
				errs = append(errs, &NodeError{n, err})
				continue
			}
			n.Attrs[a.Name] = a
		}
		for _, out := range np.GetOutput() {
			if out == "" {
				n.Outputs = append(n.Outputs, nil)
				continue
			}
			if _, ok := g.Values[out]; ok {
				errs = append(errs, &NodeError{n, fmt.Errorf("output %q is already defined", out)})
				continue
			}
			if _, ok := producer[out]; ok {
				errs = append(errs, &NodeError{n, fmt.Errorf("output %q is produced by two nodes", out)})
				continue
			}
			producer[out] = n
			v := &Value{Name: out, Producer: n}
			n.Outputs = append(n.Outputs, v)
		}
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		for _, o := range n.Outputs {
			if o != nil {
				g.Values[o.Name] = o
			}
		}
	}
	for i, np := range gp.GetNode() {
		n := nodes[i]
		for _, in := range np.GetInput() {
			if in == "" {
				n.Inputs = append(n.Inputs, nil)
				continue
			}
			v, ok := g.Values[in]
			if !ok {
				errs = append(errs, &NodeError{n, fmt.Errorf("input %q is not defined by any node, initializer or graph input", in)})
				n.Inputs = append(n.Inputs, nil)
				continue
			}
			n.Inputs = append(n.Inputs, v)
			v.Users = append(v.Users, n)
		}
	}
	for _, vi := range gp.GetValueInfo() {
		if v, ok := g.Values[vi.GetName()]; ok && v.Const == nil && v.Shape == nil {
			_ = setType(v, vi) // advisory; inference decides
		}
	}
	for _, vi := range gp.GetOutput() {
		v, ok := g.Values[vi.GetName()]
		if !ok {
			errs = append(errs, fmt.Errorf("onnx: graph output %q is not produced by any node", vi.GetName()))
			continue
		}
		if v.Shape == nil {
			_ = setType(v, vi)
		}
		g.Outputs = append(g.Outputs, v)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	order, err := topoSort(nodes)
	if err != nil {
		return nil, err
	}
	g.Nodes = order
	return g, nil
}

// topoSort orders nodes so that each comes after the producers of its
// inputs (stable: the file's order where it is already valid).
func topoSort(nodes []*Node) ([]*Node, error) {
	index := map[*Node]int{}
	for i, n := range nodes {
		index[n] = i
	}
	indeg := make([]int, len(nodes))
	succ := make([][]int, len(nodes))
	for i, n := range nodes {
		seen := map[*Node]bool{}
		for _, in := range n.Inputs {
			if in == nil || in.Producer == nil || seen[in.Producer] {
				continue
			}
			seen[in.Producer] = true
			p := index[in.Producer]
			succ[p] = append(succ[p], i)
			indeg[i]++
		}
	}
	ready := &intHeap{}
	for i := range nodes {
		if indeg[i] == 0 {
			heap.Push(ready, i)
		}
	}
	out := make([]*Node, 0, len(nodes))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		out = append(out, nodes[i])
		for _, j := range succ[i] {
			if indeg[j]--; indeg[j] == 0 {
				heap.Push(ready, j)
			}
		}
	}
	if len(out) != len(nodes) {
		for i, d := range indeg {
			if d > 0 {
				return nil, &NodeError{nodes[i], errors.New("the graph has a cycle through this node")}
			}
		}
	}
	return out, nil
}

func fixedShape(s []int) Shape {
	out := make(Shape, len(s))
	for i, d := range s {
		out[i] = Dim{Fixed: d}
	}
	return out
}

func setType(v *Value, vi *onnxpb.ValueInfoProto) error {
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return errors.New("is not a tensor (sequences, maps and optionals are not supported)")
	}
	v.DType = DType(tt.GetElemType())
	if !v.DType.Supported() {
		return fmt.Errorf("element type %s is not supported", v.DType)
	}
	if sp := tt.GetShape(); sp != nil {
		s := make(Shape, len(sp.GetDim()))
		for i, d := range sp.GetDim() {
			switch {
			case d.GetDimParam() != "":
				s[i] = Dim{Batch: 1, Param: d.GetDimParam()}
			case d.GetDimValue() > 0 || d.Value != nil:
				if d.GetDimValue() < 0 || d.GetDimValue() > maxTensorElems {
					return fmt.Errorf("dimension %d is %d", i, d.GetDimValue())
				}
				s[i] = Dim{Fixed: int(d.GetDimValue())}
			default:
				s[i] = Dim{Batch: 1, Param: "?"}
			}
		}
		v.Shape = s
	}
	return nil
}

// intHeap is a min-heap of node indices (container/heap).
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
