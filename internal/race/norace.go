//go:build !race

// Package race reports whether the race detector is compiled in, for the
// few checks it defeats: under -race, sync.Pool drops a quarter of the
// values put into it at random, so allocation counts of pooled code are
// not meaningful.
package race

// Enabled is true when built with -race.
const Enabled = false
