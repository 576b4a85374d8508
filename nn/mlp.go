package nn

import (
	"fmt"
	"math/rand/v2"

	"nann/internal/vec"
)

// MLP is a stack of hidden blocks Dense → BatchNorm → PReLU followed by a
// final Dense, as the item and score networks of the reference are built.
// Hidden Dense kernels and the final one use VarianceScaling(fan_in) init.
type MLP struct {
	In    int
	Dense []*Dense
	BN    []*BatchNorm
	Act   []*PReLU
	Out   *Dense
}

// MLPConfig describes an MLP.
type MLPConfig struct {
	In       int
	Hidden   []int
	Out      int
	OutBias  bool    // whether the final Dense has a bias
	BiasInit float32 // initial value of every Dense bias
	Momentum float32 // BatchNorm moving-average momentum
	Eps      float32 // BatchNorm epsilon
}

// NewMLP creates, for hidden block i, "<name>/dense<i>/{kernel,bias}",
// "<name>/bn<i>/{gamma,beta}" (moving statistics in state) and
// "<name>/prelu<i>/alpha", then "<name>/dense<len(Hidden)>".
func NewMLP(params, state *ParamSet, r *rand.Rand, name string, c MLPConfig) *MLP {
	p := &MLP{In: c.In}
	in := c.In
	for i, h := range c.Hidden {
		p.Dense = append(p.Dense, NewDense(params, r, fmt.Sprintf("%s/dense%d", name, i), in, h, true, InitVarianceScaling, c.BiasInit))
		p.BN = append(p.BN, NewBatchNorm(params, state, fmt.Sprintf("%s/bn%d", name, i), h, c.Momentum, c.Eps))
		p.Act = append(p.Act, NewPReLU(params, fmt.Sprintf("%s/prelu%d", name, i), h, 0.25))
		in = h
	}
	p.Out = NewDense(params, r, fmt.Sprintf("%s/dense%d", name, len(c.Hidden)), in, c.Out, c.OutBias, InitVarianceScaling, c.BiasInit)
	return p
}

// MLPCache holds one forward pass's activations and the backward scratch.
type MLPCache struct {
	Y  [][]float32 // per block: BatchNorm output (PReLU input), n×width
	A  [][]float32 // per block: PReLU output
	BN []BNCache
	dA [][]float32
}

func (c *MLPCache) resize(p *MLP, n int) {
	k := len(p.Dense)
	if len(c.Y) != k {
		c.Y, c.A, c.BN, c.dA = make([][]float32, k), make([][]float32, k), make([]BNCache, k), make([][]float32, k)
	}
	for i, d := range p.Dense {
		c.Y[i] = grow(c.Y[i], n*d.Out)
		c.A[i] = grow(c.A[i], n*d.Out)
	}
}

// Forward runs n rows of x (leading dimension ldx) through the network and
// writes n×Out to out (leading dimension ldOut). train selects batch
// statistics (recorded in c.BN for Backward and for moving averages) over
// the moving averages.
func (p *MLP) Forward(gw *vec.GemmWork, x []float32, ldx, n int, train bool, c *MLPCache, out []float32, ldOut int) {
	c.resize(p, n)
	in, ld := x, ldx
	for i, d := range p.Dense {
		d.Forward(gw, in, ld, n, c.Y[i], d.Out)
		if train {
			p.BN[i].ForwardTrain(c.Y[i], n, c.Y[i], &c.BN[i])
		} else {
			p.BN[i].ForwardInfer(c.Y[i], n, c.Y[i])
		}
		p.Act[i].Forward(c.Y[i], n, c.A[i])
		in, ld = c.A[i], d.Out
	}
	p.Out.Forward(gw, in, ld, n, out, ldOut)
}

// Backward follows a training-mode Forward with the same x and c: it adds
// the parameter gradients for dout (n×Out, leading dimension ldDout) to g
// and, if dx is not nil, writes (accDx false) or adds (accDx true) the input
// gradient to dx.
func (p *MLP) Backward(gw *vec.GemmWork, g Grads, x []float32, ldx, n int, c *MLPCache,
	dout []float32, ldDout int, dx []float32, lddx int, accDx bool) {
	k := len(p.Dense)
	for i, d := range p.Dense {
		c.dA[i] = grow(c.dA[i], n*d.Out)
	}
	if k == 0 {
		p.Out.Backward(gw, g, x, ldx, dout, ldDout, n, dx, lddx, accDx)
		return
	}
	p.Out.Backward(gw, g, c.A[k-1], p.Dense[k-1].Out, dout, ldDout, n, c.dA[k-1], p.Dense[k-1].Out, false)
	for i := k - 1; i >= 0; i-- {
		w := p.Dense[i].Out
		p.Act[i].Backward(g, c.Y[i], c.dA[i], n, c.dA[i])
		p.BN[i].Backward(g, &c.BN[i], c.dA[i], n, c.dA[i])
		if i > 0 {
			p.Dense[i].Backward(gw, g, c.A[i-1], p.Dense[i-1].Out, c.dA[i], w, n, c.dA[i-1], p.Dense[i-1].Out, false)
		} else {
			p.Dense[0].Backward(gw, g, x, ldx, c.dA[0], w, n, dx, lddx, accDx)
		}
	}
}
