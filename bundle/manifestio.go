package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"nann/internal/safefile"
)

// selfSummed is a manifest that carries the SHA-256 of its own content
// (Manifest, ONNXManifest): the field's address, so that the helpers below
// can clear and set it.
type selfSummed interface{ ownSum() *string }

func (m *Manifest) ownSum() *string     { return &m.SHA256 }
func (m *ONNXManifest) ownSum() *string { return &m.SHA256 }

// sumOf is the SHA-256 of m's compact JSON encoding with its own checksum
// field empty: the manifest's canonical form.
func sumOf[T any, P interface {
	*T
	selfSummed
}](m P) (string, error) {
	c := *m
	*P(&c).ownSum() = ""
	b, err := json.Marshal(P(&c))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// writeSummed sets m's own checksum and writes m as dir/manifest.json
// (temporary name, fsync, rename).
func writeSummed[T any, P interface {
	*T
	selfSummed
}](dir string, m P) error {
	sum, err := sumOf(m)
	if err != nil {
		return err
	}
	*m.ownSum() = sum
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return safefile.WriteBytes(filepath.Join(dir, ManifestFile), append(b, '\n'))
}

// manifestKind names a manifest format this nann reads: its "format" and
// "format_version" fields, and what to tell the user when the version is
// older (hint) or the content was edited (edited).
type manifestKind struct {
	format       string
	version      int
	hint, edited string
}

// readSummed reads dir/manifest.json as kind: the format and version must
// match, no field may be unknown, nothing may follow the object, and its
// own checksum must match its content.
func readSummed[T any, P interface {
	*T
	selfSummed
}](dir string, kind manifestKind) (P, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"format_version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("bundle: %s: %w", path, err)
	}
	if head.Format != kind.format || head.Version != kind.version {
		hint := ""
		if head.Format == kind.format && head.Version < kind.version {
			hint = kind.hint
		}
		return nil, fmt.Errorf("bundle: %s: format %q version %d, want %q version %d%s", path, head.Format, head.Version, kind.format, kind.version, hint)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	m := P(new(T))
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("bundle: %s: %w", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("bundle: %s: data after the manifest object", path)
	}
	sum, err := sumOf(m)
	if err != nil {
		return nil, fmt.Errorf("bundle: %s: %w", path, err)
	}
	if got := *m.ownSum(); got != sum {
		return nil, fmt.Errorf("bundle: %s: manifest_sha256 %q does not match the manifest's content (%s): the manifest is corrupt or was edited%s", path, got, sum, kind.edited)
	}
	return m, nil
}
