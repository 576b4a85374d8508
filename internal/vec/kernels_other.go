//go:build !amd64 || purego

package vec

// detect selects the plain-Go twins: there is no assembly on this
// architecture, or the purego build tag left it out.
func detect() Kernels { return Kernels{} }
