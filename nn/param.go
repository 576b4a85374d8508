// Package nn has the layers of the NANN model with forward and backward
// passes: embeddings, Dense, BatchNorm, PReLU, attention, losses.
//
// Layers hold pointers to their parameters and are read-only during a
// forward or backward pass, so many goroutines may run them at once; each
// caller supplies its own activations, caches and gradient buffers (Grads,
// indexed by Param.Index).
package nn

// Param is one named tensor of a model. W holds the values. Trainable
// parameters are updated by the optimiser from gradients that workers
// accumulate in buffers of the same shape; non-trainable state (BatchNorm
// moving averages) is a Param too, so checkpoints treat both alike.
type Param struct {
	Name  string // unique, stable across versions: "item_net/dense0/kernel"
	Shape []int
	W     []float32
	// Decay is false for parameters exempt from weight decay.
	Decay bool
	// Index is the position of the parameter in the list it was created in
	// (a model's trainable list or its state list); gradient buffers are
	// indexed by it.
	Index int
}

// Len is the number of elements.
func (p *Param) Len() int { return len(p.W) }

// ParamSet collects parameters in creation order, which is their stable
// order in checkpoints and gradient lists.
type ParamSet struct {
	List []*Param
}

// New appends a zero-valued parameter of the given shape and returns it.
func (s *ParamSet) New(name string, decay bool, shape ...int) *Param {
	n := 1
	for _, d := range shape {
		n *= d
	}
	p := &Param{Name: name, Shape: append([]int(nil), shape...), W: make([]float32, n), Decay: decay, Index: len(s.List)}
	s.List = append(s.List, p)
	return p
}

// Grads holds one gradient buffer per trainable parameter, aligned with the
// ParamSet the layers were built from.
type Grads [][]float32

// NewGrads allocates zeroed gradient buffers for every parameter of s.
func NewGrads(s *ParamSet) Grads {
	g := make(Grads, len(s.List))
	for i, p := range s.List {
		g[i] = make([]float32, p.Len())
	}
	return g
}

// Of returns the gradient buffer of p.
func (g Grads) Of(p *Param) []float32 { return g[p.Index] }
