package vec

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels; tests flip it to compare twins.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func dotAVX2(a, b []float32) float32

//go:noescape
func l2SquaredAVX2(a, b []float32) float32

//go:noescape
func l2SquaredBatchAVX2(q, data []float32, ids []int32, out []float32)
