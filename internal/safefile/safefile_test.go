package safefile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
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

func TestReplaceDir(t *testing.T) {
	base := t.TempDir()
	dst := filepath.Join(base, "out")
	for _, content := range []string{"first", "second"} {
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
	if entries, _ := os.ReadDir(base); len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}
