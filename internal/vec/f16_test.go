package vec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/x448/float16"
)

// TestF16Twins converts every half-precision bit pattern with both twins and
// compares with x448/float16, then rounds random and edge float32 values.
func TestF16Twins(t *testing.T) {
	all := make([]uint16, 1<<16)
	for i := range all {
		all[i] = uint16(i)
	}
	for _, on := range []bool{false, true} {
		prev := UseKernels(Kernels{F16C: on})
		for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 1 << 16} {
			got := make([]float32, n)
			F16ToF32(got, all[:n])
			for i, v := range got {
				want := float16.Frombits(all[i]).Float32()
				if math.Float32bits(v) != math.Float32bits(want) && !(v != v && want != want) {
					t.Fatalf("f16c=%v n=%d: %#04x → %v, want %v", on, n, all[i], v, want)
				}
			}
		}
		r := rand.New(rand.NewPCG(9, 10))
		src := make([]float32, 1003)
		for i := range src {
			src[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(12)-6)))
		}
		src[0], src[1], src[2] = 65520, -1e9, 5.96e-8
		dst := make([]uint16, len(src))
		F32ToF16(dst, src)
		for i, v := range src {
			if want := float16.Fromfloat32(v).Bits(); dst[i] != want {
				t.Fatalf("f16c=%v: %v → %#04x, want %#04x", on, v, dst[i], want)
			}
		}
		UseKernels(prev)
	}
}

func BenchmarkF16ToF32(b *testing.B) {
	src := make([]uint16, 256)
	dst := make([]float32, 256)
	b.SetBytes(256 * 2)
	for b.Loop() {
		F16ToF32(dst, src)
	}
}
