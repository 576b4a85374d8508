//go:build !amd64 || purego

package vec

func layerNormAVX2(x *float32, rows, cols int, scale, bias *float32, eps float32, flags int, dot *float32, dotBias float32, y *float32, stats *float32) {
	noAsm()
}

func layerNormAVX512(x *float32, rows, cols int, scale, bias *float32, eps float32, flags int, dot *float32, dotBias float32, y *float32, stats *float32) {
	noAsm()
}

func denseNormAVX512(at *float32, k int, b, bias *float32, groups, m int, scale, lnBias, dot *float32, eps, invM float32, flags int, dotBias float32, ow, scratch *float32) {
	noAsm()
}
