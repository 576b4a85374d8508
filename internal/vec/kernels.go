// Package vec holds float32 kernels: distances, a blocked SGEMM and the
// tile micro-kernels under it, the scoring engine's softmax and prefetch,
// PReLU, column reductions, Exp and half-precision conversion.
//
// Every assembly kernel (amd64: AVX2+FMA, AVX-512F, F16C) has a plain-Go
// twin with the same contract, tested against it. One dispatch value,
// chosen once at init from the CPU's features (golang.org/x/sys/cpu, so
// GODEBUG=cpu.avx512f=off and the like are honoured), says which run;
// building with the purego tag leaves the assembly out and runs the twins
// everywhere.
package vec

// This file: the dispatch value.

// Kernels says which assembly kernel families run. The zero value selects
// the plain-Go twins everywhere.
type Kernels struct {
	// AVX2 selects the AVX2+FMA kernels: distances, the tile and GEMM
	// micro-kernels, softmax, Exp, PReLU and the column reductions.
	AVX2 bool
	// AVX512 selects the AVX-512F 12×16 tile micro-kernel (for Gemm and
	// Tile12x16); it takes effect only together with AVX2.
	AVX512 bool
	// F16C selects the F16C half-precision conversions.
	F16C bool
	// Prefetch selects software prefetching of table rows (PrefetchRows);
	// it takes effect only together with AVX2. It never changes a result,
	// only how long a gather waits on memory.
	Prefetch bool
	// VNNI selects the AVX-512 VNNI int8 kernels (int8.go: the 12×16
	// VPDPBUSD tile and the row quantizer); it takes effect only together
	// with AVX512. Their plain-Go twins give bit-identical results.
	VNNI bool
}

// have is what this CPU and build support; use is what runs. use equals
// have except while a test or benchmark swaps it (UseKernels).
var (
	have = detect()
	use  = have
)

// AvailableKernels reports the kernels this CPU and build can run.
func AvailableKernels() Kernels { return have }

// ActiveKernels reports the kernels that run now.
func ActiveKernels() Kernels { return use }

// UseKernels selects the kernels to run, limited to the available ones, and
// returns the previous selection. It is for tests and benchmarks that
// compare the twins from other packages; it must not be called while
// kernels run. Production code never calls it: the init-time choice
// stands.
func UseKernels(k Kernels) (prev Kernels) {
	prev = use
	use = Kernels{
		AVX2:     k.AVX2 && have.AVX2,
		AVX512:   k.AVX512 && k.AVX2 && have.AVX512,
		F16C:     k.F16C && have.F16C,
		Prefetch: k.Prefetch && k.AVX2 && have.Prefetch,
		VNNI:     k.VNNI && k.AVX512 && k.AVX2 && have.VNNI,
	}
	return prev
}

// Engine512 reports whether Tile12x16 runs as AVX-512 assembly. Callers
// choose 12-row tiles only then; otherwise two 6-row tiles are as fast.
func Engine512() bool { return use.AVX512 }
