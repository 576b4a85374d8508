package onnx

import (
	"fmt"
	"io"
	"os"
)

// ReadNPY reads one NumPy .npy file as a tensor (the dtypes ReadNPZ
// supports: float16/32/64, int32/64). Errors name the file.
func ReadNPY(path string) (*Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxNPZEntry {
		return nil, fmt.Errorf("onnx: %s: %d bytes, more than %d", path, st.Size(), int64(maxNPZEntry))
	}
	b, err := io.ReadAll(io.LimitReader(f, maxNPZEntry+1))
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	t, err := decodeNPY(b)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return t, nil
}
