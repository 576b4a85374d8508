//go:build !purego

package vec

// layerNormAVX2 (layernorm_amd64.s) is LayerNorm.Rows for cols a positive
// multiple of 8; twin layerNormGeneric. flags: 1 GELU, 2 dot (dot non-nil);
// stats holds 64 values of scratch (rows ≤ 32: the means, then 1/std;
// layerNormAVX512 uses 96, its row shifts after them).
//
//go:noescape
func layerNormAVX2(x *float32, rows, cols int, scale, bias *float32, eps float32, flags int, dot *float32, dotBias float32, y *float32, stats *float32)

// layerNormAVX512 is layerNormAVX2 for cols a positive multiple of 16
// (AVX-512F).
//
//go:noescape
func layerNormAVX512(x *float32, rows, cols int, scale, bias *float32, eps float32, flags int, dot *float32, dotBias float32, y *float32, stats *float32)

// denseNormAVX512 (layernorm_amd64.s) is DenseNorm.Rows for one block of
// up to 16 rows (lane i is row i if bit i of mask is set): it gathers A
// (row i at a + aidx[i]) transposed into at (k × 16), runs the product
// over b's packed panels plus bias (N = groups·m values; flags&2, else
// none) and writes
// out[oidx[i] + g], the pass's value of row i's group g, using scratch
// (m × 16). flags: 1 GELU, 2 bias. Twin: denseNormGeneric.
//
//go:noescape
func denseNormAVX512(a *float32, aidx *int32, k int, b, bias *float32, groups, m int, scale, lnBias, dot *float32, eps, invM float32, flags int, dotBias float32, out *float32, oidx *int32, mask int, at, scratch *float32)
