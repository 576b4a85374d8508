package safefile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReplacesOnlyOnSuccess(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteBytes(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error {
		w.Write([]byte("half-written"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("a failed write changed the file to %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	if err := WriteBytes(p, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Fatalf("got %q", b)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", st.Mode())
	}
}

// replaceWith stages a directory in base holding one file x with content,
// replaces dst by it and checks that dst/x reads content.
func replaceWith(t *testing.T, base, dst, content string) {
	t.Helper()
	staging, err := os.MkdirTemp(base, ".staging-*")
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(filepath.Join(staging, "x"), []byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceDir(staging, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "x")); string(b) != content {
		t.Fatalf("got %q, want %q", b, content)
	}
}

func TestReplaceDir(t *testing.T) {
	base := t.TempDir()
	dst := filepath.Join(base, "out")
	for _, content := range []string{"first", "second"} {
		replaceWith(t, base, dst, content)
	}
	if entries, _ := os.ReadDir(base); len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

// A user's own "<dst>.old" beside the target survives a replacement
// (ReplaceDir used to remove dst+".old" unconditionally).
func TestReplaceDirKeepsUsersOld(t *testing.T) {
	base := t.TempDir()
	dst := filepath.Join(base, "out")
	userOld := dst + ".old"
	if err := os.WriteFile(userOld, []byte("the user's backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	userOldDir := filepath.Join(base, "out2.old")
	os.Mkdir(userOldDir, 0o755)
	os.WriteFile(filepath.Join(userOldDir, "f"), []byte("keep"), 0o600)
	for _, d := range []string{dst, filepath.Join(base, "out2")} {
		for _, content := range []string{"first", "second"} {
			replaceWith(t, base, d, content)
		}
	}
	if b, err := os.ReadFile(userOld); err != nil || string(b) != "the user's backup" {
		t.Fatalf("user's %s: %q, %v", userOld, b, err)
	}
	if b, err := os.ReadFile(filepath.Join(userOldDir, "f")); err != nil || string(b) != "keep" {
		t.Fatalf("user's %s/f: %q, %v", userOldDir, b, err)
	}
	ents, _ := os.ReadDir(base)
	if len(ents) != 4 {
		t.Fatalf("left behind or lost: %v", ents)
	}
}

// ReplaceDir never replaces a regular file.
func TestReplaceDirRefusesFile(t *testing.T) {
	base := t.TempDir()
	dst := filepath.Join(base, "good.csv")
	os.WriteFile(dst, []byte("1,2,3,pv,4\n"), 0o644)
	staging, err := os.MkdirTemp(base, ".staging-*")
	if err != nil {
		t.Fatal(err)
	}
	if err := ReplaceDir(staging, dst); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("replacing a file: %v", err)
	}
	if b, err := os.ReadFile(dst); err != nil || string(b) != "1,2,3,pv,4\n" {
		t.Fatalf("file changed: %q, %v", b, err)
	}
}

// A staging directory is locked while in use, removed by Abort and moved
// into place by Commit (after which Abort does nothing).
func TestStaging(t *testing.T) {
	base := t.TempDir()
	dst := filepath.Join(base, "out")
	s, err := NewStaging(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(s.Path), ".out.nann-staging-") {
		t.Fatalf("staging name %s", s.Path)
	}
	s.Abort()
	if _, err := os.Stat(s.Path); !os.IsNotExist(err) {
		t.Fatalf("abort left %s: %v", s.Path, err)
	}
	s, err = NewStaging(dst)
	if err != nil {
		t.Fatal(err)
	}
	WriteBytes(filepath.Join(s.Path, "x"), []byte("v"))
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Abort()
	if b, _ := os.ReadFile(filepath.Join(dst, "x")); string(b) != "v" {
		t.Fatalf("got %q", b)
	}
}
