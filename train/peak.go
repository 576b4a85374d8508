package train

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// flopPerCycle is the float32 FMA throughput of one AVX2 core: two 256-bit
// FMA units × 8 lanes × 2 FLOP.
const flopPerCycle = 32

// PeakGFLOPs is this machine's nominal float32 AVX2 FMA peak: NumCPU × 32
// FLOP/cycle × the clock of the first "cpu MHz" line of /proc/cpuinfo.
// It returns 0 if the clock is unknown. (A core with full-width AVX-512
// FMA units, such as Zen 5, peaks at twice this with 512-bit kernels.)
func PeakGFLOPs() float64 {
	mhz := cpuMHz("/proc/cpuinfo")
	return float64(runtime.NumCPU()) * flopPerCycle * mhz / 1000
}

func cpuMHz(path string) float64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "cpu MHz" {
			x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil && x > 0 {
				return x
			}
		}
	}
	return 0
}
