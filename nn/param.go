// Package nn has the layers of the NANN model with forward and backward
// passes: embeddings, Dense, BatchNorm, PReLU, attention, losses.
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
}

// Len is the number of elements.
func (p *Param) Len() int { return len(p.W) }
