package plan

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"nann/internal/vec"
	"nann/onnx"
)

// Options controls compilation.
type Options struct {
	// Block is the number of candidates the pair stage scores together
	// (default 48; a multiple of 6 lets every product run on the tile
	// kernels).
	Block int
	// ItemChunk is the number of items the item stage computes together at
	// compile time (default 1024).
	ItemChunk int
	// Threads is the number of cores a large Score batch is split across
	// (0: GOMAXPROCS).
	Threads int
	// Float16Tables stores the item tables in half precision: half the
	// memory and bandwidth, about 1e-3 relative error per stored value.
	Float16Tables bool
	// MeasureTables times the pair stage with float32 and with float16
	// tables at compile time and keeps float16 unless it is measurably
	// slower (Stats.Float16Tables and Stats.Tables record the outcome).
	// It is ignored when Float16Tables is set.
	MeasureTables bool
	// NoRewrite compiles the graph as exported, without the algebraic
	// rewrites (for tests and comparisons).
	NoRewrite bool
}

// Validate reports every problem at once.
func (o Options) Validate() error {
	var errs []error
	if o.Block < 0 || o.Block > 1<<16 {
		errs = append(errs, fmt.Errorf("plan options: block %d outside [0, 65536]", o.Block))
	}
	if o.Threads < 0 || o.Threads > 1024 {
		errs = append(errs, fmt.Errorf("plan options: threads %d outside [0, 1024]", o.Threads))
	}
	if o.ItemChunk < 0 || o.ItemChunk > 1<<20 {
		errs = append(errs, fmt.Errorf("plan options: item chunk %d outside [0, 1048576]", o.ItemChunk))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.Block == 0 {
		o.Block = 48
	}
	if o.ItemChunk == 0 {
		o.ItemChunk = 1024
	}
	if o.Threads == 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	return o
}

// Plan is a compiled scoring network over a fixed item corpus. It is
// read-only after Compile and safe for concurrent use; per-query state
// lives in Scorers.
type Plan struct {
	g     *onnx.Graph
	c     Contract
	lab   map[*onnx.Value]Label
	block int

	consts    map[*onnx.Value]*onnx.Tensor
	sizeNodes []*onnx.Node
	userNodes []*onnx.Node
	itemNodes []*onnx.Node
	pairNodes []*onnx.Node

	userOut []*onnx.Value // user values the pair stage reads
	itemOut []*onnx.Value // item values the pair stage reads
	tables  []table       // one per itemOut
	n       int           // number of items

	prog *program

	user       *userStage // nil: the user stage runs in the interpreter
	userWhy    error      // why it does (user is nil)
	userShapes [][]int    // per Contract.UserInputs: the shape Bind takes

	tableChoice TableChoice

	threads  int
	poolOnce sync.Once
	jobs     chan job
	scoring  atomic.Int32 // Score calls in progress, across the plan's scorers
}

// table is an item value precomputed for the corpus: row i (width values)
// is the value's slice for item i.
type table struct {
	v     *onnx.Value
	width int
	data  []float32
	f16   []uint16 // Options.Float16Tables: data rounded, data dropped
}

// Stats describes how the work was split.
type Stats struct {
	Nodes                         int
	Const, Size, User, Item, Pair int // nodes by label
	ItemTables                    int // item values stored per item
	TableFloats                   int // float32 values per item over all tables
	UserValues                    int // user values handed to the pair stage
	PairKernels                   int
	UserKernels                   int   // the compiled user stage's kernels (0: interpreted)
	TableBytes                    int64 // memory held by the item tables
	Float16Tables                 bool  // the item tables are float16
	Tables                        TableChoice
}

// Stats returns how the work was split.
func (p *Plan) Stats() Stats {
	s := Stats{Nodes: len(p.g.Nodes), ItemTables: len(p.tables), UserValues: len(p.userOut), PairKernels: len(p.prog.kernels)}
	if p.user != nil {
		s.UserKernels = len(p.user.pr.kernels)
	}
	s.Tables = p.tableChoice
	for _, t := range p.tables {
		s.Float16Tables = s.Float16Tables || t.f16 != nil
	}
	for _, n := range p.g.Nodes {
		switch p.lab[n.Outputs[0]] {
		case Const:
			s.Const++
		case Size:
			s.Size++
		case User:
			s.User++
		case Item:
			s.Item++
		case Pair:
			s.Pair++
		}
	}
	for _, t := range p.tables {
		s.TableFloats += t.width
		s.TableBytes += int64(len(t.data))*4 + int64(len(t.f16))*2
	}
	return s
}

// NumItems is the corpus size.
func (p *Plan) NumItems() int { return p.n }

// Contract is the resolved contract.
func (p *Plan) Contract() Contract { return p.c }

// prepare resolves c against g, checks that g's operators are supported
// and infers its shapes: what Compile and ItemValue start with.
func (c Contract) prepare(g *onnx.Graph) (Contract, error) {
	c, err := c.resolve(g)
	if err != nil {
		return c, err
	}
	if err := g.CheckOps(); err != nil {
		return c, err
	}
	if err := g.InferShapes(); err != nil {
		return c, err
	}
	return c, nil
}

// Compile compiles g under contract c, computing the item stage over items,
// the item input for every item of the corpus (leading dimension N). The
// graph's shapes are inferred if not already.
func Compile(g *onnx.Graph, c Contract, items *onnx.Tensor, opt Options) (*Plan, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	opt = opt.withDefaults()
	c, err := c.prepare(g)
	if err != nil {
		return nil, err
	}
	if !opt.NoRewrite {
		if g, err = rewrite(g, c); err != nil {
			return nil, err
		}
	}
	score := g.Values[c.ScoreOutput]
	if s := score.Shape; !(len(s) == 1 || len(s) == 2 && s[1] == onnx.Dim{Fixed: 1}) || s[0] != (onnx.Dim{Batch: 1}) {
		return nil, fmt.Errorf("plan: score output %q has shape %s, want [n] or [n,1]", score.Name, score.Shape)
	}
	if err := checkItems(g.Values[c.ItemInput], items); err != nil {
		return nil, err
	}
	p := &Plan{g: g, c: c, block: opt.Block, threads: opt.Threads, n: items.Shape[0], consts: map[*onnx.Value]*onnx.Tensor{}}
	p.lab = labelValues(g, c)
	switch p.lab[score] {
	case User:
		return nil, fmt.Errorf("plan: score %q does not depend on the item input %q", score.Name, c.ItemInput)
	case Item:
		return nil, fmt.Errorf("plan: score %q does not depend on the user inputs %v", score.Name, c.UserInputs)
	case Const, Size:
		return nil, fmt.Errorf("plan: score %q depends on no input", score.Name)
	}
	// Constant folding, and the nodes of each stage.
	for _, v := range g.Values {
		if v.Const != nil {
			p.consts[v] = v.Const
		}
	}
	for _, n := range g.Nodes {
		switch p.lab[n.Outputs[0]] {
		case Const:
			in := make([]*onnx.Tensor, len(n.Inputs))
			for i, v := range n.Inputs {
				if v != nil {
					in[i] = p.consts[v]
				}
			}
			out, err := n.Apply(in)
			if err != nil {
				return nil, err
			}
			for i, o := range n.Outputs {
				if o != nil && i < len(out) {
					p.consts[o] = out[i]
				}
			}
		case Size:
			p.sizeNodes = append(p.sizeNodes, n)
		case User:
			p.userNodes = append(p.userNodes, n)
		case Item:
			p.itemNodes = append(p.itemNodes, n)
		case Pair:
			p.pairNodes = append(p.pairNodes, n)
		}
	}
	p.pairNodes = live(p.pairNodes, score)
	// The values crossing into the pair stage.
	seen := map[*onnx.Value]bool{}
	for _, n := range p.pairNodes {
		for _, in := range n.Inputs {
			if in == nil || seen[in] {
				continue
			}
			seen[in] = true
			switch p.lab[in] {
			case User:
				p.userOut = append(p.userOut, in)
			case Item:
				p.itemOut = append(p.itemOut, in)
			}
		}
	}
	for _, v := range append(append([]*onnx.Value{}, p.userOut...), p.itemOut...) {
		if err := checkBatchLeading(v); err != nil {
			return nil, err
		}
	}
	if err := p.checkBatchPolymorphic(items); err != nil {
		return nil, err
	}
	if err := p.buildTables(items, opt.ItemChunk); err != nil {
		return nil, err
	}
	if opt.Float16Tables {
		for i := range p.tables {
			t := &p.tables[i]
			t.f16 = make([]uint16, len(t.data))
			vec.F32ToF16(t.f16, t.data)
			t.data = nil
		}
	}
	if p.prog, err = p.compilePair(score); err != nil {
		return nil, err
	}
	for _, name := range c.UserInputs {
		p.userShapes = append(p.userShapes, g.Values[name].Shape.At(1))
	}
	p.user, p.userWhy = p.compileUser()
	if opt.MeasureTables && !opt.Float16Tables && len(p.tables) > 0 && p.n > 0 {
		if err := p.measureTables(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// checkItems checks an item table against the item input: rank, the
// dimensions after the rows, and the element type.
func checkItems(itemIn *onnx.Value, items *onnx.Tensor) error {
	if items == nil || items.Rank() == 0 || items.Rank() != len(itemIn.Shape) {
		return fmt.Errorf("plan: item table for input %q: want shape %s, got %v", itemIn.Name, itemIn.Shape, shapeOf(items))
	}
	for i, d := range itemIn.Shape[1:] {
		if d.Fixed != items.Shape[i+1] {
			return fmt.Errorf("plan: item table for input %q has shape %v, the model wants %s (rows × the rest)", itemIn.Name, items.Shape, itemIn.Shape)
		}
	}
	if items.DType != itemIn.DType {
		return fmt.Errorf("plan: item table for input %q is %s, the model wants %s", itemIn.Name, items.DType, itemIn.DType)
	}
	return nil
}

func shapeOf(t *onnx.Tensor) any {
	if t == nil {
		return "nothing"
	}
	return t.Shape
}

// live keeps the nodes that the value out depends on.
func live(nodes []*onnx.Node, out *onnx.Value) []*onnx.Node {
	return liveAll(nodes, []*onnx.Value{out})
}

// checkBatchLeading checks that a value handed between stages has the
// batch as the outermost factor of its leading dimension only, so that its
// data at batch n is n consecutive per-row slices.
func checkBatchLeading(v *onnx.Value) error {
	s := v.Shape
	if len(s) == 0 || s[0].Batch < 1 || s[0].Fixed != 0 {
		return fmt.Errorf("plan: value %q (shape %s, produced by %v) crosses into the pair stage but its leading dimension is not a multiple of the batch size", v.Name, s, producerName(v))
	}
	for i, d := range s[1:] {
		if d.Batch != 0 {
			return fmt.Errorf("plan: value %q (shape %s, produced by %v) crosses into the pair stage but dimension %d depends on the batch size", v.Name, s, producerName(v), i+1)
		}
	}
	return nil
}

func producerName(v *onnx.Value) string {
	if v.Producer == nil {
		return "a graph input"
	}
	return v.Producer.String()
}

// sizesAt evaluates the batch-size-only values for batch size n.
func (p *Plan) sizesAt(n int, env map[*onnx.Value]*onnx.Tensor) error {
	for _, nd := range p.sizeNodes {
		in := make([]*onnx.Tensor, len(nd.Inputs))
		for i, v := range nd.Inputs {
			if v == nil {
				continue
			}
			if nd.Op == "Shape" && i == 0 {
				in[i] = &onnx.Tensor{DType: v.DType, Shape: v.Shape.At(n)}
				continue
			}
			in[i] = env[v]
		}
		if err := apply(nd, in, env); err != nil {
			return err
		}
	}
	return nil
}

// apply runs nd on in with the float64 interpreter and records its
// outputs in env.
func apply(nd *onnx.Node, in []*onnx.Tensor, env map[*onnx.Value]*onnx.Tensor) error {
	out, err := nd.Apply(in)
	if err != nil {
		return err
	}
	for i, o := range nd.Outputs {
		if o != nil && i < len(out) {
			env[o] = out[i]
		}
	}
	return nil
}

// runStage runs nodes at batch size n over env (which holds the stage's
// inputs) with the float64 interpreter.
func (p *Plan) runStage(nodes []*onnx.Node, n int, env map[*onnx.Value]*onnx.Tensor) error {
	for v, t := range p.consts {
		env[v] = t
	}
	if err := p.sizesAt(n, env); err != nil {
		return err
	}
	for _, nd := range nodes {
		in := make([]*onnx.Tensor, len(nd.Inputs))
		for i, v := range nd.Inputs {
			if v != nil {
				in[i] = env[v]
			}
		}
		if err := apply(nd, in, env); err != nil {
			return err
		}
	}
	return nil
}

// rows returns rows [lo, hi) of t.
func rows(t *onnx.Tensor, lo, hi int) *onnx.Tensor {
	w := t.Len() / max(t.Shape[0], 1)
	return &onnx.Tensor{DType: t.DType, Shape: append([]int{hi - lo}, t.Shape[1:]...), Data: t.Data[lo*w : hi*w]}
}

// repeat returns t ([1, ...]) repeated to n rows.
func repeat(t *onnx.Tensor, n int) *onnx.Tensor {
	w := t.Len()
	out := &onnx.Tensor{DType: t.DType, Shape: append([]int{n * t.Shape[0]}, t.Shape[1:]...), Data: make([]float64, n*w)}
	for i := 0; i < n; i++ {
		copy(out.Data[i*w:], t.Data)
	}
	return out
}

// checkBatchPolymorphic checks numerically that the stage boundary values
// behave as the split assumes: a user value computed for one row, repeated,
// is the value computed for repeated rows; an item value computed for two
// items together is the two computed alone.
func (p *Plan) checkBatchPolymorphic(items *onnx.Tensor) error {
	rng := rand.New(rand.NewPCG(1, 2))
	one := map[*onnx.Value]*onnx.Tensor{}
	two := map[*onnx.Value]*onnx.Tensor{}
	for _, name := range p.c.UserInputs {
		v := p.g.Values[name]
		t := onnx.NewTensor(v.DType, v.Shape.At(1)...)
		if v.DType.IsFloat() {
			for i := range t.Data {
				t.Data[i] = rng.NormFloat64()
			}
		}
		one[v], two[v] = t, repeat(t, 2)
	}
	if err := p.runStage(p.userNodes, 1, one); err != nil {
		return err
	}
	if err := p.runStage(p.userNodes, 2, two); err != nil {
		return err
	}
	for _, v := range p.userOut {
		if !same(repeat(one[v], 2).Data, two[v].Data) {
			return fmt.Errorf("plan: user value %q (from %s) computed for two identical users is not the value for one, repeated: the user side mixes rows", v.Name, producerName(v))
		}
	}
	if items.Shape[0] < 2 || len(p.itemOut) == 0 {
		return nil
	}
	itemIn := p.g.Values[p.c.ItemInput]
	pair := map[*onnx.Value]*onnx.Tensor{itemIn: rows(items, 0, 2)}
	a := map[*onnx.Value]*onnx.Tensor{itemIn: rows(items, 0, 1)}
	b := map[*onnx.Value]*onnx.Tensor{itemIn: rows(items, 1, 2)}
	for _, env := range []map[*onnx.Value]*onnx.Tensor{pair, a, b} {
		if err := p.runStage(p.itemNodes, env[itemIn].Shape[0], env); err != nil {
			return err
		}
	}
	for _, v := range p.itemOut {
		joined := append(append([]float64{}, a[v].Data...), b[v].Data...)
		if !same(joined, pair[v].Data) {
			return fmt.Errorf("plan: item value %q (from %s) computed for two items together differs from the two computed alone: the item side mixes rows", v.Name, producerName(v))
		}
	}
	return nil
}

func same(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if d := math.Abs(a[i] - b[i]); d > 1e-9*math.Max(1, math.Abs(a[i])) && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

// buildTables runs the item stage over the corpus in chunks and stores the
// item values the pair stage reads.
func (p *Plan) buildTables(items *onnx.Tensor, chunk int) error {
	itemIn := p.g.Values[p.c.ItemInput]
	p.tables = make([]table, len(p.itemOut))
	for i, v := range p.itemOut {
		w := 1
		for _, d := range v.Shape.At(1) {
			w *= d
		}
		p.tables[i] = table{v: v, width: w, data: make([]float32, 0, w*p.n)}
	}
	for lo := 0; lo < p.n; lo += chunk {
		hi := min(lo+chunk, p.n)
		env := map[*onnx.Value]*onnx.Tensor{itemIn: rows(items, lo, hi)}
		if err := p.runStage(p.itemNodes, hi-lo, env); err != nil {
			return fmt.Errorf("plan: item stage, items %d–%d: %w", lo, hi-1, err)
		}
		for i := range p.tables {
			t := &p.tables[i]
			for _, x := range env[t.v].Data {
				t.data = append(t.data, float32(x))
			}
		}
	}
	return nil
}

// Describe lists the nodes of each stage and the values crossing into the
// pair stage, for diagnostics.
func (p *Plan) Describe() string {
	var b []byte
	for _, n := range p.g.Nodes {
		l := p.lab[n.Outputs[0]]
		if l == Const {
			continue
		}
		var ins []string
		for _, in := range n.Inputs {
			if in != nil {
				ins = append(ins, fmt.Sprintf("%s%s:%s", in.Name, in.Shape, p.lab[in]))
			}
		}
		b = fmt.Appendf(b, "%-5s %-18s %s%s <- %v\n", l, n.Op, n.Outputs[0].Name, n.Outputs[0].Shape, ins)
	}
	for _, t := range p.tables {
		b = fmt.Appendf(b, "item table %s%s: %d floats per item\n", t.v.Name, t.v.Shape, t.width)
	}
	for _, v := range p.userOut {
		b = fmt.Appendf(b, "user value %s%s\n", v.Name, v.Shape)
	}
	b = fmt.Appendf(b, "item tables: %s\n", p.tableChoice)
	return string(b)
}
