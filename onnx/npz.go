package onnx

import (
	"archive/zip"

	"fmt"
	"io"
	"strings"

	"github.com/x448/float16"

	"nann/internal/npy"
)

// maxNPZEntry caps one array of an .npz archive.
const maxNPZEntry = 1 << 31

// ReadNPZ reads the arrays of a NumPy .npz archive (np.savez, stored or
// deflated) as tensors by name (the entry name without ".npy"). Supported
// dtypes: float16/32/64, int32/64.
func ReadNPZ(path string) (map[string]*Tensor, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	defer zr.Close()
	out := map[string]*Tensor{}
	for _, f := range zr.File {
		name := strings.TrimSuffix(f.Name, ".npy")
		if f.UncompressedSize64 > maxNPZEntry {
			return nil, fmt.Errorf("onnx: %s: array %q has %d bytes, more than %d", path, name, f.UncompressedSize64, int64(maxNPZEntry))
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("onnx: %s: array %q: %w", path, name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxNPZEntry+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("onnx: %s: array %q: %w", path, name, err)
		}
		t, err := decodeNPY(b)
		if err != nil {
			return nil, fmt.Errorf("onnx: %s: array %q: %w", path, name, err)
		}
		out[name] = t
	}
	return out, nil
}

func decodeNPY(b []byte) (*Tensor, error) {
	h, _, err := npy.ParseHeader(b)
	if err != nil {
		return nil, err
	}
	switch h.Descr {
	case "<f4":
		v, shape, err := npy.Decode[float32](b)
		return conv(Float32, v, shape, err)
	case "<f8":
		v, shape, err := npy.Decode[float64](b)
		return conv(Float64, v, shape, err)
	case "<i4":
		v, shape, err := npy.Decode[int32](b)
		return conv(Int32, v, shape, err)
	case "<i8":
		v, shape, err := npy.Decode[int64](b)
		return conv(Int64, v, shape, err)
	case "<f2":
		v, shape, err := npy.Decode[uint16](b)
		if err != nil {
			return nil, err
		}
		t := &Tensor{DType: Float16, Shape: shape, Data: make([]float64, len(v))}
		for i, x := range v {
			t.Data[i] = float64(float16.Frombits(x).Float32())
		}
		return t, nil
	}
	return nil, fmt.Errorf("dtype %q is not supported (float16/32/64, int32/64)", h.Descr)
}

func conv[T float32 | float64 | int32 | int64](dt DType, v []T, shape []int, err error) (*Tensor, error) {
	if err != nil {
		return nil, err
	}
	t := &Tensor{DType: dt, Shape: shape, Data: make([]float64, len(v))}
	for i, x := range v {
		t.Data[i] = float64(x)
	}
	return t, nil
}
