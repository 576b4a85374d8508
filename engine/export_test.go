package engine

// This file: test helpers of package engine that the external tests
// (package engine_test) share.

var (
	ModelScorer = modelScorer
	RMS         = rms
	Common      = common
)
