package hnsw

import (
	"os"
	"path/filepath"

	"nann/internal/safefile"
)

// An index directory holds GraphFile (our checksummed format) and the
// reference's NumPy layout of the same graph (EnterPointsFile and the
// neighbour lists of the levels below StartLevel).

// DirKind recognises an index directory: the only kind of existing
// directory WriteDir replaces.
var DirKind = safefile.Kind{Name: "index", Markers: []string{GraphFile, EnterPointsFile}}

// CheckDirOut refuses an out that exists but is not an index directory,
// since WriteDir replaces it as a whole.
func CheckDirOut(out string) error {
	return safefile.CheckOut(filepath.Clean(out), DirKind)
}

// WriteDir writes g in both formats into a staging directory next to out
// and swaps it in, so out is always either the old or the new index. It
// returns the size of every file written, by name.
func WriteDir(out string, g *Graph) (map[string]int64, error) {
	if err := CheckDirOut(out); err != nil {
		return nil, err
	}
	st, err := safefile.NewStaging(out)
	if err != nil {
		return nil, err
	}
	defer st.Abort()
	if err := g.Write(filepath.Join(st.Path, GraphFile)); err != nil {
		return nil, err
	}
	if err := g.WriteNPY(st.Path, StartLevel); err != nil {
		return nil, err
	}
	files := map[string]int64{}
	ents, err := os.ReadDir(st.Path)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if info, err := e.Info(); err == nil {
			files[e.Name()] = info.Size()
		}
	}
	return files, st.Commit()
}

// OpenDir reads the graph of an index directory from its GraphFile.
func OpenDir(dir string) (*Graph, error) { return Read(filepath.Join(dir, GraphFile)) }
