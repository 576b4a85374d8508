package cli

import (
	"errors"
	"fmt"

	"nann/bench"
	"nann/onnx"
)

// npzInputs reads --inputs npz:FILE: the users of a users.npz (one array
// per user-side input of an imported model, as nann score --users reads)
// as named-tensor requests.
func npzInputs(path string, n int, topn [6]int32, embedWith string) ([]bench.Input, error) {
	if embedWith != "" {
		return nil, errors.New("--embed-with needs --inputs dataset:DIR")
	}
	if path == "" {
		return nil, errors.New("--inputs npz:FILE: no file")
	}
	arrs, err := onnx.ReadNPZ(path)
	if err != nil {
		return nil, fmt.Errorf("--inputs: %w", err)
	}
	in, err := bench.NamedInputs(arrs, n, topn)
	if err != nil {
		return nil, fmt.Errorf("--inputs %s: %w", path, err)
	}
	return in, nil
}
