package vec

// This file: the CPU's multiply-add peak per precision, measured with
// tight assembly loops (peak_amd64.s) of independent 512-bit instructions,
// so that the kernels' achieved rates can be stated against what this CPU
// does rather than against a nominal figure.

import (
	"time"

	"golang.org/x/sys/cpu"
)

// PeakOp names one multiply-add instruction of the peak loops.
type PeakOp int

const (
	// PeakFMA32 is VFMADD231PS on ZMM: 16 float32 multiply-adds.
	PeakFMA32 PeakOp = iota
	// PeakBF16 is VDPBF16PS on ZMM (AVX512_BF16): 32 bfloat16 products
	// summed in pairs into float32.
	PeakBF16
	// PeakVNNI8 is VPDPBUSD on ZMM (AVX512_VNNI): 64 u8·s8 products summed
	// in fours into int32 (the int8 kernels).
	PeakVNNI8
	// PeakVNNI16 is VPDPWSSD on ZMM (AVX512_VNNI): 32 s16·s16 products
	// summed in pairs into int32 (the int16 kernels).
	PeakVNNI16
)

func (p PeakOp) String() string {
	return [...]string{"fma32", "bf16", "vnni8", "vnni16"}[p]
}

// MACs is the number of multiply-adds one instruction of p does.
func (p PeakOp) MACs() int { return [...]int{16, 32, 64, 32}[p] }

// Supported reports whether this CPU and build can run p's loop.
func (p PeakOp) Supported() bool {
	if !have.AVX512 {
		return false
	}
	switch p {
	case PeakBF16:
		return cpu.X86.HasAVX512BF16
	case PeakVNNI8, PeakVNNI16:
		return have.VNNI
	}
	return true
}

// MeasurePeak runs p's loop for about d on the calling goroutine, in runs
// of about a millisecond, and returns the best rate of a run, in
// multiply-adds per second of one core (a multiply-add counted as 2
// operations gives GFLOP/s or int op/s), or 0 if p is not supported here.
// The best run, not the mean, because on a shared machine other processes
// take time slices, which would read as a lower peak.
func MeasurePeak(p PeakOp, d time.Duration) float64 {
	if !p.Supported() {
		return 0
	}
	loop := [...]func(int){peakFMA32, peakBF16, peakVNNI8, peakVNNI16}[p]
	n := 1 << 10
	for { // n iterations taking about a millisecond
		t0 := time.Now()
		loop(n)
		if time.Since(t0) >= time.Millisecond/2 || n >= 1<<30 {
			break
		}
		n *= 2
	}
	best := 0.0
	for start := time.Now(); ; {
		t0 := time.Now()
		loop(n)
		best = max(best, float64(n)*12*float64(p.MACs())/time.Since(t0).Seconds())
		if time.Since(start) >= d {
			return best
		}
	}
}
