//go:build !amd64 || purego

package vec

func layerNormAVX2(x *float32, rows, cols int, scale, bias *float32, eps float32, flags int, dot *float32, dotBias float32, y *float32, stats *float32) {
	noAsm()
}

func layerNormAVX512(x *float32, rows, cols int, scale, bias *float32, eps float32, flags int, dot *float32, dotBias float32, y *float32, stats *float32) {
	noAsm()
}

func denseNormAVX512(a *float32, aidx *int32, k int, b, bias *float32, groups, m int, scale, lnBias, dot *float32, eps, invM float32, flags int, dotBias float32, out *float32, oidx *int32, mask int, at, scratch *float32) {
	noAsm()
}
