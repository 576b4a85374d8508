package nn

import (
	"math/rand/v2"

	"nann/internal/vec"
)

// Dense is y = x·W + b for a batch of rows; W is In×Out (row-major, as
// TensorFlow stores kernels), b has Out elements or is absent.
type Dense struct {
	In, Out int
	W, B    *Param // B is nil for a layer without bias
}

// DenseInit names a kernel initialiser.
type DenseInit int

const (
	// InitVarianceScaling is TF's VarianceScaling(fan_in, normal).
	InitVarianceScaling DenseInit = iota
	// InitGlorotUniform is TF's glorot_uniform.
	InitGlorotUniform
)

// NewDense creates the kernel "<name>/kernel" and, if bias, "<name>/bias"
// initialised to biasInit.
func NewDense(s *ParamSet, r *rand.Rand, name string, in, out int, bias bool, init DenseInit, biasInit float32) *Dense {
	d := &Dense{In: in, Out: out, W: s.New(name+"/kernel", true, in, out)}
	switch init {
	case InitGlorotUniform:
		GlorotUniform(r, d.W.W, in, out)
	default:
		VarianceScalingFanIn(r, d.W.W, in)
	}
	if bias {
		d.B = s.New(name+"/bias", true, out)
		Fill(d.B.W, biasInit)
	}
	return d
}

// Forward writes y = x·W + b for n rows; x is n×In with leading dimension
// ldx, y is n×Out with leading dimension ldy.
func (d *Dense) Forward(gw *vec.GemmWork, x []float32, ldx, n int, y []float32, ldy int) {
	if d.B != nil {
		for i := 0; i < n; i++ {
			copy(y[i*ldy:i*ldy+d.Out], d.B.W)
		}
		vec.Gemm(gw, false, false, n, d.Out, d.In, 1, x, ldx, d.W.W, d.Out, 1, y, ldy)
		return
	}
	vec.Gemm(gw, false, false, n, d.Out, d.In, 1, x, ldx, d.W.W, d.Out, 0, y, ldy)
}

// Backward adds the parameter gradients for upstream gradient dy (n×Out,
// leading dimension ldy) and input x to g, and, if dx is not nil, writes
// (accDx false) or adds (accDx true) the input gradient dy·Wᵀ to dx.
func (d *Dense) Backward(gw *vec.GemmWork, g Grads, x []float32, ldx int, dy []float32, ldy, n int,
	dx []float32, lddx int, accDx bool) {
	vec.Gemm(gw, true, false, d.In, d.Out, n, 1, x, ldx, dy, ldy, 1, g.Of(d.W), d.Out)
	if d.B != nil {
		gb := g.Of(d.B)[:d.Out]
		if ldy == d.Out {
			vec.ColSums(dy, n, gb)
		} else {
			for i := 0; i < n; i++ {
				for j, v := range dy[i*ldy : i*ldy+d.Out] {
					gb[j] += v
				}
			}
		}
	}
	if dx != nil {
		beta := float32(0)
		if accDx {
			beta = 1
		}
		vec.Gemm(gw, false, true, n, d.In, d.Out, 1, dy, ldy, d.W.W, d.Out, beta, dx, lddx)
	}
}
