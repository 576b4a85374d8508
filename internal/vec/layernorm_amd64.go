//go:build !purego

package vec

// layerNormAVX2 (layernorm_amd64.s) is LayerNorm.Rows for cols a positive
// multiple of 8; twin layerNormGeneric. flags: 1 GELU, 2 dot (dot non-nil).
//
//go:noescape
func layerNormAVX2(x *float32, rows, cols int, scale, bias *float32, eps float32, flags int, dot *float32, dotBias float32, y *float32)
