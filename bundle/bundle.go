// Package bundle is nann's self-contained serving bundle: one model version
// in a directory `<base>/<name>/<version>/` that `nann serve` loads.
//
//	manifest.json       Manifest: format, model name and version, signature,
//	                    engine precision, provenance, the size and SHA-256
//	                    of every other file, and the SHA-256 of the manifest
//	                    itself (all checked on load)
//	engine/             the compiled scoring engine (engine.Save): folded
//	                    weights, per-item tables, embedding tables
//	index/graph.hnsw    the HNSW graph (nann's checksummed format)
//	index/*.npy         the same graph in the reference's NumPy layout
//	item_raw_ids.npy    int64 [N]: original item id of item row r (dense id r+1)
//	cate_raw_ids.npy    int64 [C+1]: original category id of each dense id
//	item_cate.npy       int32 [N]: dense category of item row r
//
// Export writes a bundle into a hidden staging directory beside its final
// place and renames it into place when complete, so the server's poller
// never sees a half-written version.
package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

const (
	formatName = "nann-bundle"
	// formatVersion 2 added the manifest's own checksum (manifest_sha256).
	formatVersion = 2
	ManifestFile  = "manifest.json" // the bundle's manifest, written last
)

// Manifest describes a bundle. It is stored as manifest.json.
type Manifest struct {
	Format    string    `json:"format"`
	Version   int       `json:"format_version"`
	Name      string    `json:"model_name"`
	ModelVer  int64     `json:"model_version"`
	Created   time.Time `json:"created"`
	Signature Signature `json:"signature"`
	// Precision is the engine's item-table precision ("float32", "float16").
	Precision string `json:"precision"`
	NumItems  int    `json:"num_items"`
	// Source records where the bundle came from.
	Source Source `json:"source"`
	// Files lists every other file with its size and SHA-256.
	Files []File `json:"files"`
	// SHA256 protects the manifest itself: the SHA-256 of its canonical
	// form, the compact JSON encoding of the Manifest with this field empty.
	// ReadManifest refuses a manifest whose content does not match it.
	SHA256 string `json:"manifest_sha256"`
}

// canonicalSum is the SHA-256 of m's canonical form (see Manifest.SHA256).
func canonicalSum(m *Manifest) (string, error) { return sumOf(m) }

// Signature is the served signature (SPEC §7): inputs comm_seq
// [B, SeqLen×SeqWidth] (float16 or float32) or item_ids/cate_ids [B, ≤SeqLen],
// and level_topn [6]; outputs top_k [B, K] (int64 item ids) and scores.
type Signature struct {
	Name             string   `json:"name"`    // serving_default
	Aliases          []string `json:"aliases"` // predict
	SeqLen           int      `json:"seq_len"`
	SeqWidth         int      `json:"seq_width"`
	K                int      `json:"k"`
	DefaultLevelTopN [6]int32 `json:"default_level_topn"`
}

// Source is the bundle's provenance.
type Source struct {
	Run     string `json:"run"`
	Index   string `json:"index"`
	Dataset string `json:"dataset"`
}

// File is one checksummed file of the bundle, path relative to the bundle.
type File struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// hashFile returns the size and SHA-256 of a file.
func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// listFiles returns every regular file under dir (relative, sorted), except
// the manifest.
func listFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel != ManifestFile {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// checksums fills m.Files from the files under dir.
func checksums(dir string, m *Manifest) error {
	files, err := listFiles(dir)
	if err != nil {
		return err
	}
	m.Files = m.Files[:0]
	for _, f := range files {
		n, sum, err := hashFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		m.Files = append(m.Files, File{Path: f, Bytes: n, SHA256: sum})
	}
	return nil
}

// Verify checks every file the manifest lists (size and SHA-256) and that
// no unlisted file is present. It reports every problem at once.
func Verify(dir string, m *Manifest) error {
	var errs []error
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.Path] = true
		n, sum, err := hashFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		switch {
		case err != nil:
			errs = append(errs, err)
		case n != f.Bytes:
			errs = append(errs, fmt.Errorf("%s: %d bytes, manifest says %d", f.Path, n, f.Bytes))
		case sum != f.SHA256:
			errs = append(errs, fmt.Errorf("%s: SHA-256 mismatch (corrupt or modified file)", f.Path))
		}
	}
	files, err := listFiles(dir)
	if err != nil {
		errs = append(errs, err)
	}
	for _, f := range files {
		if !listed[f] {
			errs = append(errs, fmt.Errorf("%s: not listed in the manifest", f))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bundle %s fails its checksums: %w", dir, err)
	}
	return nil
}

// ReadManifest reads and checks dir/manifest.json: its format, that it has
// no field this version of nann does not know, and its own checksum.
func ReadManifest(dir string) (*Manifest, error) {
	return readSummed[Manifest](dir, manifestKind{
		format: formatName, version: formatVersion,
		hint:   "; export the model again with this nann",
		edited: "; versions are immutable, export a new one",
	})
}
