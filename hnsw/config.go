// Package hnsw is a hierarchical navigable small world graph over float32
// vectors with L2 distance: a concurrent builder using the neighbour-selection
// heuristic of hnswlib and Faiss, k-NN search for validating the graph, an
// analyzer, a versioned checksummed file format of its own, and export/import
// of the reference's NumPy layout (enter points plus CSR neighbour lists for
// levels below the start level).
package hnsw

import (
	"errors"
	"fmt"
	"math"
	"runtime"
)

// Config sets how a graph is built. The zero value is not valid; start from
// DefaultConfig.
type Config struct {
	// M is the number of links a node keeps on levels >= 1; level 0 keeps
	// 2·M. Default 32.
	M int
	// EfConstruction is the beam width when searching for a new node's
	// neighbours. Default 40.
	EfConstruction int
	// LevelMult scales the exponential level distribution; 0 means the
	// usual 1/ln(M).
	LevelMult float64
	// Seed drives level assignment. A build is deterministic: the same
	// vectors, configuration and seed give the same graph, byte for byte,
	// whatever Workers is (nodes are inserted in batches whose size does
	// not depend on Workers; see insertAll).
	Seed uint64
	// FaissLinks makes a new node select up to 2·M links on level 0, as
	// Faiss IndexHNSWFlat does (with efConstruction < 2·M it then keeps all
	// candidates: a denser level 0, slower to build). Default false: M
	// links on every level, as hnswlib does.
	FaissLinks bool
	// Workers is the number of goroutines inserting nodes; 0 means
	// GOMAXPROCS. It changes the build time only, never the graph.
	Workers int
}

// DefaultConfig returns M 32, efConstruction 40, seed 1, all cores.
func DefaultConfig() Config {
	return Config{M: 32, EfConstruction: 40, Seed: 1}
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.M < 2 || c.M > 1024 {
		errs = append(errs, fmt.Errorf("hnsw config: M = %d, want 2..1024", c.M))
	}
	if c.EfConstruction < 1 || c.EfConstruction > 1<<16 {
		errs = append(errs, fmt.Errorf("hnsw config: EfConstruction = %d, want 1..65536", c.EfConstruction))
	}
	if c.LevelMult < 0 || math.IsNaN(c.LevelMult) || math.IsInf(c.LevelMult, 0) {
		errs = append(errs, fmt.Errorf("hnsw config: LevelMult = %v, want >= 0 (0 = 1/ln M)", c.LevelMult))
	}
	if c.Workers < 0 {
		errs = append(errs, fmt.Errorf("hnsw config: Workers = %d, want >= 0 (0 = all cores)", c.Workers))
	}
	return errors.Join(errs...)
}

func (c Config) levelMult() float64 {
	if c.LevelMult > 0 {
		return c.LevelMult
	}
	return 1 / math.Log(float64(c.M))
}

func (c Config) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.GOMAXPROCS(0)
}
