package nn

import (
	"math"
	"math/rand/v2"
)

// TruncatedNormal fills w with normal samples of the given standard
// deviation, redrawing any beyond two standard deviations (as TensorFlow's
// truncated_normal does).
func TruncatedNormal(r *rand.Rand, w []float32, std float64) {
	for i := range w {
		for {
			v := r.NormFloat64()
			if v >= -2 && v <= 2 {
				w[i] = float32(v * std)
				break
			}
		}
	}
}

// VarianceScalingFanIn fills a fanIn×fanOut kernel as TensorFlow 1.15's
// VarianceScaling(scale=1, mode="fan_in", distribution="normal") does: a
// truncated normal whose standard deviation is corrected for the truncation,
// sqrt(1/fanIn)/0.8796….
func VarianceScalingFanIn(r *rand.Rand, w []float32, fanIn int) {
	TruncatedNormal(r, w, math.Sqrt(1/float64(fanIn))/0.87962566103423978)
}

// GlorotUniform fills a fanIn×fanOut kernel uniformly in ±sqrt(6/(fanIn+fanOut)).
func GlorotUniform(r *rand.Rand, w []float32, fanIn, fanOut int) {
	lim := math.Sqrt(6 / float64(fanIn+fanOut))
	for i := range w {
		w[i] = float32((2*r.Float64() - 1) * lim)
	}
}

// Fill sets every element of w to v.
func Fill(w []float32, v float32) {
	for i := range w {
		w[i] = v
	}
}
