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
