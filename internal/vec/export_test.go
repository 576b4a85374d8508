package vec

import "testing"

// This file: the kernel toggles of this package's tests, which run every
// assembly kernel beside its plain-Go twin.

// variant names one selection of kernels.
type variant struct {
	name string
	k    Kernels
}

// variants lists the kernel selections this machine can run: the plain-Go
// twins, AVX2 (with F16C where present) and AVX-512.
func variants() []variant {
	v := []variant{{"go", Kernels{}}}
	if have.AVX2 {
		v = append(v, variant{"avx2", Kernels{AVX2: true, F16C: have.F16C, Prefetch: have.Prefetch}})
	}
	if have.AVX512 {
		v = append(v, variant{"avx512", have})
	}
	return v
}

// withKernels runs f with the kernels k (limited to the available ones) and
// then restores the previous selection.
func withKernels(t testing.TB, k Kernels, f func()) {
	t.Helper()
	prev := UseKernels(k)
	defer UseKernels(prev)
	f()
}
