package engine

// This file: test helpers of package engine that the external tests
// (package engine_test) share.

var (
	ModelScorer = modelScorer
	AllRows     = allRows
	RMS         = rms
	Common      = common
)
