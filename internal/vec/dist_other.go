//go:build !amd64

package vec

const useAVX2 = false

func dotAVX2(a, b []float32) float32 { return dotGeneric(a, b) }

func l2SquaredAVX2(a, b []float32) float32 { return l2SquaredGeneric(a, b) }

func l2SquaredBatchAVX2(q, data []float32, ids []int32, out []float32) {
	l2SquaredBatchGeneric(q, data, ids, out)
}
