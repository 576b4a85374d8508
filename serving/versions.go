package serving

import (
	"cmp"
	"os"
	"slices"
	"strconv"
)

// ListVersions returns the model versions under a base path: the names of
// its numeric subdirectories, newest first. The server, exporters and tools
// use it so that they agree on what a version directory is.
func ListVersions(base string) ([]int64, error) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return nil, err
	}
	var vs []int64
	for _, e := range entries {
		if n, err := strconv.ParseInt(e.Name(), 10, 64); err == nil && n >= 0 && e.IsDir() {
			vs = append(vs, n)
		}
	}
	slices.SortFunc(vs, func(a, b int64) int { return cmp.Compare(b, a) })
	return vs, nil
}
